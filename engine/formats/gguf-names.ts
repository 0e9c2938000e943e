// spec §13: a NemotronH GGUF (llama.cpp archs `nemotron_h`, `nemotron_h_moe`) seen as the
// Hugging Face checkpoint it came from: the config.json object rebuilt from the metadata, and
// every tensor under its canonical HF name (spec §12) with its HF shape.
//
// Layer pattern (spec §3) from the per-layer metadata arrays:
//   head_count_kv[ℓ] > 0 ⇒ '*';  else feed_forward_length[ℓ] > 0 ⇒ 'E' (nemotron_h_moe) / '-' (nemotron_h);  else 'M'.
// Layout: GGUF dims are innermost first, so an HF shape is the dims reversed. Then
//   ssm_a      [H, 1] holds −exp(A_log)  →  A_log [H] = ln(−a), computed in f64 and rounded once
//              to f32 (a = fl32(−exp(A)) has relative error ≤ 2^−24, so ln(−a) is within 2^−24 of A:
//              within 1 ulp of the original f32 A_log whenever |A_log| ≥ 0.5)
//   ssm_d      [H, 1] → D [H];   ssm_norm [G, dInner/G] → norm.weight [dInner]
//   ssm_conv1d [convDim, K] stays 2-D (the engine accepts [convDim, K] for [convDim, 1, K])
//   *_exps     [E, out, in] → E tensors experts.e.* [out, in] (views into the stacked tensor)
//   output     absent ⇒ tied embeddings
// Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K matrices keep their blocks, as engine dtypes of those names
// (engine/formats/ggml-blocks.ts), unless the store is opened with `blocks: 'dequant'`; other
// tensors of those types are dequantised to f32 when read (exact); F32, F16 and BF16 pass through; NVFP4 is repacked losslessly into the engine's `nvfp4` format (engine/formats/ggml-types.ts).

import { CorruptWeightsError, UnsupportedArchitectureError } from '../core/errors.js';
import { GGUF_VALUE, type GgufFile, type GgufScalar, type GgufTensorInfo } from './gguf.js';
import { GGML_TYPE, NVFP4_BLOCK_BYTES, dequantNvfp4, nvfp4Repackable, repackNvfp4 } from './ggml-types.js';
import { ggmlBlockOf } from './ggml-blocks.js';
import { DTYPE_BYTES, type DType, type TensorEntry, type WeightStore } from '../core/weights.js';

/** The llama.cpp architectures that are NemotronH models. */
export const GGUF_ARCHS = ['nemotron_h', 'nemotron_h_moe'] as const;

/** Global GGUF tensor name → HF name. */
const GLOBAL_NAMES: Readonly<Record<string, string>> = {
  'token_embd.weight': 'backbone.embeddings.weight',
  'output_norm.weight': 'backbone.norm_f.weight',
  'output.weight': 'lm_head.weight',
};

/** Per-layer GGUF suffix (after `blk.ℓ.`) → HF suffix (after `backbone.layers.ℓ.`). */
const LAYER_NAMES: Readonly<Record<string, string>> = {
  'attn_norm.weight': 'norm.weight',
  'ssm_in.weight': 'mixer.in_proj.weight',
  'ssm_conv1d.weight': 'mixer.conv1d.weight',
  'ssm_conv1d.bias': 'mixer.conv1d.bias',
  'ssm_dt.bias': 'mixer.dt_bias',
  ssm_a: 'mixer.A_log',
  ssm_d: 'mixer.D',
  'ssm_norm.weight': 'mixer.norm.weight',
  'ssm_out.weight': 'mixer.out_proj.weight',
  'attn_q.weight': 'mixer.q_proj.weight',
  'attn_k.weight': 'mixer.k_proj.weight',
  'attn_v.weight': 'mixer.v_proj.weight',
  'attn_output.weight': 'mixer.o_proj.weight',
  'ffn_gate_inp.weight': 'mixer.gate.weight',
  'exp_probs_b.bias': 'mixer.gate.e_score_correction_bias',
  'ffn_up_exps.weight': 'mixer.experts.{e}.up_proj.weight',
  'ffn_down_exps.weight': 'mixer.experts.{e}.down_proj.weight',
  'ffn_up_shexp.weight': 'mixer.shared_experts.up_proj.weight',
  'ffn_down_shexp.weight': 'mixer.shared_experts.down_proj.weight',
  'ffn_latent_down.weight': 'mixer.fc1_latent_proj.weight',
  'ffn_latent_up.weight': 'mixer.fc2_latent_proj.weight',
  'ffn_up.weight': 'mixer.up_proj.weight',
  'ffn_down.weight': 'mixer.down_proj.weight',
};

