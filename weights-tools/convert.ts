// DESIGN §3, §5: `edgetron convert`: any checkpoint `openCheckpoint` opens (HF folder, .gguf) → an edge pack
// (config.json with a `quantization_config` block, the tokenizer files, ≤ shard-mb safetensors
// shards with a sha256 index). Linear weights chosen by the policy (quant-policy.ts) become
// nvfp4 or nvfp4-s24 (quantize.ts, prune.ts); every other tensor keeps its float dtype, or
// becomes f32 / bf16 with --quant f32|bf16 (4-bit inputs are decoded exactly first).
//
// Memory (row-chunks.ts): under `maxMemoryMb` whatever the checkpoint's size. Tensors stream one
// at a time and each a chunk of whole rows at a time, read by byte ranges: read → decode →
// quantise → encode → write. A quantised linear takes two passes over its rows (amax, then the
// codes; blocks and 2:4 groups lie inside a row, so chunking does not change a byte) and holds its
// scale and position parts for the parts written after the codes when they take at most a quarter
// of the budget, else recomputes them in a pass of their own. Wanda calibration (and --calib)
// loads the model once on the reference backend, which keeps every weight it touches as stored:
// about the checkpoint's size in bytes, outside the cap; with a cap smaller than the checkpoint it
// is refused.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../engine/core/config.js';
import { parseConfigJson, stringifyConfigJson } from '../engine/formats/config-json.js';
import { f32ToBf16Bits } from '../engine/formats/dtype.js';
import { isGgmlBlock } from '../engine/formats/ggml-blocks.js';
import { openGguf } from '../engine/formats/gguf.js';
import { ggufConfigJson } from '../engine/formats/gguf-names.js';
import { InvalidOptionError, MissingTensorError } from '../engine/core/errors.js';
import { referenceBackend } from '../engine/reference/index.js';
import { TextCodec } from '../engine/text/text.js';
import { DTYPE_BYTES, expectedTensors, validateWeights, type DType, type TensorEntry } from '../engine/core/weights.js';
import { TRAINING_TEXT } from './bpe.js';
import { openCheckpoint, resolveModelPath, type Checkpoint } from './checkpoint.js';
import { openFileSource } from './fs-source.js';
import { CheckpointError, MemoryCapError } from './errors.js';
import { collectInputNorms, type PruneScore } from './prune.js';
import { quantizeRecovered, recoverLinears, type RecoveredLinear, type RecoverOptions } from './recover.js';
import { quantizedLinears, type QuantPolicyName } from './quant-policy.js';
import { LinearQuantizer, quantizedDecls, quantizedPartBytes, type QuantFormat, type QuantizedLinear, type QuantizeOptions, type QuantPart } from './quantize.js';
import { chunkMemory, DEFAULT_MAX_MEMORY_MIB, MemoryBudget, rowChunks, rowReader, type ChunkMemory } from './row-chunks.js';
import { writeShardedSafetensors, type TensorDecl, type TensorFiller } from './safetensors-writer.js';

export type ConvertQuant = 'f32' | 'bf16' | 'nvfp4';
export const CONVERT_QUANTS: readonly ConvertQuant[] = ['f32', 'bf16', 'nvfp4'];

/** Tokens per calibration prompt, and prompts at most, for Wanda. */
const CALIB_PROMPT_TOKENS = 64;
const CALIB_MAX_PROMPTS = 4;
/** Prompts at most for per-layer recovery, which fits H = XᵀX (K, K) and needs more tokens. */
const RECOVER_MAX_PROMPTS = 32;

/** What to quantise and how (the options of `edgetron convert`, and `synth --quant`). */
export interface QuantSettings {
  readonly quant: ConvertQuant;
  /** 2:4 sparsity on every quantised linear (nvfp4-s24). */
  readonly sparse?: boolean;
  readonly score?: PruneScore;
  readonly policy?: QuantPolicyName;
  /** Quantise lm_head too (default false: it stays high precision, spec §14.2). */
  readonly quantizeHead?: boolean;
  /** Quantise the token embedding too (default false). */
  readonly quantizeEmbedding?: boolean;
  readonly mse?: boolean;
}

