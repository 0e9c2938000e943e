// DESIGN §4: synthetic checkpoints. Seeded random weights in the real NemotronH layout
// (spec §12 names from `expectedTensors`, MTP included), written as an HF folder:
// config.json, model.safetensors, tokenizer.json, tokenizer_config.json.
//
// Scales keep activations in range through every layer (pre-norm residual blocks):
// - linear weights: std 1/√fan_in; output projections (out_proj, o_proj, down_proj,
//   fc2_latent_proj) also × 1/√(2·n_layers), so the residual grows by O(1) over the depth;
// - embeddings std 1; norms 1 ± 0.1; D 1 ± 0.1; conv weights std 0.5, conv bias ±0.1;
// - A_log = ln U[1, 16]; dt_bias = softplus⁻¹(dt) with dt log-uniform in [0.001, 0.1]
//   (the Mamba-2 init); router correction bias ±0.01 (kept in f32, as HF keeps it).
// All values are uniform draws of the given std from `Prng` (one stream per tensor), with ln/exp
// from detmath.ts, so the same seed gives the same bytes on every machine. Tensors stream to
// disk one chunk at a time: the 60 GB `nano` preset never sits in memory. With `quant: 'nvfp4'`
// the linear weights the `nano` policy picks are generated whole, one at a time, and written as
// nvfp4 (weights-tools/convert.ts, quantize.ts): exactly what `convert --quant nvfp4` makes of the
// same synth without it. With `quant: 'fp8'` the linears NVIDIA's `-FP8` releases keep in FP8
// (quant-policy.ts `fp8Linears`) are written as ModelOpt writes them: X.weight F8_E4M3 [out, in]
// = E4M3(W / s) (ties to even), X.weight_scale f32 [] = s = amax|W| / 448, X.input_scale f32 [] = 1
// (no calibration: edgetron never applies it), with a ModelOpt `quantization_config` in
// config.json and an hf_quant_config.json listing the BF16 modules.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig, type ModelConfig } from '../engine/core/config.js';
import { stringifyConfigJson } from '../engine/formats/config-json.js';
import { decodeAll, decodeInto } from '../engine/formats/dtype.js';
import { E4M3_MAX, numberToE4m3 } from '../engine/formats/nvfp4.js';
import { InvalidOptionError } from '../engine/core/errors.js';
import { DTYPE_BYTES, expectedTensors, type DType } from '../engine/core/weights.js';
import { SPECIAL_TOKENS, TRAINING_TEXT, tokenizerJson, trainBpe } from './bpe.js';
import { detExpm1, detExp, detLn } from './detmath.js';
import { UnknownPresetError } from './errors.js';
import { PRESET_NAMES, isPresetName, presetConfig, truncateLayers } from './presets.js';
import { Prng } from '../engine/decode/prng.js';
import { planTensors, quantizationConfig, quantizingFiller } from './convert.js';
import { fp8Linears } from './quant-policy.js';
import { quantizeLinear } from './quantize.js';
import { writeSafetensorsFile, type TensorDecl, type TensorFiller, type TensorLayout } from './safetensors-writer.js';

/** Elements generated per chunk (4 MiB of f32). */
const CHUNK_ELEMS = 1 << 20;
/** √3: a uniform on [−σ√3, σ√3] has standard deviation σ. */
const SQRT3 = Math.sqrt(3);
/** Bounds of the Mamba-2 time-step init (spec §2 time_step_min / time_step_max). */
const DT_MIN = 0.001;
const DT_MAX = 0.1;

export type SynthDType = 'f32' | 'bf16';