/**
 * HF name of a GGUF tensor (`{e}` stands for the expert index of stacked experts), or undefined
 * for a name outside the NemotronH set.
 * @example hfTensorName('blk.3.attn_q.weight') // 'backbone.layers.3.mixer.q_proj.weight'
 */
export function hfTensorName(ggufName: string): string | undefined {
  if (GLOBAL_NAMES[ggufName]) return GLOBAL_NAMES[ggufName];
  const m = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  const suffix = m && LAYER_NAMES[m[2]];
  return suffix ? `backbone.layers.${m[1]}.${suffix}` : undefined;
}

/**
 * GGUF name of an HF tensor (the inverse of `hfTensorName`; experts map to their stacked tensor).
 * @example ggufTensorName('backbone.layers.1.mixer.experts.5.up_proj.weight') // 'blk.1.ffn_up_exps.weight'
 */
export function ggufTensorName(hfName: string): string | undefined {
  const global = Object.entries(GLOBAL_NAMES).find(([, hf]) => hf === hfName);
  if (global) return global[0];
  const m = /^backbone\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (!m) return undefined;
  const suffix = m[2].replace(/^mixer\.experts\.\d+\./, 'mixer.experts.{e}.');
  const hit = Object.entries(LAYER_NAMES).find(([, hf]) => hf === suffix);
  return hit ? `blk.${m[1]}.${hit[0]}` : undefined;
}

type Json = Record<string, unknown>;

/** Typed reads of a GGUF's metadata; a wrong or missing value is a `CorruptWeightsError` naming the key. */
class Meta {
  constructor(private readonly gguf: GgufFile) {}

  private fail(key: string, detail: string): never {
    throw new CorruptWeightsError(this.gguf.source.name, `metadata ${key}: ${detail}`);
  }

  has(key: string): boolean {
    return this.gguf.metadata.has(key);
  }

  raw(key: string): GgufScalar | GgufScalar[] | undefined {
    return this.gguf.metadata.get(key)?.value;
  }

  string(key: string): string {
    const v = this.raw(key);
    if (typeof v !== 'string') this.fail(key, v === undefined ? 'is required but missing' : `must be a string, got ${String(v)}`);
    return v;
  }

  /** A number (integer or float); `fallback` when absent. */
  number(key: string, fallback?: number): number {
    const v = this.raw(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number') this.fail(key, v === undefined ? 'is required but missing' : `must be a number, got ${String(v)}`);
    return v;
  }

  int(key: string, fallback?: number): number {
    const v = this.number(key, fallback);
    if (!Number.isInteger(v) || v < 0) this.fail(key, `must be a non-negative integer, got ${v}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${String(v)}`);
    return v;
  }

  /** A per-layer integer array of length `n` (a scalar applies to every layer). */
  perLayer(key: string, n: number): number[] {
    const v = this.raw(key);
    if (typeof v === 'number') return new Array<number>(n).fill(this.int(key));
    if (!Array.isArray(v)) this.fail(key, v === undefined ? 'is required but missing' : 'must be a per-layer integer array');
    if (v.length !== n) this.fail(key, `has ${v.length} entries for ${n} layers`);
    return v.map((x, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) this.fail(key, `entry ${i} must be a non-negative integer, got ${String(x)}`);
      return x;
    });
  }

  strings(key: string): string[] | undefined {
    const kv = this.gguf.metadata.get(key);
    if (kv === undefined) return undefined;
    if (kv.type !== GGUF_VALUE.ARRAY || kv.itemType !== GGUF_VALUE.STRING) this.fail(key, 'must be an array of strings');
    return kv.value as string[];
  }
}