export interface ConvertOptions extends QuantSettings {
  /** Calibration text for Wanda (default: the built-in training text). */
  readonly calibText?: string;
  readonly shardMb?: number;
  /**
   * Memory cap in MiB (row-chunks.ts; default 512): sizes the chunks of rows. When given, a
   * calibration (Wanda, calibText) on a checkpoint larger than the cap is refused.
   */
  readonly maxMemoryMb?: number;
  /** nvfp4-s24 only: per-layer recovery (recover.ts) of every pruned linear that saw calibration tokens. */
  readonly recover?: Partial<RecoverOptions>;
  /** Called as each linear is recovered (its flip rates and explored fraction). */
  readonly onRecovered?: (r: RecoveredLinear) => void;
  readonly onProgress?: (p: { bytesDone: number; bytesTotal: number; tensor: string }) => void;
}

/** One line of the per-layer error report. */
export interface LayerReport {
  readonly name: string;
  readonly format: QuantFormat;
  /** ‖Ŵ − W‖_F / ‖W‖_F. */
  readonly relError: number;
  /** Relative output error on the calibration inputs (quantize.ts), when they were collected. */
  readonly relOutputError: number | null;
}

export interface ConvertResult {
  readonly files: readonly string[];
  readonly bytes: number;
  readonly report: readonly LayerReport[];
}

/** The format quantised linears get under these settings (null: nothing is quantised). */
function quantFormat(s: QuantSettings): QuantFormat | null {
  if (!CONVERT_QUANTS.includes(s.quant)) throw new InvalidOptionError('quant', s.quant, CONVERT_QUANTS.join(', '));
  if (s.sparse && s.quant !== 'nvfp4') throw new InvalidOptionError('sparse', '2:4', 'only with --quant nvfp4');
  return s.quant === 'nvfp4' ? (s.sparse ? 'nvfp4-s24' : 'nvfp4') : null;
}

/**
 * The `quantization_config` block of an edge pack's config.json: what was quantised and how,
 * with the linear modules kept in high precision (null when nothing was quantised).
 * @example quantizationConfig({ quant: 'nvfp4', sparse: true, score: 'wanda' }, config, plan)
 */
export function quantizationConfig(s: QuantSettings, config: ModelConfig, withMtp: boolean, plan: TensorPlan): Record<string, unknown> | null {
  const format = plan.format;
  if (!format) return null;
  const excluded = expectedTensors(config, withMtp)
    .filter((t) => t.linear && !plan.quantized.has(t.name))
    .map((t) => t.name.replace(/\.weight$/, ''));
  return {
    quant_method: 'modelopt',
    quant_algo: 'NVFP4',
    format,
    group_size: 16,
    sparsity: s.sparse ? { pattern: '2:4', score: s.score ?? 'magnitude', layout: 'weight_pos' } : null,
    policy: s.policy ?? 'nano',
    block_scale_search: s.mse ? 'mse' : 'amax',
    exclude_modules: excluded,
    producer: { name: 'edgetron convert' },
  };
}

/**
 * A plan of the tensors to write: every tensor of `config` in `expectedTensors` order, the
 * quantised linears expanded to their parts.
 */
export interface TensorPlan {
  readonly decls: TensorDecl[];
  /** Quantised linear weights, by name. */
  readonly quantized: ReadonlySet<string>;
  /** Stored tensor name → [linear weight name, part] for every part of a quantised linear. */
  readonly parts: ReadonlyMap<string, readonly [string, QuantPart]>;
  readonly format: QuantFormat | null;
}

/**
 * Plan the output tensors for `settings` (the policy picks the quantised linears); `kept` gives
 * the stored dtype and shape of every other tensor, from its name and spec shape.
 * @example const plan = planTensors(config, true, { quant: 'nvfp4' }, (name, shape) => ({ dtype: 'f32', shape }));
 */
export function planTensors(
  config: ModelConfig,
  withMtp: boolean,
  settings: QuantSettings,
  kept: (name: string, specShape: readonly number[]) => { dtype: DType; shape: readonly number[] },
): TensorPlan {
  const format = quantFormat(settings);
  const quantized = format ? quantizedLinears(config, { name: settings.policy ?? 'nano', head: settings.quantizeHead, embedding: settings.quantizeEmbedding }) : new Set<string>();
  const decls: TensorDecl[] = [];
  const parts = new Map<string, readonly [string, QuantPart]>();
  for (const spec of expectedTensors(config, withMtp)) {
    if (format && quantized.has(spec.name)) {
      for (const d of quantizedDecls(spec.name, spec.shape[0], spec.shape[1], format)) {
        decls.push({ name: d.name, dtype: d.dtype, shape: d.shape });
        parts.set(d.name, [spec.name, d.part]);
      }
    } else {
      decls.push({ name: spec.name, ...kept(spec.name, spec.shape) });
    }
  }
  return { decls, quantized: format ? quantized : new Set(), parts, format };
}