/** Where a synth run is, after each tensor. */
export interface SynthProgress {
  readonly tensor: string;
  readonly index: number;
  readonly count: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface SynthOptions {
  /** One of PRESET_NAMES. */
  readonly preset: string;
  /** Any 32-bit integer; the same seed gives the same bytes everywhere. */
  readonly seed: number;
  /** Output folder (created if needed). */
  readonly out: string;
  /** Storage type of the weights (the router correction bias stays f32). */
  readonly dtype: SynthDType;
  /** Keep only the first N layers of the preset (`truncateLayers`); default all. */
  readonly layers?: number;
  /** Quantise the linear weights the `nano` policy picks to nvfp4 (weights-tools/convert.ts), or NVIDIA's FP8 selection to FP8. */
  readonly quant?: 'nvfp4' | 'fp8';
  /** Do nothing when `out` already holds config.json and model.safetensors. */
  readonly ifMissing?: boolean;
  readonly onProgress?: (p: SynthProgress) => void;
}

export interface SynthResult {
  readonly out: string;
  /** True when `ifMissing` found a model already there and nothing was written. */
  readonly skipped: boolean;
  /** The parsed config of the written model. */
  readonly config: ModelConfig;
  /** Size of model.safetensors in bytes (0 when skipped). */
  readonly bytes: number;
  /** sha256 of model.safetensors (null when skipped). */
  readonly sha256: string | null;
}

/** Draws one value; called once per element in row-major order. */
type Init = (rng: Prng) => number;

const uniformStd = (std: number): Init => {
  const a = std * SQRT3;
  return (rng) => rng.uniform(-a, a);
};
const around = (center: number, spread: number): Init => (rng) => center + rng.uniform(-spread, spread);

/** A_log = ln U[1, 16], so A = −exp(A_log) ∈ [−16, −1]. */
const initALog: Init = (rng) => detLn(rng.uniform(1, 16));

/** dt_bias = softplus⁻¹(dt) = ln(e^dt − 1), dt = exp(U[ln 0.001, ln 0.1]). */
const initDtBias: Init = (() => {
  const lo = detLn(DT_MIN);
  const hi = detLn(DT_MAX);
  return (rng) => detLn(detExpm1(detExp(rng.uniform(lo, hi))));
})();

const OUT_PROJECTION = /\.(out_proj|o_proj|down_proj|fc2_latent_proj)\.weight$/;

/** The init rule of a tensor, by its spec §12 name and shape. */
function initFor(name: string, shape: readonly number[], config: ModelConfig): Init {
  if (name === 'backbone.embeddings.weight') return uniformStd(1);
  if (/(norm|norm_f)\.weight$/.test(name)) return around(1, 0.1);
  if (name.endsWith('.A_log')) return initALog;
  if (name.endsWith('.dt_bias')) return initDtBias;
  if (name.endsWith('.D')) return around(1, 0.1);
  if (name.endsWith('conv1d.weight')) return uniformStd(0.5);
  if (name.endsWith('conv1d.bias')) return around(0, 0.1);
  if (name.endsWith('e_score_correction_bias')) return around(0, 0.01);
  if (name.endsWith('.weight') && shape.length === 2) {
    const depth = OUT_PROJECTION.test(name) ? Math.sqrt(2 * config.layers.length) : 1;
    return uniformStd(1 / Math.sqrt(shape[1]) / depth);
  }
  throw new InvalidOptionError('tensor', name, 'a tensor with a synth init rule (see weights-tools/synth.ts)');
}

/** f32 bit pattern → bf16 bit pattern, round to nearest even. */
function toBf16(bits: number): number {
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Generate one tensor chunk by chunk, converting to its storage dtype. */
async function fillTensor(t: TensorLayout, init: Init, seed: number, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const rng = new Prng(seed, t.name);
  const total = t.byteLength / DTYPE_BYTES[t.dtype];
  const f32 = new Float32Array(Math.min(CHUNK_ELEMS, total));
  const bits = new Uint32Array(f32.buffer);
  const bf16 = t.dtype === 'bf16' ? new Uint16Array(f32.length) : null;
  for (let done = 0; done < total; done += f32.length) {
    const n = Math.min(f32.length, total - done);
    for (let i = 0; i < n; i++) f32[i] = init(rng);
    if (bf16) {
      for (let i = 0; i < n; i++) bf16[i] = toBf16(bits[i]);
      await write(new Uint8Array(bf16.buffer, 0, n * 2));
    } else {
      await write(new Uint8Array(f32.buffer, 0, n * 4));
    }
  }
}

/** An FP8 linear's stored tensors (ModelOpt names): the E4M3 codes, the per-tensor weight scale, the input scale. */
function fp8Decls(name: string, shape: readonly number[]): TensorDecl[] {
  const base = name.replace(/\.weight$/, '');
  return [
    { name, dtype: 'f8_e4m3', shape },
    { name: `${base}.weight_scale`, dtype: 'f32', shape: [] },
    { name: `${base}.input_scale`, dtype: 'f32', shape: [] },
  ];
}

type Generated = { rows: number; cols: number; dtype: DType; bytes: Uint8Array };

/**
 * The filler of an FP8 synth: each FP8 linear generated whole (`generate`), then s = amax|W| / 448
 * (rounded to f32) and the codes E4M3(W / s); its weight_scale (s) and input_scale (1) follow it.
 */
function fp8Filler(fp8: ReadonlySet<string>, generate: (name: string) => Promise<Generated>, keep: TensorFiller): TensorFiller {
  const scales = new Map<string, number>();
  return async (t, write) => {
    if (fp8.has(t.name)) {
      const g = await generate(t.name);
      const values = decodeAll(g.dtype, g.bytes, t.name);
      const amax = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const s = amax > 0 ? Math.fround(amax / E4M3_MAX) : 1;
      scales.set(t.name.replace(/\.weight$/, '.weight_scale'), s);
      return write(Uint8Array.from(values, (v) => numberToE4m3(v / s)));
    }
    if (scales.has(t.name)) return write(new Uint8Array(Float32Array.of(scales.get(t.name)!).buffer));
    if (t.name.endsWith('.input_scale')) return write(new Uint8Array(Float32Array.of(1).buffer));
    return keep(t, write);
  };
}

/** config.json's `quantization_config` of an FP8 synth, as ModelOpt writes it: the BF16 linear modules excluded by name. */
function fp8QuantizationConfig(config: ModelConfig, fp8: ReadonlySet<string>): Record<string, unknown> {
  const excluded = expectedTensors(config, true)
    .filter((t) => t.linear && !fp8.has(t.name) && t.name !== 'backbone.embeddings.weight' && !t.name.endsWith('.mixer.gate.weight'))
    .map((t) => t.name.replace(/\.weight$/, ''));
  return { quant_method: 'modelopt', quant_algo: 'FP8', exclude_modules: excluded, producer: { name: 'edgetron synth' } };
}

/**
 * ChatML with Nemotron 3's think tags (spec §15.2): an empty system turn when none is given,
 * `<think></think>` before assistant answers without reasoning, and the generation prompt
 * `<|im_start|>assistant\n<think>\n` (or `<think></think>` with `enable_thinking=false`).
 */
export const CHAT_TEMPLATE = [
  String.raw`{%- if messages | length == 0 or messages[0]['role'] != 'system' -%}{{- '<|im_start|>system\n<|im_end|>\n' -}}{%- endif -%}`,
  String.raw`{%- for m in messages -%}`,
  String.raw`{%- if m['role'] == 'assistant' and m['reasoning_content'] is defined and m['reasoning_content'] -%}`,
  String.raw`{{- '<|im_start|>assistant\n<think>\n' + m['reasoning_content'] + '\n</think>\n' + m['content'] + '<|im_end|>\n' -}}`,
  String.raw`{%- elif m['role'] == 'assistant' and '<think>' not in m['content'] -%}`,
  String.raw`{{- '<|im_start|>assistant\n<think></think>' + m['content'] + '<|im_end|>\n' -}}`,
  String.raw`{%- else -%}{{- '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' -}}{%- endif -%}`,
  String.raw`{%- endfor -%}`,
  String.raw`{%- if add_generation_prompt -%}`,
  String.raw`{%- if enable_thinking is defined and not enable_thinking -%}{{- '<|im_start|>assistant\n<think></think>' -}}`,
  String.raw`{%- else -%}{{- '<|im_start|>assistant\n<think>\n' -}}{%- endif -%}`,
  String.raw`{%- endif -%}`,
].join('');

/**
 * tokenizer_config.json of a synthetic model (also of the demo corpus's tokenizer): the
 * specials and the ChatML chat template.
 * @example
 * await writeFile('tokenizer_config.json', JSON.stringify(tokenizerConfig(4096)));
 */
export function tokenizerConfig(maxLength: number): Record<string, unknown> {
  return {
    bos_token: '<s>',
    eos_token: '<|im_end|>',
    unk_token: '<unk>',
    pad_token: '<unk>',
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: maxLength,
    chat_template: CHAT_TEMPLATE,
  };
}

const writeJson = (file: string, value: unknown) => writeFile(file, `${JSON.stringify(value, null, 2)}\n`);

/**
 * Write a synthetic checkpoint folder for a preset. config.json is written last, so a folder
 * with config.json and model.safetensors is complete (what `ifMissing` checks).
 * @example
 * await synthesize({ preset: 'tiny', seed: 1, out: 'models/default', dtype: 'f32', ifMissing: true });
 * const ckpt = await openCheckpoint('models/default');
 */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const { preset, seed, out, dtype } = options;
  if (!isPresetName(preset)) throw new UnknownPresetError(preset, PRESET_NAMES);
  if (!(Number.isInteger(seed) && seed >= -(2 ** 31) && seed < 2 ** 32)) {
    throw new InvalidOptionError('seed', seed, 'a 32-bit integer');
  }
  if (dtype !== 'f32' && dtype !== 'bf16') throw new InvalidOptionError('dtype', dtype, 'f32 or bf16');
  if (options.quant !== undefined && options.quant !== 'nvfp4' && options.quant !== 'fp8') throw new InvalidOptionError('quant', options.quant, 'nvfp4 or fp8');
  const raw = options.layers === undefined ? presetConfig(preset) : truncateLayers(presetConfig(preset), options.layers);
  raw.torch_dtype = dtype === 'bf16' ? 'bfloat16' : 'float32';
  const config = parseConfig(raw, [SPECIAL_TOKENS.indexOf('<|im_end|>')]);
  const configFile = join(out, 'config.json');
  const modelFile = join(out, 'model.safetensors');
  if (options.ifMissing && existsSync(configFile) && existsSync(modelFile)) {
    return { out, skipped: true, config, bytes: 0, sha256: null };
  }

  await mkdir(out, { recursive: true });
  await writeJson(join(out, 'tokenizer.json'), tokenizerJson(trainBpe(TRAINING_TEXT, config.vocabSize)));
  await writeJson(join(out, 'tokenizer_config.json'), tokenizerConfig(config.maxPositionEmbeddings));

  const specs = expectedTensors(config, true);
  const inits = new Map(specs.map((s) => [s.name, initFor(s.name, s.shape, config)]));
  const storage = (name: string): DType => (name.endsWith('e_score_correction_bias') ? 'f32' : dtype);
  const fp8 = options.quant === 'fp8' ? fp8Linears(config) : null;
  const quant = options.quant === 'nvfp4' ? 'nvfp4' : dtype; // FP8 is planned as the float model, then its linears are swapped
  const plan = planTensors(config, true, { quant }, (name, shape) => ({ dtype: storage(name), shape }));
  const keep: TensorFiller = (t, write) => fillTensor(t, inits.get(t.name)!, seed, write);
  // a quantised linear is generated whole, exactly as it is written without --quant, then quantised
  const generate = async (name: string) => {
    const spec = specs.find((s) => s.name === name)!;
    const bytes = new Uint8Array(spec.shape[0] * spec.shape[1] * DTYPE_BYTES[storage(name)]);
    let at = 0;
    const layout: TensorLayout = { name, dtype: storage(name), shape: spec.shape, byteLength: bytes.byteLength, begin: 0 };
    await keep(layout, async (chunk) => {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    });
    return { rows: spec.shape[0], cols: spec.shape[1], dtype: layout.dtype, bytes };
  };
  const quantize = async (name: string) => {
    const { rows, cols, dtype: d, bytes } = await generate(name);
    return quantizeLinear({ name, rows, cols, readRow: (r, dst) => decodeInto(d, bytes, r * cols, cols, dst, 0, name) }, { format: 'nvfp4' });
  };
  const decls = fp8 ? plan.decls.flatMap((d) => (fp8.has(d.name) ? fp8Decls(d.name, d.shape) : [d])) : plan.decls;
  const fill = fp8 ? fp8Filler(fp8, generate, keep) : quantizingFiller(plan, quantize, keep);
  const bytesTotal = decls.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype], 0);
  let bytesDone = 0;
  const written = await writeSafetensorsFile(modelFile, decls, fill, {
    metadata: { format: 'pt', generator: 'edgetron synth', preset, seed: String(seed) },
    onTensor: (t, index, count) => {
      bytesDone += t.byteLength;
      options.onProgress?.({ tensor: t.name, index, count, bytesDone, bytesTotal });
    },
  });
  const quantConfig = fp8 ? fp8QuantizationConfig(config, fp8) : quantizationConfig({ quant }, config, true, plan);
  if (quantConfig) raw.quantization_config = quantConfig;
  if (fp8) {
    const { quant_algo, exclude_modules } = quantConfig as { quant_algo: string; exclude_modules: string[] };
    await writeJson(join(out, 'hf_quant_config.json'), { producer: { name: 'edgetron synth' }, quantization: { quant_algo, kv_cache_quant_algo: 'FP8', exclude_modules } });
  }
  await writeFile(configFile, stringifyConfigJson(raw));
  return { out, skipped: false, config, bytes: written.layout.fileSize, sha256: written.sha256 };
}