/** The file's architecture, checked to be a NemotronH one. */
export function ggufArchitecture(gguf: GgufFile): (typeof GGUF_ARCHS)[number] {
  const arch = new Meta(gguf).string('general.architecture');
  if (!(GGUF_ARCHS as readonly string[]).includes(arch)) throw new UnsupportedArchitectureError(gguf.source.name, arch, GGUF_ARCHS);
  return arch as (typeof GGUF_ARCHS)[number];
}

/**
 * The HF config.json object (spec §2) a NemotronH GGUF's metadata describes; `parseConfig`
 * (engine/core/config.ts) takes it as it takes an HF checkpoint's. MTP blocks (`nextn_predict_layers`)
 * are left out: only the trunk is mapped.
 * @example
 * const config = parseConfig(ggufConfigJson(gguf));
 */
export function ggufConfigJson(gguf: GgufFile): Json {
  const arch = ggufArchitecture(gguf);
  const meta = new Meta(gguf);
  const k = (key: string) => `${arch}.${key}`;
  const nLayers = meta.int(k('block_count')) - meta.int(k('nextn_predict_layers'), 0);
  const kv = meta.perLayer(k('attention.head_count_kv'), meta.int(k('block_count'))).slice(0, nLayers);
  const ff = meta.perLayer(k('feed_forward_length'), meta.int(k('block_count'))).slice(0, nLayers);
  const pattern = kv.map((h, i) => (h > 0 ? '*' : ff[i] > 0 ? (arch === 'nemotron_h_moe' ? 'E' : '-') : 'M')).join('');
  const tokens = meta.strings('tokenizer.ggml.tokens');
  const embd = gguf.tensorsByName.get('token_embd.weight');
  const d = meta.int(k('embedding_length'));
  const cfg: Json = {
    architectures: ['NemotronHForCausalLM'],
    model_type: 'nemotron_h',
    vocab_size: tokens?.length ?? meta.int(k('vocab_size'), embd?.dims[1]),
    hidden_size: d,
    num_hidden_layers: nLayers,
    hybrid_override_pattern: pattern,
    layer_norm_epsilon: meta.number(k('attention.layer_norm_rms_epsilon'), 1e-5),
    tie_word_embeddings: !gguf.tensorsByName.has('output.weight'),
    max_position_embeddings: meta.int(k('context_length'), 262144),
    mlp_hidden_act: 'relu2',
    mamba_hidden_act: 'silu',
  };
  for (const [hf, key] of [
    ['bos_token_id', 'tokenizer.ggml.bos_token_id'],
    ['eos_token_id', 'tokenizer.ggml.eos_token_id'],
    ['pad_token_id', 'tokenizer.ggml.padding_token_id'],
  ] as const) {
    if (meta.has(key)) cfg[hf] = meta.int(key);
  }
  if (pattern.includes('M')) {
    const nHeads = meta.int(k('ssm.time_step_rank'));
    const inner = meta.int(k('ssm.inner_size'));
    if (nHeads === 0 || inner % nHeads !== 0) {
      throw new CorruptWeightsError(gguf.source.name, `metadata ${k('ssm.inner_size')} ${inner} is not a multiple of ${k('ssm.time_step_rank')} ${nHeads}`);
    }
    const firstM = pattern.indexOf('M');
    Object.assign(cfg, {
      mamba_num_heads: nHeads,
      mamba_head_dim: inner / nHeads,
      ssm_state_size: meta.int(k('ssm.state_size')),
      n_groups: meta.int(k('ssm.group_count'), 1),
      conv_kernel: meta.int(k('ssm.conv_kernel')),
      use_conv_bias: gguf.tensorsByName.has(`blk.${firstM}.ssm_conv1d.bias`),
    });
  }
  if (pattern.includes('*')) {
    const nHeads = Math.max(...meta.perLayer(k('attention.head_count'), meta.int(k('block_count'))));
    Object.assign(cfg, {
      num_attention_heads: nHeads,
      num_key_value_heads: Math.max(...kv),
      head_dim: meta.int(k('attention.key_length'), nHeads > 0 ? d / nHeads : undefined),
    });
  }
  if (pattern.includes('E')) {
    Object.assign(cfg, {
      n_routed_experts: meta.int(k('expert_count')),
      num_experts_per_tok: meta.int(k('expert_used_count')),
      moe_intermediate_size: meta.int(k('expert_feed_forward_length'), Math.max(...ff)),
      moe_shared_expert_intermediate_size: meta.int(k('expert_shared_feed_forward_length')),
      n_shared_experts: meta.int(k('expert_shared_count'), 1),
      routed_scaling_factor: meta.number(k('expert_weights_scale'), 1),
      norm_topk_prob: meta.bool(k('expert_weights_norm'), true),
      n_group: meta.int(k('expert_group_count'), 1),
      topk_group: meta.int(k('expert_group_used_count'), 1),
    });
    if (meta.int(k('moe_latent_size'), 0) > 0) cfg.moe_latent_size = meta.int(k('moe_latent_size'));
  }
  if (pattern.includes('-')) cfg.intermediate_size = Math.max(...ff);
  return cfg;
}