/** Writes one stored part of a quantised linear, chunk by chunk. */
export type PartWriter = (part: QuantPart, write: (chunk: Uint8Array) => Promise<void>) => Promise<void>;

/**
 * A TensorFiller that writes the parts of quantised linears with the PartWriter `open(name)`
 * gives (called once per linear, when its first part is written; parts of one linear are adjacent
 * in the plan) and every other tensor with `keep`.
 * @example const fill = partsFiller(plan, (name) => streamLinear(name), keepFill);
 */
export function partsFiller(plan: TensorPlan, open: (name: string) => Promise<PartWriter>, keep: TensorFiller): TensorFiller {
  let current: { name: string; write: PartWriter } | null = null;
  return async (t, write) => {
    const part = plan.parts.get(t.name);
    if (!part) return keep(t, write);
    const [linear, which] = part;
    if (current?.name !== linear) current = { name: linear, write: await open(linear) };
    await current.write(which, write);
  };
}

/**
 * A TensorFiller that writes the parts of quantised linears from `quantize(name)`, each linear
 * quantised whole in memory (`partsFiller`), and every other tensor with `keep`.
 * @example const fill = quantizingFiller(plan, (name) => quantizeLinear(rows(name), opts), keepFill);
 */
export function quantizingFiller(plan: TensorPlan, quantize: (name: string) => Promise<QuantizedLinear>, keep: TensorFiller): TensorFiller {
  return partsFiller(
    plan,
    async (name) => {
      const q = await quantize(name);
      return (part, write) => write(quantizedPartBytes(q, part));
    },
    keep,
  );
}

/** Encode f64 values into `dtype` (f32 or bf16) bytes in `out`; the encoded bytes. */
function encodeFloatsInto(values: Float64Array, dtype: DType, out: Uint8Array): Uint8Array {
  const n = values.length;
  if (dtype === 'f32') new Float32Array(out.buffer, out.byteOffset, n).set(values);
  else {
    const bits = new Uint16Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) bits[i] = f32ToBf16Bits(values[i]);
  }
  return out.subarray(0, n * DTYPE_BYTES[dtype]);
}

/**
 * The PartWriter of quantised linear `name`, streamed a chunk of rows at a time within `memory`:
 * pass 1 (amax) runs now; the codes are pass 2, after which `measured(q)` gets the quantiser (its
 * errors); the scale and position parts are held from pass 2 when they take at most a quarter of
 * the budget, else recomputed by a pass each.
 */
async function streamLinear(
  tensors: ReadonlyMap<string, TensorEntry>,
  name: string,
  memory: ChunkMemory,
  options: QuantizeOptions,
  measured: (q: LinearQuantizer) => void,
): Promise<PartWriter> {
  const { budget, arena } = memory;
  arena.reset();
  const rows = await rowReader(tensors, name, budget);
  const q = new LinearQuantizer(name, rows.cols, options);
  const bytes = q.rowBytes;
  const sideBytes = rows.rows * (bytes.scale + bytes.positions);
  const held = sideBytes <= budget.bytes / 4 ? { scale: arena.u8(rows.rows * bytes.scale), positions: arena.u8(rows.rows * bytes.positions) } : null;
  const pass = rowChunks(rows, budget, arena, bytes.weight + bytes.scale + bytes.positions);
  const out = { weight: arena.u8(pass.chunkRows * bytes.weight), scale: arena.u8(pass.chunkRows * bytes.scale), positions: arena.u8(pass.chunkRows * bytes.positions) };
  const rowOf = (values: Float64Array, r: number) => values.subarray(r * rows.cols, (r + 1) * rows.cols);
  const quantizeChunk = (values: Float64Array, count: number, measure: boolean) => {
    for (let r = 0; r < count; r++) q.quantizeRow(rowOf(values, r), out, r, measure);
  };
  await pass.each((chunk, values) => {
    for (let r = 0; r < chunk.rows; r++) q.scan(rowOf(values, r));
  });
  const scale2 = q.finishScan();
  return async (part, write) => {
    if (part === 'scale2') return write(new Uint8Array(Float32Array.of(scale2).buffer));
    if (part === 'weight') {
      await pass.each(async (chunk, values, first) => {
        quantizeChunk(values, chunk.rows, true);
        await write(out.weight.subarray(0, chunk.rows * bytes.weight));
        held?.scale.set(out.scale.subarray(0, chunk.rows * bytes.scale), first * bytes.scale);
        held?.positions.set(out.positions.subarray(0, chunk.rows * bytes.positions), first * bytes.positions);
      });
      return measured(q);
    }
    if (held) return write(held[part]);
    await pass.each(async (chunk, values) => {
      quantizeChunk(values, chunk.rows, false);
      await write(out[part].subarray(0, chunk.rows * bytes[part]));
    });
  };
}

