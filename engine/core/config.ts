// spec §2–3: the Hugging Face NemotronH config.json, parsed once into the symbols the
// kernels use. Layer kinds are decided here and nowhere else (house style H3).
//
// | spec symbol | field            | HF key (legacy spelling)                     |
// |-------------|------------------|----------------------------------------------|
// | d           | dModel           | hidden_size                                  |
// | V           | vocabSize        | vocab_size                                   |
// | H_m         | mamba.nHeads     | mamba_num_heads                              |
// | P           | mamba.headDim    | mamba_head_dim                               |
// | G           | mamba.nGroups    | n_groups (mamba_n_groups)                    |
// | N           | mamba.dState     | ssm_state_size                               |
// | conv width  | mamba.convKernel | conv_kernel (mamba_d_conv)                   |
// | Q           | mamba.chunkSize  | chunk_size (mamba_chunk_size)                |
// | n_q, n_kv   | attn.nHeads/nKvHeads | num_attention_heads, num_key_value_heads |
// | hd          | attn.headDim     | head_dim (default d / n_q)                   |
// | E, K        | moe.nExperts/topK| n_routed_experts, num_experts_per_tok        |
// | I, S        | moe.expertDim/sharedDim | moe_intermediate_size, moe_shared_expert_intermediate_size |
// | ℓ           | moe.latentDim    | moe_latent_size (LatentMoE, Super)           |
// | I_mlp       | mlpDim           | intermediate_size (dense '-' layers)         |

import { ConfigError } from './errors.js';

/** One character of `hybrid_override_pattern` (spec §3). */
export type LayerKind = 'M' | '*' | 'E' | '-';

export const LAYER_KINDS: readonly LayerKind[] = ['M', '*', 'E', '-'];

/** `layers_block_type` spellings (newer transformers) mapped to pattern characters. */
const BLOCK_TYPE_TO_KIND: Record<string, LayerKind> = {
  mamba: 'M',
  linear_attention: 'M',
  attention: '*',
  full_attention: '*',
  moe: 'E',
  mlp: '-',
};

/** A layer of the graph: its kind and where its tensors live. */
export interface LayerSpec {
  /** Index into `ModelConfig.layers` (trunk layers first, then MTP sub-layers). */
  readonly il: number;
  readonly kind: LayerKind;
  /** Tensor name prefix, e.g. `backbone.layers.3.` or `mtp.layers.0.`. */
  readonly prefix: string;
}

export interface MambaConfig {
  readonly nHeads: number; // H_m
  readonly headDim: number; // P
  readonly nGroups: number; // G
  readonly dState: number; // N
  readonly convKernel: number; // conv width (4)
  readonly chunkSize: number; // Q, SSD chunk length (math-neutral)
  readonly useConvBias: boolean;
  readonly dInner: number; // H_m·P (never expand·d, spec §19.1)
  readonly convDim: number; // dInner + 2·G·N
  readonly inProjDim: number; // 2·dInner + 2·G·N + H_m (z | x | B | C | dt)
  /** time_step_limit [lo, hi] as parsed (default [0, ∞]); never applied: spec §6.4 chooses no Δ clamp. */
  readonly timeStepLimit: readonly [number, number];
}

export interface AttentionConfig {
  readonly nHeads: number; // n_q
  readonly nKvHeads: number; // n_kv
  readonly headDim: number; // hd
}

export interface MoeConfig {
  readonly nExperts: number; // E
  readonly topK: number; // K
  readonly expertDim: number; // I
  readonly sharedDim: number; // S (width of the one shared expert × n_shared_experts)
  readonly routedScale: number; // routed_scaling_factor
  readonly normTopK: boolean; // norm_topk_prob
  readonly nGroup: number; // n_group (group-limited routing; 1 = off)
  readonly topkGroup: number; // topk_group
  readonly latentDim: number | null; // ℓ for LatentMoE, else null
}

export interface MtpConfig {
  readonly nPredict: number; // num_nextn_predict_layers
  readonly kinds: readonly LayerKind[]; // mtp_hybrid_override_pattern, e.g. "*E"
}

