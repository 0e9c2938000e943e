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
// Q8_0, Q4_0 (and NVFP4, until the engine reads it) are dequantised to f32 when read; F32, F16
// and BF16 pass through as they are.

import { CorruptWeightsError, UnsupportedArchitectureError } from './errors.js';
import { GGUF_VALUE, type GgufFile, type GgufScalar, type GgufTensorInfo } from './gguf.js';
import { GGML_TYPE, dequantNvfp4, dequantQ4_0, dequantQ8_0 } from './ggml-types.js';
import type { DType, TensorEntry, WeightStore } from './weights.js';

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
 * (engine/config.ts) takes it as it takes an HF checkpoint's. MTP blocks (`nextn_predict_layers`)
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

/** How a GGUF tensor's raw blocks become the f32 values of its HF tensor. */
type Decode = (raw: Uint8Array, dst: Float32Array, nValues: number) => void;

/** f32 raw bytes as floats (copied when the raw buffer is not 4-byte aligned). */
function f32Of(raw: Uint8Array): Float32Array {
  return raw.byteOffset % 4 === 0 ? new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) : new Float32Array(raw.slice().buffer);
}

/** A TensorEntry over bytes [offset, offset + rawBytes) of the file, optionally decoded to f32. */
function fileEntry(gguf: GgufFile, name: string, shape: number[], dtype: DType, offset: number, rawBytes: number, decode?: Decode): TensorEntry {
  const src = gguf.source;
  const nValues = shape.reduce((a, b) => a * b, 1);
  const byteLength = decode ? nValues * 4 : rawBytes;
  const check = (dst: Uint8Array) => {
    if (dst.byteLength !== byteLength) throw new RangeError(`tensor ${name}: destination has ${dst.byteLength} bytes, tensor has ${byteLength}`);
  };
  const finish = (raw: Uint8Array, dst: Uint8Array) => {
    const out = dst.byteOffset % 4 === 0 ? new Float32Array(dst.buffer, dst.byteOffset, nValues) : new Float32Array(nValues);
    decode!(raw, out, nValues);
    if (out.buffer !== dst.buffer) dst.set(new Uint8Array(out.buffer));
  };
  const readSync = src.readIntoSync?.bind(src);
  return {
    name,
    dtype,
    shape,
    byteLength,
    async readInto(dst: Uint8Array): Promise<void> {
      check(dst);
      if (!decode) return src.readInto(dst, offset);
      const raw = new Uint8Array(rawBytes);
      await src.readInto(raw, offset);
      finish(raw, dst);
    },
    ...(readSync && {
      readIntoSync(dst: Uint8Array): void {
        check(dst);
        if (!decode) return readSync(dst, offset);
        const raw = new Uint8Array(rawBytes);
        readSync(raw, offset);
        finish(raw, dst);
      },
    }),
  } as TensorEntry;
}

const PASS_THROUGH: Readonly<Record<number, DType>> = { [GGML_TYPE.F32]: 'f32', [GGML_TYPE.F16]: 'f16', [GGML_TYPE.BF16]: 'bf16' };

/** Read the f32 `X.scale` tensors of NVFP4 tensors up front (each is [1] or [E] floats). */
async function readScales(gguf: GgufFile): Promise<Map<string, Float32Array>> {
  const scales = new Map<string, Float32Array>();
  for (const t of gguf.tensors) {
    if (t.type.id !== GGML_TYPE.NVFP4) continue;
    const name = t.name.replace(/\.weight$/, '.scale');
    const s = gguf.tensorsByName.get(name);
    if (!s) continue;
    if (s.type.id !== GGML_TYPE.F32) throw new CorruptWeightsError(gguf.source.name, `tensor ${name} must be F32, got ${s.type.name}`);
    const raw = new Uint8Array(s.byteLength);
    await gguf.source.readInto(raw, s.offset);
    scales.set(t.name, f32Of(raw));
  }
  return scales;
}

/** The entries (one, or one per expert) of one GGUF tensor under HF names. */
function entriesOf(gguf: GgufFile, t: GgufTensorInfo, hf: string, scales: Map<string, Float32Array>): TensorEntry[] {
  const file = gguf.source.name;
  let shape = [...t.dims].reverse();
  let decode: Decode | undefined;
  const pass = PASS_THROUGH[t.type.id];
  if (t.type.id === GGML_TYPE.Q8_0) decode = dequantQ8_0;
  else if (t.type.id === GGML_TYPE.Q4_0) decode = dequantQ4_0;
  if (hf.endsWith('.A_log') || hf.endsWith('.D') || hf.endsWith('mixer.norm.weight')) {
    shape = [t.nValues]; // [H, 1] and [G, dInner/G] flatten to vectors
  }
  if (hf.endsWith('.A_log')) {
    if (t.type.id !== GGML_TYPE.F32) throw new CorruptWeightsError(file, `tensor ${t.name} must be F32, got ${t.type.name}`);
    decode = (raw, dst, n) => {
      const a = f32Of(raw);
      for (let i = 0; i < n; i++) dst[i] = Math.log(-a[i]); // A_log = ln(−a), rounded once to f32
    };
  }
  if (!hf.includes('{e}')) {
    if (t.type.id === GGML_TYPE.NVFP4) {
      const s = scales.get(t.name)?.[0] ?? 1;
      decode = (raw, dst, n) => dequantNvfp4(raw, dst, n, s);
    }
    return [fileEntry(gguf, hf, shape, decode ? 'f32' : pass, t.offset, t.byteLength, decode)];
  }
  if (shape.length !== 3) throw new CorruptWeightsError(file, `tensor ${t.name} must be 3-D [experts, out, in], got [${shape.join(', ')}]`);
  const [nExperts, ...perExpert] = shape;
  const bytesEach = t.byteLength / nExperts;
  const expertScales = scales.get(t.name);
  return Array.from({ length: nExperts }, (_, e) => {
    let d = decode;
    if (t.type.id === GGML_TYPE.NVFP4) {
      const s = expertScales ? expertScales[expertScales.length === 1 ? 0 : e] : 1;
      d = (raw, dst, n) => dequantNvfp4(raw, dst, n, s);
    }
    return fileEntry(gguf, hf.replace('{e}', String(e)), perExpert, d ? 'f32' : pass, t.offset + e * bytesEach, bytesEach, d);
  });
}

/**
 * The GGUF's tensors as a lazy `WeightStore` under HF names (spec §12). NVFP4 `X.scale`
 * companions are folded into their tensors; GGUF tensors outside the NemotronH name set are
 * left out. Only the small `X.scale` tensors are read here.
 * @example
 * const store = await ggufWeightStore(gguf);
 * store.get('backbone.layers.0.mixer.A_log')!.shape; // [H]
 */
export async function ggufWeightStore(gguf: GgufFile): Promise<WeightStore> {
  const scales = await readScales(gguf);
  const entries = new Map<string, TensorEntry>();
  for (const t of gguf.tensors) {
    const hf = hfTensorName(t.name);
    if (!hf) continue;
    for (const e of entriesOf(gguf, t, hf, scales)) entries.set(e.name, e);
  }
  return {
    source: gguf.source.name,
    get: (name) => entries.get(name),
    names: () => [...entries.keys()],
    close: () => gguf.source.close(),
  };
}