/**
 * The TensorFiller of kept tensors within `memory`, a chunk of rows at a time: the stored bytes
 * copied when the dtype stays, else decoded exactly and encoded as the planned dtype.
 */
function keepFiller(tensors: ReadonlyMap<string, TensorEntry>, memory: ChunkMemory): TensorFiller {
  const { budget, arena } = memory;
  return async (t, write) => {
    arena.reset();
    const rows = await rowReader(tensors, t.name, budget);
    if (tensors.get(t.name)!.dtype === t.dtype) return rowChunks(rows, budget, arena, 0, true).each((chunk) => write(chunk.bytes));
    const pass = rowChunks(rows, budget, arena, rows.cols * DTYPE_BYTES[t.dtype]);
    const out = arena.u8(pass.chunkRows * rows.cols * DTYPE_BYTES[t.dtype]);
    await pass.each((_chunk, values) => write(encodeFloatsInto(values, t.dtype, out)));
  };
}

/** Output dtype of a kept tensor (4-bit codes and GGUF ggml blocks decode exactly to f32). */
function keptDType(name: string, source: TensorEntry, quant: ConvertQuant): DType {
  const float = source.dtype === 'u8' || isGgmlBlock(source.dtype) ? 'f32' : source.dtype;
  if (quant === 'nvfp4') return float;
  return name.endsWith('e_score_correction_bias') ? 'f32' : quant;
}

/** Calibration prompts: the text's tokens in pieces of CALIB_PROMPT_TOKENS. */
function calibrationPrompts(text: TextCodec, calib: string, maxPrompts: number): Int32Array[] {
  const ids = text.encode(calib);
  const prompts: Int32Array[] = [];
  for (let i = 0; i + 2 <= ids.length && prompts.length < maxPrompts; i += CALIB_PROMPT_TOKENS) {
    prompts.push(Int32Array.from(ids.slice(i, i + CALIB_PROMPT_TOKENS)));
  }
  return prompts;
}

/**
 * Convert checkpoint `input` (anything `openCheckpoint` opens, or `default`) into an edge pack in
 * `out`, returning the shards and the per-layer error report of the quantised linears.
 * @example
 * const { report } = await convertCheckpoint('models/bench/small-f32', 'packs/small-nvfp4', { quant: 'nvfp4' });
 */