/** How a GGUF tensor's raw bytes become its HF tensor's bytes (`dst` has the HF byte length). */
type Produce = (raw: Uint8Array, dst: Uint8Array) => void;

/** f32 raw bytes as floats (copied when the raw buffer is not 4-byte aligned). */
function f32Of(raw: Uint8Array): Float32Array {
  return raw.byteOffset % 4 === 0 ? new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) : new Float32Array(raw.slice().buffer);
}

/** A `Produce` that writes f32 values through `decode(raw, values, nValues)`. */
function toF32(decode: (raw: Uint8Array, dst: Float32Array, nValues: number) => void): Produce {
  return (raw, dst) => {
    const n = dst.byteLength / 4;
    const out = dst.byteOffset % 4 === 0 ? new Float32Array(dst.buffer, dst.byteOffset, n) : new Float32Array(n);
    decode(raw, out, n);
    if (out.buffer !== dst.buffer) dst.set(new Uint8Array(out.buffer));
  };
}

/**
 * A TensorEntry over bytes [offset, offset + rawBytes) of the file: the bytes themselves, or
 * what `produce` makes of them. Synchronous reads are offered when the source has them.
 */
function fileEntry(gguf: GgufFile, name: string, shape: number[], dtype: DType, offset: number, rawBytes: number, produce?: Produce): TensorEntry {
  const src = gguf.source;
  const byteLength = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  const check = (dst: Uint8Array) => {
    if (dst.byteLength !== byteLength) throw new RangeError(`tensor ${name}: destination has ${dst.byteLength} bytes, tensor has ${byteLength}`);
  };
  const readSync = src.readIntoSync?.bind(src);
  return {
    name,
    dtype,
    shape,
    byteLength,
    async readInto(dst: Uint8Array): Promise<void> {
      check(dst);
      if (!produce) return src.readInto(dst, offset);
      const raw = new Uint8Array(rawBytes);
      await src.readInto(raw, offset);
      produce(raw, dst);
    },
    ...(readSync && {
      readIntoSync(dst: Uint8Array): void {
        check(dst);
        if (!produce) return readSync(dst, offset);
        const raw = new Uint8Array(rawBytes);
        readSync(raw, offset);
        produce(raw, dst);
      },
    }),
  } as TensorEntry;
}

/** An f32 [1] tensor held in memory (an NVFP4 tensor's weight_scale_2). */
function scalarEntry(name: string, value: number): TensorEntry {
  const bytes = new Uint8Array(Float32Array.of(value).buffer);
  const fill = (dst: Uint8Array) => dst.set(bytes);
  return { name, dtype: 'f32', shape: [1], byteLength: 4, readInto: async (dst) => fill(dst), readIntoSync: fill } as TensorEntry;
}

const PASS_THROUGH: Readonly<Record<number, DType>> = { [GGML_TYPE.F32]: 'f32', [GGML_TYPE.F16]: 'f16', [GGML_TYPE.BF16]: 'bf16' };

/** How NVFP4 tensors are exposed: repacked into the engine's `nvfp4` triplet, or dequantised to f32. */
export type Nvfp4Mode = 'repack' | 'dequant';

