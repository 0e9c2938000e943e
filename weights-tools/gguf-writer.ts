// spec §13: writing GGUF files (the layout engine/formats/gguf.ts reads), and exporting a NemotronH
// checkpoint as the GGUF llama.cpp's `nemotron_h` / `nemotron_h_moe` loader reads. The header is
// built in memory from the planned names, types and dims alone (metadata and tensor infos: small);
// tensor data follows, one tensor at a time, each at a multiple of the alignment, zero-padded.
// An export streams each tensor a chunk of whole rows at a time under a memory cap
// (row-chunks.ts): ggml blocks (32, 64 or 256 values) lie inside a row, so chunks do not change a byte.
//
//   u32 "GGUF" | u32 version 3 | u64 n_tensors | u64 n_kv | kv… | tensor infos… | pad | data
//
// Export mirrors what llama.cpp's converter writes (the fixtures in tests/fixtures are the
// model): every 2-D projection, embeddings and head included, takes the chosen type, except the
// MoE router (kept F32 like every vector); A_log is stored as ssm_a = −exp(A_log) [H, 1], D as
// [H, 1], the gated norm as [G, dInner/G], conv1d as [convDim, K], experts stacked [E, out, in].

import { open } from 'node:fs/promises';
import type { ModelConfig } from '../engine/core/config.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../engine/formats/dtype.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VALUE, type GgufKV, type GgufScalar } from '../engine/formats/gguf.js';
import { ggufTensorName } from '../engine/formats/gguf-names.js';
import { TOKEN_TYPE } from '../engine/formats/gguf-tokenizer.js';
import { GGML_SUPPORTED, GGML_TYPE, e4m3ScalesPackable, packNvfp4 } from '../engine/formats/ggml-types.js';
import { ggmlBlockOf } from '../engine/formats/ggml-blocks.js';
import { expectedTensors, linearWeight, validateWeights, type TensorEntry, type WeightStore } from '../engine/core/weights.js';
import { CheckpointError } from './errors.js';
import { ConfigError } from '../engine/core/errors.js';
import { LinearQuantizer } from './quantize.js';
import { chunkMemory, DEFAULT_MAX_MEMORY_MIB, MemoryBudget, rowChunks, rowReader, type ChunkMemory } from './row-chunks.js';

/** A tensor to write: ggml type id, GGUF dims (innermost first), and its raw ggml bytes. */
export interface GgufTensorInput {
  readonly name: string;
  readonly type: number;
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export interface GgufWriteOptions {
  /** Tensor data alignment; written as `general.alignment` when not the default 32. */
  readonly alignment?: number;
}

const SCALAR_BYTES: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Growable little-endian byte buffer. */
class ByteWriter {
  private buf = new Uint8Array(1 << 12);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private readonly utf8 = new TextEncoder();