export interface ModelConfig {
  readonly vocabSize: number;
  readonly dModel: number;
  readonly normEps: number;
  readonly tieEmbeddings: boolean;
  /** Trunk layer kinds, one per layer (spec §3). */
  readonly layerKinds: readonly LayerKind[];
  /** Trunk layers followed by MTP sub-layers (MTP layers are not run by the trunk graph). */
  readonly layers: readonly LayerSpec[];
  readonly nTrunkLayers: number;
  readonly mamba: MambaConfig | null;
  readonly attention: AttentionConfig | null;
  readonly moe: MoeConfig | null;
  readonly mlpDim: number | null;
  readonly mtp: MtpConfig | null;
  readonly bosTokenId: number | null;
  /** Stop ids: config's eos ids plus `<|im_end|>` where the tokenizer has it (spec §10). */
  readonly eosTokenIds: readonly number[];
  readonly maxPositionEmbeddings: number;
  /** The config.json object as parsed, for `inspect` and re-export. */
  readonly raw: Readonly<Record<string, unknown>>;
}

type Json = Record<string, unknown>;

function pick(raw: Json, keys: readonly string[]): [string, unknown] | undefined {
  for (const k of keys) if (raw[k] !== undefined && raw[k] !== null) return [k, raw[k]];
  return undefined;
}