export interface GgufStoreOptions {
  /** Default 'repack' (lossless; a tensor that cannot be repacked exactly is dequantised instead). */
  readonly nvfp4?: Nvfp4Mode;
  /** Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K matrices: kept as their blocks ('keep', the default; engine/formats/ggml-blocks.ts) or dequantised to f32. */
  readonly blocks?: 'keep' | 'dequant';
}

/** One NVFP4 tensor's per-tensor (or per-expert) scales from `X.scale`, and whether it repacks exactly. */
interface Nvfp4Info {
  readonly scales: Float32Array;
  readonly repack: boolean;
}

/** Blocks read at a time when scanning NVFP4 scale bytes at open. */
const SCAN_BLOCKS = 1 << 16;

/**
 * For every NVFP4 tensor: read its f32 `X.scale` companion ([1] or [E]; 1 when absent) and, in
 * repack mode, scan its block scales (chunked reads, bounded memory) for bytes with no exact
 * E4M3 twin.
 */
async function nvfp4Infos(gguf: GgufFile, mode: Nvfp4Mode): Promise<Map<string, Nvfp4Info>> {
  const infos = new Map<string, Nvfp4Info>();
  for (const t of gguf.tensors) {
    if (t.type.id !== GGML_TYPE.NVFP4) continue;
    const name = t.name.replace(/\.weight$/, '.scale');
    const s = gguf.tensorsByName.get(name);
    let scales: Float32Array = Float32Array.of(1);
    if (s) {
      if (s.type.id !== GGML_TYPE.F32) throw new CorruptWeightsError(gguf.source.name, `tensor ${name} must be F32, got ${s.type.name}`);
      const raw = new Uint8Array(s.byteLength);
      await gguf.source.readInto(raw, s.offset);
      scales = f32Of(raw);
    }
    let repack = mode === 'repack';
    const chunk = new Uint8Array(Math.min(t.byteLength, SCAN_BLOCKS * NVFP4_BLOCK_BYTES));
    for (let at = 0; repack && at < t.byteLength; at += chunk.byteLength) {
      const part = chunk.subarray(0, Math.min(chunk.byteLength, t.byteLength - at));
      await gguf.source.readInto(part, t.offset + at);
      repack = nvfp4Repackable(part);
    }
    infos.set(t.name, { scales, repack });
  }
  return infos;
}

/**
 * The entries of one GGUF tensor stored at [offset, offset + rawBytes) with HF name `hf` and
 * shape `shape`; `scale` is its NVFP4 per-tensor scale.
 */
function entriesAt(gguf: GgufFile, t: GgufTensorInfo, hf: string, shape: number[], offset: number, rawBytes: number, keepBlocks: boolean, nvfp4?: { scale: number; repack: boolean }): TensorEntry[] {
  const nValues = shape.reduce((a, b) => a * b, 1);
  switch (t.type.id) {
    case GGML_TYPE.Q8_0:
    case GGML_TYPE.Q4_0:
    case GGML_TYPE.Q4_1:
    case GGML_TYPE.Q5_0:
    case GGML_TYPE.Q5_1:
    case GGML_TYPE.Q4_K:
    case GGML_TYPE.Q5_K:
    case GGML_TYPE.Q6_K: {
      const block = ggmlBlockOf(t.type.id)!;
      // a matrix keeps its blocks (a linear weight the backends multiply as stored); anything else is f32
      if (keepBlocks && shape.length === 2 && !hf.endsWith('conv1d.weight')) return [fileEntry(gguf, hf, shape, block.dtype, offset, rawBytes)];
      return [fileEntry(gguf, hf, shape, 'f32', offset, rawBytes, toF32(block.dequant))];
    }
    case GGML_TYPE.NVFP4: {
      const { scale, repack } = nvfp4!;
      if (!repack || shape.length !== 2) return [fileEntry(gguf, hf, shape, 'f32', offset, rawBytes, toF32((raw, dst, n) => dequantNvfp4(raw, dst, n, scale)))];
      const [rows, cols] = shape;
      const base = hf.replace(/\.weight$/, '');
      const codes = (raw: Uint8Array, dst: Uint8Array) => repackNvfp4(raw, dst, new Uint8Array(nValues / 16), nValues);
      const scales = (raw: Uint8Array, dst: Uint8Array) => repackNvfp4(raw, new Uint8Array(nValues / 2), dst, nValues);
      return [
        fileEntry(gguf, hf, [rows, cols / 2], 'u8', offset, rawBytes, codes),
        fileEntry(gguf, `${base}.weight_scale`, [rows, cols / 16], 'f8_e4m3', offset, rawBytes, scales),
        scalarEntry(`${base}.weight_scale_2`, scale),
      ];
    }
    default:
      return [fileEntry(gguf, hf, shape, PASS_THROUGH[t.type.id], offset, rawBytes)];
  }
}