  private room(n: number): number {
    if (this.length + n > this.buf.byteLength) {
      const grown = new Uint8Array(Math.max(this.buf.byteLength * 2, this.length + n));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
  }

  u64(v: number | bigint): void {
    const at = this.room(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }

  bytes(b: Uint8Array): void {
    const at = this.room(b.byteLength);
    this.buf.set(b, at);
  }

  string(s: string): void {
    const b = this.utf8.encode(s);
    this.u64(b.byteLength);
    this.bytes(b);
  }

  scalar(type: number, v: GgufScalar): void {
    if (type === GGUF_VALUE.STRING) return this.string(v as string);
    const at = this.room(SCALAR_BYTES[type]);
    const d = this.view;
    switch (type) {
      case GGUF_VALUE.UINT8:
        return d.setUint8(at, v as number);
      case GGUF_VALUE.INT8:
        return d.setInt8(at, v as number);
      case GGUF_VALUE.UINT16:
        return d.setUint16(at, v as number, true);
      case GGUF_VALUE.INT16:
        return d.setInt16(at, v as number, true);
      case GGUF_VALUE.UINT32:
        return d.setUint32(at, v as number, true);
      case GGUF_VALUE.INT32:
        return d.setInt32(at, v as number, true);
      case GGUF_VALUE.FLOAT32:
        return d.setFloat32(at, v as number, true);
      case GGUF_VALUE.BOOL:
        return d.setUint8(at, v ? 1 : 0);
      case GGUF_VALUE.UINT64:
        return d.setBigUint64(at, BigInt(v as number | bigint), true);
      case GGUF_VALUE.INT64:
        return d.setBigInt64(at, BigInt(v as number | bigint), true);
      default:
        return d.setFloat64(at, v as number, true);
    }
  }

  pad(alignment: number): void {
    this.room((alignment - (this.length % alignment)) % alignment);
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Metadata helpers: the GGUF type of each value is explicit. */
export const kv = {
  u32: (value: number): GgufKV => ({ type: GGUF_VALUE.UINT32, value }),
  i32: (value: number): GgufKV => ({ type: GGUF_VALUE.INT32, value }),
  f32: (value: number): GgufKV => ({ type: GGUF_VALUE.FLOAT32, value }),
  bool: (value: boolean): GgufKV => ({ type: GGUF_VALUE.BOOL, value }),
  str: (value: string): GgufKV => ({ type: GGUF_VALUE.STRING, value }),
  array: (itemType: number, value: GgufScalar[]): GgufKV => ({ type: GGUF_VALUE.ARRAY, itemType, value }),
};

/** What the header needs to know about a tensor: its name, ggml type, GGUF dims and byte length. */
export interface GgufTensorDecl {
  readonly name: string;
  readonly type: number;
  readonly dims: readonly number[];
  readonly byteLength: number;
}

/**
 * Encode a GGUF (version 3) header: metadata in the given order, then the tensor infos, padded
 * to the alignment. Tensor i's data goes at `header.byteLength + offsets[i]`, each padded to the
 * alignment. Throws RangeError when a byte length does not match its type and dims.
 * @example
 * const { header, offsets } = encodeGgufHeader(metadata, [{ name: 'w', type: GGML_TYPE.F32, dims: [4], byteLength: 16 }]);
 */
export function encodeGgufHeader(
  metadata: ReadonlyMap<string, GgufKV>,
  tensors: readonly GgufTensorDecl[],
  options: GgufWriteOptions = {},
): { header: Uint8Array; offsets: number[]; alignment: number } {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const meta = new Map(metadata);
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) meta.set('general.alignment', kv.u32(alignment));
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.size);
  for (const [key, entry] of meta) {
    w.string(key);
    w.u32(entry.type);
    if (entry.type !== GGUF_VALUE.ARRAY) {
      w.scalar(entry.type, entry.value as GgufScalar);
      continue;
    }
    const items = entry.value as GgufScalar[];
    w.u32(entry.itemType!);
    w.u64(items.length);
    for (const item of items) w.scalar(entry.itemType!, item);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const info = GGML_SUPPORTED.get(t.type);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (!info || (n / info.blockValues) * info.blockBytes !== t.byteLength) {
      throw new RangeError(`tensor ${t.name}: ${t.byteLength} bytes do not match type ${t.type} with dims [${t.dims.join(', ')}]`);
    }
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(offset);
    offsets.push(offset);
    offset += Math.ceil(t.byteLength / alignment) * alignment;
  }
  w.pad(alignment);
  return { header: w.result(), offsets, alignment };
}

/**
 * Encode a whole GGUF (version 3) in memory: header, then each tensor's bytes at its aligned
 * offset. `dims` are GGUF dims (innermost first).
 * @example
 * const bytes = encodeGguf(new Map([['general.architecture', kv.str('nemotron_h')]]), [
 *   { name: 'output_norm.weight', type: GGML_TYPE.F32, dims: [4], data: new Uint8Array(16) },
 * ]);
 */
export function encodeGguf(metadata: ReadonlyMap<string, GgufKV>, tensors: readonly GgufTensorInput[], options: GgufWriteOptions = {}): Uint8Array {
  const { header, offsets, alignment } = encodeGgufHeader(metadata, tensors.map((t) => ({ ...t, byteLength: t.data.byteLength })), options);
  const last = tensors.length ? offsets[offsets.length - 1] + Math.ceil(tensors[tensors.length - 1].data.byteLength / alignment) * alignment : 0;
  const out = new Uint8Array(header.byteLength + last);
  out.set(header);
  tensors.forEach((t, i) => out.set(t.data, header.byteLength + offsets[i]));
  return out;
}

/** Types a GGUF export can give the projections. */
export type GgufQuant = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'nvfp4' | 'q4_k' | 'q5_k' | 'q6_k' | 'q4_k_m' | 'q4_1' | 'q5_0' | 'q5_1';
export const GGUF_QUANTS: readonly GgufQuant[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'nvfp4', 'q4_k', 'q5_k', 'q6_k', 'q4_k_m', 'q4_1', 'q5_0', 'q5_1'];

const QUANT_TYPE: Readonly<Record<GgufQuant, number>> = {
  f32: GGML_TYPE.F32,
  f16: GGML_TYPE.F16,
  bf16: GGML_TYPE.BF16,
  q8_0: GGML_TYPE.Q8_0,
  q4_0: GGML_TYPE.Q4_0,
  nvfp4: GGML_TYPE.NVFP4,
  q4_k: GGML_TYPE.Q4_K,
  q5_k: GGML_TYPE.Q5_K,
  q6_k: GGML_TYPE.Q6_K,
  q4_k_m: GGML_TYPE.Q4_K, // the base type of the mix (mixedType)
  q4_1: GGML_TYPE.Q4_1,
  q5_0: GGML_TYPE.Q5_0,
  q5_1: GGML_TYPE.Q5_1,
};
/** llama.cpp `llama_ftype` of the file (q4_k, q5_k: the _S ftypes, all projections of one type; q4_k_m: the mix). */
const FILE_TYPE: Readonly<Record<GgufQuant, number>> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32, nvfp4: 39, q4_k: 14, q4_k_m: 15, q5_k: 16, q6_k: 18, q4_1: 3, q5_0: 8, q5_1: 9 };

/** llama.cpp's type for a row a K-quant block does not fit (llama-quant.cpp: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0). */
const K_FALLBACK: Readonly<Record<number, number>> = { [GGML_TYPE.Q4_K]: GGML_TYPE.Q5_0, [GGML_TYPE.Q5_K]: GGML_TYPE.Q5_1, [GGML_TYPE.Q6_K]: GGML_TYPE.Q8_0 };

/**
 * The ggml type of projection `gguf` in a Q4_K_M-style mix (after llama.cpp's llama-quant.cpp
 * rules, simplified): the output head Q6_K, the embedding Q8_0; attn_v, ssm_out and the FFN down
 * projections Q6_K in the layers llama.cpp gives more bits (the first and last eighth, and every
 * third in between); everything else Q4_K.
 */
function mixedType(gguf: string, nLayers: number): number {
  if (gguf === 'output.weight') return GGML_TYPE.Q6_K;
  if (gguf === 'token_embd.weight') return GGML_TYPE.Q8_0;
  const m = /^blk\.(\d+)\.(attn_v|ssm_out|ffn_down(?:_exps|_shexp)?)\.weight$/.exec(gguf);
  if (!m) return GGML_TYPE.Q4_K;
  const il = Number(m[1]);
  const moreBits = il < nLayers / 8 || il >= (7 * nLayers) / 8 || (il - Math.floor(nLayers / 8)) % 3 === 2;
  return moreBits ? GGML_TYPE.Q6_K : GGML_TYPE.Q4_K;
}

/** What an export reads: an opened checkpoint (weights-tools/checkpoint.ts `Checkpoint` fits). */
export interface GgufExportSource {
  readonly config: ModelConfig;
  readonly store: WeightStore;
  readonly tokenizerJson: unknown | null;
  readonly tokenizerConfig: Record<string, unknown> | null;
}

/** One tensor of an export: its header entry, and a producer that hands its bytes to `write` in order, chunk by chunk (each awaited before the next). */
export interface GgufExportTensor extends GgufTensorDecl {
  produce(write: (chunk: Uint8Array) => Promise<void>): Promise<void>;
}

/** An export ready to write: metadata and tensors in file order. */
export interface GgufExportPlan {
  readonly metadata: Map<string, GgufKV>;
  readonly tensors: GgufExportTensor[];
}

type Json = Record<string, unknown>;

/**
 * tokenizer.json (byte-level BPE) → the `tokenizer.ggml.*` keys, `config.vocabSize` entries long.
 * Special ids come from config.json (as llama.cpp's converter takes them), the chat template
 * from tokenizer_config.json.
 */
function tokenizerMetadata(tokenizerJson: unknown, tokenizerConfig: Json | null, config: ModelConfig, file: string): [string, GgufKV][] {
  const vocab = config.vocabSize;
  const tj = tokenizerJson as Json;
  const model = tj?.model as Json | undefined;
  const pre = tj?.pre_tokenizer as Json | undefined;
  if (model?.type !== 'BPE' || typeof model.vocab !== 'object' || pre?.type !== 'ByteLevel' || pre.use_regex === false) {
    throw new CheckpointError(file, 'GGUF export needs a byte-level BPE tokenizer.json (BPE model, ByteLevel pre-tokenizer with its GPT-2 regex)');
  }
  const tokens: (string | undefined)[] = new Array(vocab).fill(undefined);
  const types = new Array<number>(vocab).fill(TOKEN_TYPE.NORMAL);
  for (const [token, id] of Object.entries(model.vocab as Record<string, number>)) if (id < vocab) tokens[id] = token;
  for (const t of (tj.added_tokens ?? []) as { id: number; content: string; special?: boolean }[]) {
    if (t.id >= vocab) continue;
    tokens[t.id] = t.content;
    types[t.id] = t.special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
  }
  // ids the tokenizer does not cover (the embedding is padded) become llama.cpp's unused [PADn] tokens
  tokens.forEach((t, i) => {
    if (t === undefined) tokens[i] = `[PAD${i}]`;
    if (tokens[i] === `[PAD${i}]`) types[i] = TOKEN_TYPE.UNUSED;
  });
  const merges = ((model.merges ?? []) as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const out: [string, GgufKV][] = [
    ['tokenizer.ggml.model', kv.str('gpt2')],
    ['tokenizer.ggml.pre', kv.str('gpt-2')],
    ['tokenizer.ggml.tokens', kv.array(GGUF_VALUE.STRING, tokens as string[])],
    ['tokenizer.ggml.token_type', kv.array(GGUF_VALUE.INT32, types)],
    ['tokenizer.ggml.merges', kv.array(GGUF_VALUE.STRING, merges)],
  ];
  const unk = tokens.indexOf('<unk>');
  const pad = config.raw.pad_token_id;
  for (const [key, id] of [
    ['bos_token_id', config.bosTokenId],
    ['eos_token_id', config.eosTokenIds[0]],
    ['unknown_token_id', unk >= 0 ? unk : undefined],
    ['padding_token_id', typeof pad === 'number' ? pad : undefined],
  ] as const) {
    if (typeof id === 'number' && id < vocab) out.push([`tokenizer.ggml.${key}`, kv.u32(id)]);
  }
  const cfg = tokenizerConfig ?? {};
  out.push(['tokenizer.ggml.add_bos_token', kv.bool(cfg.add_bos_token === true)], ['tokenizer.ggml.add_eos_token', kv.bool(false)]);
  if (typeof cfg.chat_template === 'string') out.push(['tokenizer.chat_template', kv.str(cfg.chat_template)]);
  return out;
}

/** The `{arch}.*` keys (spec §13) for a config: per-layer arrays, then u32 sizes, then flags and scales. */
function modelMetadata(config: ModelConfig, arch: string): [string, GgufKV][] {
  const { layerKinds: kinds, attention: at, mamba: m, moe: e } = config;
  const theta = config.raw.rope_theta;
  const sizes: [string, number | undefined][] = [
    ['context_length', config.maxPositionEmbeddings],
    ['embedding_length', config.dModel],
    ['block_count', kinds.length],
    ['vocab_size', config.vocabSize],
    ['attention.head_count', at?.nHeads ?? 0],
    ['attention.key_length', at?.headDim],
    ['attention.value_length', at?.headDim],
    ['ssm.conv_kernel', m?.convKernel],
    ['ssm.state_size', m?.dState],
    ['ssm.group_count', m?.nGroups],
    ['ssm.inner_size', m?.dInner],
    ['ssm.time_step_rank', m?.nHeads],
    ['expert_count', e?.nExperts],
    ['expert_used_count', e?.topK],
    ['expert_group_count', e?.nGroup],
    ['expert_group_used_count', e?.topkGroup],
    ['expert_feed_forward_length', e?.expertDim],
    ['expert_shared_feed_forward_length', e?.sharedDim],
    ['expert_shared_count', e ? 1 : undefined],
    ['moe_latent_size', e?.latentDim ?? undefined],
  ];
  const entries: [string, GgufKV | undefined][] = [
    ...sizes.map(([k, v]): [string, GgufKV | undefined] => [k, v === undefined ? undefined : kv.u32(v)]),
    ['feed_forward_length', kv.array(GGUF_VALUE.INT32, kinds.map((k) => (k === 'E' ? e!.expertDim : k === '-' ? config.mlpDim! : 0)))],
    ['attention.head_count_kv', kv.array(GGUF_VALUE.INT32, kinds.map((k) => (k === '*' ? at!.nKvHeads : 0)))],
    ['rope.freq_base', kv.f32(typeof theta === 'number' ? theta : 10000)],
    ['attention.layer_norm_rms_epsilon', kv.f32(config.normEps)],
    ['attention.layer_norm_epsilon', kv.f32(config.normEps)],
    ['expert_weights_norm', e ? kv.bool(e.normTopK) : undefined],
    ['expert_weights_scale', e ? kv.f32(e.routedScale) : undefined],
  ];
  // llama.cpp's converter order, which the fixtures follow
  const order = [
    'context_length', 'embedding_length', 'block_count', 'vocab_size', 'feed_forward_length', 'attention.head_count',
    'attention.head_count_kv', 'attention.key_length', 'attention.value_length', 'rope.freq_base',
    'attention.layer_norm_rms_epsilon', 'attention.layer_norm_epsilon', 'ssm.conv_kernel', 'ssm.state_size',
    'ssm.group_count', 'ssm.inner_size', 'ssm.time_step_rank', 'expert_count', 'expert_used_count', 'expert_group_count',
    'expert_group_used_count', 'expert_feed_forward_length', 'expert_shared_feed_forward_length', 'expert_shared_count',
    'expert_weights_norm', 'expert_weights_scale', 'moe_latent_size',
  ];
  const byKey = new Map(entries);
  return order.flatMap((k): [string, GgufKV][] => {
    const v = byKey.get(k);
    return v ? [[`${arch}.${k}`, v]] : [];
  });
}

/** f32 values → the bytes of ggml type `type` in `out` (large enough); the encoded bytes. */
function encodeValuesInto(x: Float32Array, type: number, out: Uint8Array): Uint8Array {
  const info = GGML_SUPPORTED.get(type)!;
  const bytes = out.subarray(0, (x.length / info.blockValues) * info.blockBytes);
  if (type === GGML_TYPE.F32) new Float32Array(bytes.buffer, bytes.byteOffset, x.length).set(x);
  else if (type === GGML_TYPE.F16 || type === GGML_TYPE.BF16) {
    const bits = new Uint16Array(bytes.buffer, bytes.byteOffset, x.length);
    const encode = type === GGML_TYPE.F16 ? f32ToF16Bits : f32ToBf16Bits;
    for (let i = 0; i < x.length; i++) bits[i] = encode(x[i]);
  } else ggmlBlockOf(type)!.quant(x, bytes, x.length);
  return bytes;
}

/**
 * Stream tensor `name` as ggml type `type` (not NVFP4) to `write`: float dtypes exactly and nvfp4
 * formats decoded exactly, rounded once to f32, then `transform`ed in place.
 */
async function streamValues(
  tensors: ReadonlyMap<string, TensorEntry>,
  name: string,
  type: number,
  transform: ((x: Float32Array) => void) | null,
  memory: ChunkMemory,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  const { budget, arena } = memory;
  const info = GGML_SUPPORTED.get(type)!;
  const rows = await rowReader(tensors, name, budget);
  const outPerRow = (rows.cols / info.blockValues) * info.blockBytes;
  const pass = rowChunks(rows, budget, arena, 4 * rows.cols + outPerRow);
  const x = arena.f32(pass.chunkRows * rows.cols);
  const out = arena.u8(pass.chunkRows * outPerRow);
  await pass.each(async (_chunk, values) => {
    const xs = x.subarray(0, values.length);
    xs.set(values);
    transform?.(xs);
    await write(encodeValuesInto(xs, type, out));
  });
}

/** ggml NVFP4 bytes per row of `cols` values (36-byte blocks of 64). */
const nvfp4BlockBytes = (cols: number) => (cols * 36) / 64;

/**
 * Stream linear `name` as ggml NVFP4 blocks to `write`, returning its weight_scale_2: a ModelOpt
 * nvfp4 source is repacked losslessly; anything else (float, nvfp4-s24, scales ggml cannot hold)
 * is quantised from its values, rounded once to f32, with the edge pack's quantiser
 * (weights-tools/quantize.ts).
 */
async function streamNvfp4(
  tensors: ReadonlyMap<string, TensorEntry>,
  name: string,
  memory: ChunkMemory,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<number> {
  const { budget, arena } = memory;
  const rows = await rowReader(tensors, name, budget);
  const blockBytes = nvfp4BlockBytes(rows.cols);
  if (tensors.get(name)!.dtype === 'u8' && linearWeight(tensors, name).format === 'nvfp4') {
    const pass = rowChunks(rows, budget, arena, blockBytes, true);
    let packable = true;
    await pass.each((chunk) => {
      packable &&= e4m3ScalesPackable(chunk.quant!.scale);
    });
    if (packable) {
      const blocks = arena.u8(pass.chunkRows * blockBytes);
      let scale2 = 0;
      await pass.each(async (chunk) => {
        const out = blocks.subarray(0, chunk.rows * blockBytes);
        packNvfp4(chunk.bytes, chunk.quant!.scale, out, chunk.rows * rows.cols);
        scale2 = chunk.quant!.scale2;
        await write(out);
      });
      return scale2;
    }
    arena.reset();
  }
  const q = new LinearQuantizer(name, rows.cols, { format: 'nvfp4' });
  const { weight, scale } = q.rowBytes;
  const pass = rowChunks(rows, budget, arena, weight + scale + blockBytes);
  const out = { weight: arena.u8(pass.chunkRows * weight), scale: arena.u8(pass.chunkRows * scale) };
  const blocks = arena.u8(pass.chunkRows * blockBytes);
  const rowOf = (values: Float64Array, r: number) => values.subarray(r * rows.cols, (r + 1) * rows.cols);
  await pass.each((chunk, values) => {
    for (let i = 0; i < values.length; i++) values[i] = Math.fround(values[i]);
    for (let r = 0; r < chunk.rows; r++) q.scan(rowOf(values, r));
  });
  const scale2 = q.finishScan();
  await pass.each(async (chunk, values) => {
    for (let i = 0; i < values.length; i++) values[i] = Math.fround(values[i]);
    for (let r = 0; r < chunk.rows; r++) q.quantizeRow(rowOf(values, r), out, r, false);
    const bytes = blocks.subarray(0, chunk.rows * blockBytes);
    packNvfp4(out.weight, out.scale, bytes, chunk.rows * rows.cols);
    await write(bytes);
  });
  return scale2;
}

/**
 * Plan the GGUF export of a checkpoint: metadata (llama.cpp keys, the tokenizer) and tensors
 * under GGUF names with their layouts. Tensor bytes are produced one tensor at a time when
 * written, a chunk of rows at a time within `maxMemoryMb` (row-chunks.ts). Throws the
 * checkpoint's own validation errors (missing tensor, wrong shape).
 * @example
 * const plan = planGgufExport(await openCheckpoint('model-dir'), 'q8_0');
 * await writeGgufFile('model-q8_0.gguf', plan);
 */
export function planGgufExport(source: GgufExportSource, quant: GgufQuant, name = 'edgetron export', maxMemoryMb = DEFAULT_MAX_MEMORY_MIB): GgufExportPlan {
  const { config, store } = source;
  if (config.layerKinds.includes('E') && config.layerKinds.includes('-')) {
    // llama.cpp reads a layer's kind from feed_forward_length: in nemotron_h_moe every layer
    // with a width is MoE, so a dense '-' layer would come back as 'E'
    throw new ConfigError('hybrid_override_pattern', "mixes dense '-' and MoE 'E' layers, which a nemotron_h_moe GGUF cannot represent");
  }
  const tensors = validateWeights(config, store);
  const memory = chunkMemory(new MemoryBudget(maxMemoryMb), expectedTensors(config).map((t) => t.shape));
  const arch = config.layerKinds.includes('E') ? 'nemotron_h_moe' : 'nemotron_h';
  const metadata = new Map<string, GgufKV>([['general.architecture', kv.str(arch)], ['general.name', kv.str(name)], ...modelMetadata(config, arch)]);
  if (source.tokenizerJson) for (const [k, v] of tokenizerMetadata(source.tokenizerJson, source.tokenizerConfig, config, store.source)) metadata.set(k, v);
  metadata.set('general.file_type', kv.u32(FILE_TYPE[quant]));
  metadata.set('general.quantization_version', kv.u32(2));

  const out: GgufExportTensor[] = [];
  const done = new Set<string>();
  for (const spec of expectedTensors(config)) {
    const gguf = ggufTensorName(spec.name);
    if (!gguf) throw new CheckpointError(store.source, `tensor ${spec.name} has no GGUF name`);
    if (done.has(gguf)) continue;
    done.add(gguf);
    const experts = /\.experts\.\d+\./.test(spec.name) ? spec.name.replace(/\.experts\.\d+\./, '.experts.{e}.') : null;
    const shape = spec.name.endsWith('conv1d.weight') ? [spec.shape[0], spec.shape[2]] : [...spec.shape];
    let dims = [...shape].reverse();
    let sources = [spec.name];
    let transform: ((x: Float32Array) => void) | null = null;
    if (experts) {
      const n = config.moe!.nExperts;
      dims = [...dims, n];
      sources = Array.from({ length: n }, (_, e) => experts.replace('{e}', String(e)));
    } else if (spec.name.endsWith('.A_log')) {
      dims = [1, shape[0]];
      transform = (x) => x.forEach((v, i) => (x[i] = -Math.exp(v))); // ssm_a = −exp(A_log), rounded once to f32
    } else if (spec.name.endsWith('.D')) {
      dims = [1, shape[0]];
    } else if (spec.name.endsWith('mixer.norm.weight')) {
      dims = [config.mamba!.dInner / config.mamba!.nGroups, config.mamba!.nGroups];
    }
    const projection = spec.linear === true && !spec.name.endsWith('mixer.gate.weight');
    const wanted = quant === 'q4_k_m' ? mixedType(gguf, config.nTrunkLayers) : QUANT_TYPE[quant];
    const fits = (t: number) => dims[0] % GGML_SUPPORTED.get(t)!.blockValues === 0;
    // a row that does not fill a 256-value K-quant block takes llama.cpp's fallback (Q5_0, Q5_1, Q8_0)
    const fallback = K_FALLBACK[wanted];
    let type = !projection ? GGML_TYPE.F32 : fits(wanted) ? wanted : fallback !== undefined && fits(fallback) ? fallback : GGML_TYPE.F32;
    if (type === GGML_TYPE.NVFP4 && gguf === 'token_embd.weight') type = GGML_TYPE.F16; // llama.cpp keeps the embedding out of NVFP4
    const info = GGML_SUPPORTED.get(type)!;
    const byteLength = (dims.reduce((a, b) => a * b, 1) / info.blockValues) * info.blockBytes;
    let scale2s: number[] = [];
    const produce = async (write: (chunk: Uint8Array) => Promise<void>) => {
      scale2s = [];
      for (const s of sources) {
        memory.arena.reset();
        if (type === GGML_TYPE.NVFP4) scale2s.push(await streamNvfp4(tensors, s, memory, write));
        else await streamValues(tensors, s, type, transform, memory, write);
      }
    };
    out.push({ name: gguf, type, dims, byteLength, produce });
    if (type === GGML_TYPE.NVFP4) {
      // X.scale: weight_scale_2 per tensor ([1]) or per expert ([E]), written right after X.weight
      const n = sources.length;
      out.push({
        name: gguf.replace(/\.weight$/, '.scale'),
        type: GGML_TYPE.F32,
        dims: [n],
        byteLength: 4 * n,
        async produce(write) {
          if (scale2s.length !== n) await produce(async () => {});
          await write(new Uint8Array(Float32Array.from(scale2s).buffer));
        },
      });
    }
  }
  return { metadata, tensors: out.sort((a, b) => fileRank(a.name) - fileRank(b.name)) };
}

/** Tensor order inside a block, as llama.cpp's converter writes it. */
const BLOCK_ORDER = [
  'attn_norm', 'ssm_in', 'ssm_conv1d.weight', 'ssm_conv1d.bias', 'ssm_dt', 'ssm_a', 'ssm_d', 'ssm_norm', 'ssm_out',
  'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate_inp', 'exp_probs_b', 'ffn_latent_down', 'ffn_latent_up',
  'ffn_up_exps', 'ffn_down_exps', 'ffn_up_shexp', 'ffn_down_shexp', 'ffn_up', 'ffn_down',
];

/** Sort key: globals first (token_embd, output_norm, output), then block by block in BLOCK_ORDER. */
function fileRank(name: string): number {
  const m = /^blk\.(\d+)\.(.+)$/.exec(name);
  if (!m) return ['token_embd.', 'output_norm.', 'output.'].findIndex((p) => name.startsWith(p));
  const rest = m[2];
  const i = BLOCK_ORDER.findIndex((p) => rest === p || rest.startsWith(`${p}.`));
  return 3 + Number(m[1]) * BLOCK_ORDER.length + i;
}

/**
 * Write a planned export to `path`, one tensor at a time and each chunk by chunk as its producer
 * hands them over (memory: the header plus the producer's chunks). `onProgress` reports the
 * tensor bytes written so far after each tensor.
 * @example
 * await writeGgufFile('out.gguf', planGgufExport(ckpt, 'f32'), (done, total) => bar.update(done / total));
 */
export async function writeGgufFile(path: string, plan: GgufExportPlan, onProgress?: (writtenBytes: number, totalBytes: number) => void): Promise<void> {
  const { header, offsets, alignment } = encodeGgufHeader(plan.metadata, plan.tensors);
  const total = plan.tensors.reduce((n, t) => n + t.byteLength, 0);
  let written = 0;
  const fh = await open(path, 'w');
  try {
    await fh.write(header, 0, header.byteLength, 0);
    let end = header.byteLength;
    for (const [i, t] of plan.tensors.entries()) {
      const start = header.byteLength + offsets[i];
      let produced = 0;
      await t.produce(async (chunk) => {
        if (produced + chunk.byteLength > t.byteLength) throw new RangeError(`tensor ${t.name}: produced more than the planned ${t.byteLength} bytes`);
        for (let done = 0; done < chunk.byteLength; ) {
          const { bytesWritten } = await fh.write(chunk, done, chunk.byteLength - done, start + produced + done);
          done += bytesWritten;
        }
        produced += chunk.byteLength;
      });
      if (produced !== t.byteLength) throw new RangeError(`tensor ${t.name}: produced ${produced} bytes, planned ${t.byteLength}`);
      end = start + Math.ceil(produced / alignment) * alignment;
      written += produced;
      onProgress?.(written, total);
    }
    await fh.truncate(end);
  } finally {
    await fh.close();
  }
}