export async function convertCheckpoint(input: string, out: string, options: ConvertOptions): Promise<ConvertResult> {
  const inPath = resolveModelPath(input);
  const ckpt = await openCheckpoint(inPath);
  try {
    const { config, store } = ckpt;
    let hasMtp = config.layers.length > config.nTrunkLayers;
    let tensors: Map<string, TensorEntry>;
    try {
      tensors = validateWeights(config, store, hasMtp);
    } catch (e) {
      if (!(e instanceof MissingTensorError) || !hasMtp) throw e;
      hasMtp = false; // a checkpoint without its MTP block converts without it
      tensors = validateWeights(config, store, false);
    }
    const plan = planTensors(config, hasMtp, options, (name, specShape) => {
      const source = tensors.get(name)!;
      return { dtype: keptDType(name, source, options.quant), shape: source.dtype === 'u8' ? specShape : source.shape };
    });

    // ‖X_j‖₂ of every quantised linear's input, from one reference pass over the calibration text:
    // Wanda's score, and the output error of the report (with --calib, for any 4-bit format)
    let norms = new Map<string, Float64Array>();
    const wanda = plan.format === 'nvfp4-s24' && options.score === 'wanda';
    if (options.recover && plan.format !== 'nvfp4-s24') throw new InvalidOptionError('recover', 'on', 'only with --quant nvfp4 --sparse 2:4');
    let recovered = new Map<string, RecoveredLinear>();
    const budget = new MemoryBudget(options.maxMemoryMb ?? DEFAULT_MAX_MEMORY_MIB);
    if (wanda || options.recover || (plan.format && options.calibText !== undefined)) {
      const checkpointBytes = [...tensors.values()].reduce((n, t) => n + t.byteLength, 0);
      if (options.maxMemoryMb !== undefined && checkpointBytes > options.maxMemoryMb * 2 ** 20) {
        throw new MemoryCapError(
          options.maxMemoryMb,
          `calibration (--score wanda, --calib) loads the whole checkpoint (${(checkpointBytes / 2 ** 20).toFixed(0)} MiB) into memory, which the cap does not bound; raise --max-memory above the checkpoint's size, or use --score magnitude without --calib`,
        );
      }
      if (ckpt.tokenizerJson == null) throw new CheckpointError(inPath, 'Wanda calibration needs tokenizer.json');
      const text = TextCodec.fromJson(ckpt.tokenizerJson, ckpt.tokenizerConfig, inPath);
      const loaded = await referenceBackend.load(config, tensors);
      const calib = options.calibText ?? TRAINING_TEXT;
      norms = collectInputNorms(loaded, calibrationPrompts(text, calib, CALIB_MAX_PROMPTS), plan.quantized);
      if (options.recover) recovered = recoverLinears(loaded, calibrationPrompts(text, calib, RECOVER_MAX_PROMPTS), plan.quantized, options.recover, options.onRecovered);
      loaded.dispose();
    }

    const report: LayerReport[] = [];
    const memory = chunkMemory(budget, expectedTensors(config, hasMtp).map((t) => t.shape));
    const quantOptions = (name: string): QuantizeOptions => ({ format: plan.format!, mse: options.mse, score: options.score, inputNorms: norms.get(name) ?? null });
    const linear = async (name: string): Promise<PartWriter> => {
      const r = recovered.get(name);
      if (!r) return streamLinear(tensors, name, memory, quantOptions(name), (q) => report.push({ name, format: plan.format!, relError: q.relError(), relOutputError: q.relOutputError() }));
      const { q, relError, relOutputError } = quantizeRecovered(r, options.mse ?? false);
      report.push({ name, format: plan.format!, relError, relOutputError });
      return (part, write) => write(quantizedPartBytes(q, part));
    };
    const bytesTotal = plan.decls.reduce((n, d) => n + d.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[d.dtype], 0);
    let bytesDone = 0;
    await mkdir(out, { recursive: true });
    const written = await writeShardedSafetensors(out, plan.decls, partsFiller(plan, linear, keepFiller(tensors, memory)), {
      maxShardBytes: (options.shardMb ?? 24) * 2 ** 20,
      alignment: 16,
      metadata: { format: 'pt', generator: 'edgetron convert' },
      onTensor: (t) => {
        bytesDone += t.byteLength;
        options.onProgress?.({ bytesDone, bytesTotal, tensor: t.name });
      },
    });
    await writePackFiles(ckpt, out, quantizationConfig(options, config, hasMtp, plan), options.quant);
    const bytes = Object.values(written.index.shards).reduce((n, s) => n + s.size, 0);
    return { files: written.files, bytes, report };
  } finally {
    await ckpt.store.close();
  }
}

/** The input's config.json as JSON: the folder's file, or a GGUF file's metadata mapped to HF keys. */
async function rawConfigOf(inPath: string): Promise<Record<string, unknown>> {
  if (!inPath.toLowerCase().endsWith('.gguf')) {
    const file = join(inPath, 'config.json');
    return parseConfigJson(await readFile(file, 'utf8'), file) as Record<string, unknown>;
  }
  const source = await openFileSource(inPath);
  try {
    return ggufConfigJson(await openGguf(source)) as Record<string, unknown>;
  } finally {
    await source.close();
  }
}

/** config.json (with `quantization_config`, torch_dtype for f32/bf16) and the tokenizer files. */
async function writePackFiles(ckpt: Checkpoint, out: string, quantConfig: Record<string, unknown> | null, quant: ConvertQuant): Promise<void> {
  const raw = await rawConfigOf(ckpt.path);
  delete raw.quantization_config;
  if (quant === 'f32') raw.torch_dtype = 'float32';
  if (quant === 'bf16') raw.torch_dtype = 'bfloat16';
  if (quantConfig) raw.quantization_config = quantConfig;
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  if (ckpt.tokenizerJson != null) await writeFile(join(out, 'tokenizer.json'), json(ckpt.tokenizerJson));
  if (ckpt.tokenizerConfig != null) await writeFile(join(out, 'tokenizer_config.json'), json(ckpt.tokenizerConfig));
  await writeFile(join(out, 'config.json'), stringifyConfigJson(raw));
}