/** The entries (one, or one per expert) of one GGUF tensor under HF names. */
function entriesOf(gguf: GgufFile, t: GgufTensorInfo, hf: string, nvfp4: Map<string, Nvfp4Info>, keepBlocks: boolean): TensorEntry[] {
  const file = gguf.source.name;
  const shape = [...t.dims].reverse();
  if (hf.endsWith('.A_log')) {
    if (t.type.id !== GGML_TYPE.F32) throw new CorruptWeightsError(file, `tensor ${t.name} must be F32, got ${t.type.name}`);
    const aLog = toF32((raw, dst, n) => {
      const a = f32Of(raw);
      for (let i = 0; i < n; i++) dst[i] = Math.log(-a[i]); // A_log = ln(−a) in f64, rounded once to f32
    });
    return [fileEntry(gguf, hf, [t.nValues], 'f32', t.offset, t.byteLength, aLog)];
  }
  const info = nvfp4.get(t.name);
  if (!hf.includes('{e}')) {
    const flat = hf.endsWith('.D') || hf.endsWith('mixer.norm.weight'); // [H, 1] and [G, dInner/G] are vectors
    return entriesAt(gguf, t, hf, flat ? [t.nValues] : shape, t.offset, t.byteLength, keepBlocks, info && { scale: info.scales[0], repack: info.repack });
  }
  if (shape.length !== 3) throw new CorruptWeightsError(file, `tensor ${t.name} must be 3-D [experts, out, in], got [${shape.join(', ')}]`);
  const [nExperts, ...perExpert] = shape;
  if (info && info.scales.length !== 1 && info.scales.length !== nExperts) {
    throw new CorruptWeightsError(file, `tensor ${t.name.replace(/\.weight$/, '.scale')} has ${info.scales.length} values for ${nExperts} experts`);
  }
  const bytesEach = t.byteLength / nExperts;
  return Array.from({ length: nExperts }, (_, e) =>
    entriesAt(gguf, t, hf.replace('{e}', String(e)), perExpert, t.offset + e * bytesEach, bytesEach, keepBlocks, info && {
      scale: info.scales[info.scales.length === 1 ? 0 : e],
      repack: info.repack,
    }),
  ).flat();
}

/**
 * The GGUF's tensors as a lazy `WeightStore` under HF names (spec §12). NVFP4 tensors become
 * the engine's `nvfp4` triplet (`X.weight` codes, `X.weight_scale`, `X.weight_scale_2` from the
 * `X.scale` companion) or, with `nvfp4: 'dequant'`, f32. GGUF tensors outside the NemotronH
 * name set are left out. Opening reads the `X.scale` tensors and, to check that the repack is
 * exact, the NVFP4 tensors' bytes once (in bounded chunks).
 * @example
 * const store = await ggufWeightStore(gguf);
 * store.get('backbone.layers.0.mixer.A_log')!.shape; // [H]
 */
export async function ggufWeightStore(gguf: GgufFile, options: GgufStoreOptions = {}): Promise<WeightStore> {
  const nvfp4 = await nvfp4Infos(gguf, options.nvfp4 ?? 'repack');
  const entries = new Map<string, TensorEntry>();
  for (const t of gguf.tensors) {
    const hf = hfTensorName(t.name);
    if (!hf) continue;
    for (const e of entriesOf(gguf, t, hf, nvfp4, options.blocks !== 'dequant')) entries.set(e.name, e);
  }
  return {
    source: gguf.source.name,
    get: (name) => entries.get(name),
    names: () => [...entries.keys()],
    close: () => gguf.source.close(),
  };
}