function int(raw: Json, keys: readonly string[], fallback?: number): number {
  const hit = pick(raw, keys);
  if (!hit) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(keys[0], 'is required but missing');
  }
  const [k, v] = hit;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ConfigError(k, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function num(raw: Json, keys: readonly string[], fallback: number): number {
  const hit = pick(raw, keys);
  if (!hit) return fallback;
  const [k, v] = hit;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(k, `must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(raw: Json, key: string, fallback: boolean): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(key, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function parseKinds(raw: Json, patternKey: string, listKey: string): LayerKind[] | undefined {
  const pattern = raw[patternKey];
  const list = raw[listKey];
  let kinds: LayerKind[] | undefined;
  if (pattern !== undefined && pattern !== null) {
    if (typeof pattern !== 'string') throw new ConfigError(patternKey, 'must be a string of M, *, E, -');
    kinds = [...pattern].map((ch, i) => {
      if (!(LAYER_KINDS as readonly string[]).includes(ch)) {
        throw new ConfigError(patternKey, `character ${JSON.stringify(ch)} at layer ${i} is not one of M, *, E, -`);
      }
      return ch as LayerKind;
    });
  }
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list)) throw new ConfigError(listKey, 'must be a list of block type names');
    const fromList = list.map((t, i) => {
      const kind = typeof t === 'string' ? BLOCK_TYPE_TO_KIND[t] : undefined;
      if (!kind) {
        throw new ConfigError(listKey, `entry ${i} ${JSON.stringify(t)} is not one of ${Object.keys(BLOCK_TYPE_TO_KIND).join(', ')}`);
      }
      return kind;
    });
    if (kinds && kinds.join('') !== fromList.join('')) {
      throw new ConfigError(listKey, `disagrees with ${patternKey} (${fromList.join('')} vs ${kinds.join('')})`);
    }
    kinds = fromList;
  }
  return kinds;
}

/**
 * time_step_limit (spec §2, §6.4): absent → (0, ∞). HF writes the default as `[0.0, Infinity]`,
 * read by parseConfigJson. Any well-formed 0 ≤ lo ≤ hi pair is accepted; the kernels never clamp
 * Δ (the CUDA kernel path with (0, ∞), vLLM and llama.cpp do not), so the pair is only reported.
 */
function timeStepLimit(raw: Json): [number, number] {
  const v = raw.time_step_limit;
  if (v === undefined || v === null) return [0, Infinity];
  const ok = Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && !Number.isNaN(x)) && v[0] >= 0 && v[0] <= v[1];
  if (!ok) throw new ConfigError('time_step_limit', `must be [lo, hi] with 0 ≤ lo ≤ hi (hi may be Infinity), got ${Array.isArray(v) ? `[${v.join(', ')}]` : JSON.stringify(v)}`);
  return [v[0], v[1]];
}

function requireFalse(raw: Json, key: string): void {
  if (raw[key] === true) throw new ConfigError(key, 'true is not supported: Nemotron-H has no such biases');
}

/**
 * Parse a NemotronH `config.json` object (spec §2). Throws `ConfigError` naming the key on
 * any missing, mistyped or inconsistent value.
 * @example
 * const config = parseConfig(parseConfigJson(readFileSync('config.json', 'utf8'), 'config.json'));
 * config.layerKinds; // ['M', 'E', 'M', '*', ...]
 */
export function parseConfig(raw: unknown, extraEosIds: readonly number[] = []): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('(root)', 'config.json must be a JSON object');
  }
  const cfg = raw as Json;
  if (cfg.model_type !== undefined && cfg.model_type !== 'nemotron_h') {
    throw new ConfigError('model_type', `${JSON.stringify(cfg.model_type)} is not supported; expected "nemotron_h"`);
  }
  const vocabSize = int(cfg, ['vocab_size']);
  const dModel = int(cfg, ['hidden_size']);
  const layerKinds = parseKinds(cfg, 'hybrid_override_pattern', 'layers_block_type');
  if (!layerKinds || layerKinds.length === 0) {
    throw new ConfigError('hybrid_override_pattern', 'is required (or layers_block_type) and must not be empty');
  }
  if (cfg.num_hidden_layers !== undefined && cfg.num_hidden_layers !== layerKinds.length) {
    throw new ConfigError(
      'num_hidden_layers',
      `is ${JSON.stringify(cfg.num_hidden_layers)} but the layer pattern has ${layerKinds.length} layers`,
    );
  }
  for (const key of ['attention_bias', 'mlp_bias', 'mamba_proj_bias', 'use_bias']) requireFalse(cfg, key);
  const mlpAct = cfg.mlp_hidden_act;
  if (mlpAct !== undefined && mlpAct !== 'relu2') {
    throw new ConfigError('mlp_hidden_act', `${JSON.stringify(mlpAct)} is not supported; expected "relu2"`);
  }
  const mambaAct = cfg.mamba_hidden_act;
  if (mambaAct !== undefined && mambaAct !== 'silu') {
    throw new ConfigError('mamba_hidden_act', `${JSON.stringify(mambaAct)} is not supported; expected "silu"`);
  }

  const mtpPredict = pick(cfg, ['num_nextn_predict_layers']) ? int(cfg, ['num_nextn_predict_layers'], 0) : 0;
  let mtp: MtpConfig | null = null;
  if (mtpPredict > 0) {
    const kinds = parseKinds(cfg, 'mtp_hybrid_override_pattern', 'mtp_layers_block_type');
    if (!kinds || kinds.length === 0) {
      throw new ConfigError('mtp_hybrid_override_pattern', 'is required when num_nextn_predict_layers > 0');
    }
    mtp = { nPredict: mtpPredict, kinds };
  }
  const allKinds = [...layerKinds, ...(mtp?.kinds ?? [])];
  const has = (k: LayerKind) => allKinds.includes(k);

  let mamba: MambaConfig | null = null;
  if (has('M')) {
    const nHeads = int(cfg, ['mamba_num_heads']);
    const headDim = int(cfg, ['mamba_head_dim']);
    const nGroups = int(cfg, ['n_groups', 'mamba_n_groups'], 8);
    const dState = int(cfg, ['ssm_state_size']);
    if (nHeads % nGroups !== 0) {
      throw new ConfigError('n_groups', `${nGroups} does not divide mamba_num_heads ${nHeads}`);
    }
    const dInner = nHeads * headDim;
    mamba = {
      nHeads,
      headDim,
      nGroups,
      dState,
      convKernel: int(cfg, ['conv_kernel', 'mamba_d_conv'], 4),
      chunkSize: int(cfg, ['chunk_size', 'mamba_chunk_size'], 128),
      useConvBias: bool(cfg, 'use_conv_bias', true),
      dInner,
      convDim: dInner + 2 * nGroups * dState,
      inProjDim: 2 * dInner + 2 * nGroups * dState + nHeads,
      timeStepLimit: timeStepLimit(cfg),
    };
  }

  let attention: AttentionConfig | null = null;
  if (has('*')) {
    const nHeads = int(cfg, ['num_attention_heads']);
    const nKvHeads = int(cfg, ['num_key_value_heads'], nHeads);
    if (nHeads % nKvHeads !== 0) {
      throw new ConfigError('num_key_value_heads', `${nKvHeads} does not divide num_attention_heads ${nHeads}`);
    }
    if (cfg.head_dim === undefined && dModel % nHeads !== 0) {
      throw new ConfigError('head_dim', `is missing and hidden_size ${dModel} is not a multiple of num_attention_heads ${nHeads}`);
    }
    attention = { nHeads, nKvHeads, headDim: int(cfg, ['head_dim', 'attention_head_dim'], dModel / nHeads) };
  }

  let moe: MoeConfig | null = null;
  if (has('E')) {
    const nExperts = int(cfg, ['n_routed_experts']);
    const topK = int(cfg, ['num_experts_per_tok']);
    if (topK > nExperts) {
      throw new ConfigError('num_experts_per_tok', `${topK} exceeds n_routed_experts ${nExperts}`);
    }
    const nShared = pick(cfg, ['n_shared_experts']) ? int(cfg, ['n_shared_experts'], 1) : 1;
    const nGroup = int(cfg, ['n_group'], 1);
    const topkGroup = int(cfg, ['topk_group'], 1);
    if (nExperts % nGroup !== 0) throw new ConfigError('n_group', `${nGroup} does not divide n_routed_experts ${nExperts}`);
    if (topkGroup > nGroup) throw new ConfigError('topk_group', `${topkGroup} exceeds n_group ${nGroup}`);
    const latent = pick(cfg, ['moe_latent_size']);
    moe = {
      nExperts,
      topK,
      expertDim: int(cfg, ['moe_intermediate_size']),
      sharedDim: int(cfg, ['moe_shared_expert_intermediate_size']) * nShared,
      routedScale: num(cfg, ['routed_scaling_factor'], 1.0),
      normTopK: bool(cfg, 'norm_topk_prob', true),
      nGroup,
      topkGroup,
      latentDim: latent ? int(cfg, ['moe_latent_size']) : null,
    };
  }

  let mlpDim: number | null = null;
  if (has('-')) {
    const v = cfg.intermediate_size;
    // Some Nemotron-H configs give a per-layer list; the dense layers all share one width.
    const width = Array.isArray(v) ? v.find((x) => typeof x === 'number' && x > 0) : v;
    if (typeof width !== 'number' || !Number.isInteger(width) || width <= 0) {
      throw new ConfigError('intermediate_size', `must be a positive integer for dense '-' layers, got ${JSON.stringify(v)}`);
    }
    mlpDim = width;
  }

  const normEps = num(cfg, ['layer_norm_epsilon', 'norm_eps', 'rms_norm_eps'], 1e-5);
  if (!(normEps > 0)) throw new ConfigError('layer_norm_epsilon', `must be > 0, got ${normEps}`);

  const eos = cfg.eos_token_id;
  const eosList = eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  for (const id of eosList) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new ConfigError('eos_token_id', `invalid id ${JSON.stringify(id)}`);
  }
  const eosTokenIds = [...new Set([...(eosList as number[]), ...extraEosIds])];
  const bos = cfg.bos_token_id;

  const layers: LayerSpec[] = layerKinds.map((kind, il) => ({ il, kind, prefix: `backbone.layers.${il}.` }));
  for (const [j, kind] of (mtp?.kinds ?? []).entries()) {
    layers.push({ il: layers.length, kind, prefix: `mtp.layers.${j}.` });
  }

  return {
    vocabSize,
    dModel,
    normEps,
    tieEmbeddings: bool(cfg, 'tie_word_embeddings', false),
    layerKinds,
    layers,
    nTrunkLayers: layerKinds.length,
    mamba,
    attention,
    moe,
    mlpDim,
    mtp,
    bosTokenId: typeof bos === 'number' ? bos : null,
    eosTokenIds,
    maxPositionEmbeddings: int(cfg, ['max_position_embeddings'], 262144),
    raw: cfg,
  };
}
