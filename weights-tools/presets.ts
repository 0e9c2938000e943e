// DESIGN §4: the synth presets as Hugging Face `config.json` objects, in the real NemotronH
// layout so every loader, converter and backend sees them exactly as it would a released
// checkpoint. `nano` is the Nemotron 3 Nano 30B-A3B config of spec §2, key for key; `nano-4b` the
// dense Nemotron 3 Nano 4B (spec §18).

import { InvalidOptionError } from '../engine/core/errors.js';

/** Names accepted by `synthesize({ preset })` and `edgetron synth --preset`. */
export const PRESET_NAMES = ['tiny', 'tiny-latent', 'demo', 'small', 'medium', 'nano', 'nano-4b'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

type HfConfig = Readonly<Record<string, unknown>>;

/** Keys shared by every preset (spec §2: the Nemotron 3 values that are not sizes). */
const COMMON: HfConfig = {
  architectures: ['NemotronHForCausalLM'],
  model_type: 'nemotron_h',
  attention_bias: false,
  attention_dropout: 0.0,
  conv_kernel: 4,
  expand: 2,
  mamba_hidden_act: 'silu',
  mamba_proj_bias: false,
  use_bias: false,
  use_conv_bias: true,
  mlp_hidden_act: 'relu2',
  mlp_bias: false,
  time_step_min: 0.001,
  time_step_max: 0.1,
  time_step_floor: 0.0001,
  mamba_ssm_cache_dtype: 'float32',
  n_shared_experts: 1,
  norm_topk_prob: true,
  n_group: 1,
  topk_group: 1,
  layer_norm_epsilon: 1e-5,
  residual_in_fp32: false,
  rescale_prenorm_residual: true,
  tie_word_embeddings: false,
  rope_theta: 10000,
  partial_rotary_factor: 1.0,
  sliding_window: null,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
  num_logits_to_keep: 1,
  use_mamba_kernels: true,
};

/** Sizes of one preset; everything else comes from COMMON, then `extra` overrides. */
interface Sizes {
  d: number;
  pattern: string;
  mamba: [heads: number, headDim: number, groups: number, state: number, chunk: number];
  attn: [qHeads: number, kvHeads: number, headDim: number];
  /** Absent for a dense model (no MoE size keys written). */
  moe?: [experts: number, topK: number, expertDim: number, sharedDim: number, scale: number];
  mlpDim: number;
  vocab: number;
  maxPositions: number;
  dtype: string;
  extra?: HfConfig;
}

// DESIGN §4 table, one row per preset.
const SIZES: Readonly<Record<PresetName, Sizes>> = {
  // Unit tests: every layer kind, several SSD chunks per prompt (chunk 8).
  tiny: { d: 64, pattern: 'ME*M-E*E', mamba: [4, 16, 2, 16, 8], attn: [4, 2, 16], moe: [8, 2, 32, 64, 2.5], mlpDim: 128, vocab: 512, maxPositions: 4096, dtype: 'float32' },
  // LatentMoE (spec §8) and one MTP block `*E` (spec §11).
  'tiny-latent': {
    d: 64, pattern: 'ME*ME*E', mamba: [4, 16, 2, 16, 8], attn: [4, 2, 16], moe: [16, 4, 32, 64, 5.0],
    mlpDim: 32, vocab: 512, maxPositions: 4096, dtype: 'float32',
    extra: { moe_latent_size: 32, num_nextn_predict_layers: 1, mtp_hybrid_override_pattern: '*E' },
  },
  // The trained embedded default (`edgetron train`): every layer kind and an MTP block `*E`, ~1.2M
  // parameters per token, small enough to train in well under an hour on 2 cores.
  demo: {
    d: 128, pattern: 'MEM*EME', mamba: [8, 32, 1, 32, 64], attn: [4, 2, 32], moe: [8, 2, 128, 128, 2.5],
    mlpDim: 256, vocab: 4096, maxPositions: 4096, dtype: 'float32',
    extra: { num_nextn_predict_layers: 1, mtp_hybrid_override_pattern: '*E' },
  },
  // Worker-sized bench: ~132M parameters, ~75M active.
  small: { d: 768, pattern: 'MEMEM*EMEMEM*EMEM', mamba: [24, 64, 2, 64, 128], attn: [12, 2, 64], moe: [16, 2, 384, 768, 2.5], mlpDim: 384, vocab: 16384, maxPositions: 32768, dtype: 'float32' },
  // Speed anchor: ~524M parameters, ~230M active (~196M without the embedding table).
  medium: { d: 1024, pattern: 'MEMEM*EMEMEM*EMEMEM*EMEM', mamba: [32, 64, 8, 128, 128], attn: [16, 2, 64], moe: [32, 4, 512, 1024, 2.5], mlpDim: 512, vocab: 32768, maxPositions: 32768, dtype: 'float32' },
  // spec §2, complete.
  nano: {
    d: 2688, pattern: 'MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME', mamba: [64, 64, 8, 128, 128], attn: [32, 2, 128],
    moe: [128, 6, 1856, 3712, 2.5], mlpDim: 1856, vocab: 131072, maxPositions: 262144, dtype: 'bfloat16',
    extra: { transformers_version: '4.55.4' },
  },
  // NVIDIA-Nemotron-3-Nano-4B-BF16 (dense: M, * and relu² '-' layers, no MoE). Sources: the spec §18
  // table and third-party copies of its config.json, which agree:
  // NeMo Safe Synthesizer's config fingerprint (hidden 3136, mamba 96 × 80, state 128, 42 layers,
  // vocab 131072, bfloat16), mlc-llm's and a Rust loader's Nano 4B fixtures (pattern, 40/8 × 128
  // heads, intermediate 12544, n_groups 8, conv_kernel 4, chunk_size 256, use_conv_bias true,
  // mamba_proj_bias false, eps 1e-5, untied, 262144 positions), the model card (3.97e9 parameters,
  // 3,973,556,832 as a third-party note copies it from the HF page; countParams reproduces it exactly:
  // tests/weights-tools/presets.test.ts).
  // time_step_limit [0.0, Infinity] is the HF NemotronH config class default, which its saved
  // config.json carries (spec §18); written with a bare Infinity as Python does.
  // UNVERIFIED (not seen in a copy of the file): bos/eos/pad ids, rope_theta and the MoE routing keys
  // (COMMON's values stand; the MoE keys are unused without E layers); transformers_version is left out.
  'nano-4b': {
    d: 3136, pattern: 'M-M-M-MM-M-M*-M-M*-M-M-M*-M-M-MM*-MMM-M-M-', mamba: [96, 80, 8, 128, 256], attn: [40, 8, 128],
    mlpDim: 12544, vocab: 131072, maxPositions: 262144, dtype: 'bfloat16',
    extra: { time_step_limit: [0.0, Infinity] },
  },
};

/** HF keys of the `mamba`, `attn` and `moe` tuples of Sizes, in tuple order. */
const MAMBA_KEYS = ['mamba_num_heads', 'mamba_head_dim', 'n_groups', 'ssm_state_size', 'chunk_size'];
const ATTN_KEYS = ['num_attention_heads', 'num_key_value_heads', 'head_dim'];
const MOE_KEYS = ['n_routed_experts', 'num_experts_per_tok', 'moe_intermediate_size', 'moe_shared_expert_intermediate_size', 'routed_scaling_factor'];

const zip = (keys: readonly string[], values: readonly number[]) => Object.fromEntries(keys.map((k, i) => [k, values[i]]));

/** The HF config.json of one row of SIZES. */
function build(s: Sizes): HfConfig {
  return {
    ...COMMON,
    vocab_size: s.vocab,
    hidden_size: s.d,
    num_hidden_layers: s.pattern.length,
    hybrid_override_pattern: s.pattern,
    ...zip(ATTN_KEYS, s.attn),
    ...zip(MAMBA_KEYS, s.mamba),
    ...(s.moe && zip(MOE_KEYS, s.moe)),
    intermediate_size: s.mlpDim,
    max_position_embeddings: s.maxPositions,
    torch_dtype: s.dtype,
    ...s.extra,
  };
}

/**
 * The config.json object of a preset (a fresh copy the caller may modify).
 * @example
 * const cfg = presetConfig('tiny'); // { hidden_size: 64, hybrid_override_pattern: 'ME*M-E*E', ... }
 * parseConfig(cfg).layerKinds;      // ['M', 'E', '*', 'M', '-', 'E', '*', 'E']
 */
export function presetConfig(name: PresetName): Record<string, unknown> {
  return structuredClone(build(SIZES[name])) as Record<string, unknown>;
}

/**
 * The first `n` layers of a config.json object (spec §2): `hybrid_override_pattern` cut to its
 * first `n` characters and `num_hidden_layers` = n; every other key, MTP included, unchanged.
 * Returns a fresh copy.
 * @example
 * truncateLayers(presetConfig('nano'), 6).hybrid_override_pattern; // 'MEMEM*'
 */
export function truncateLayers(config: Readonly<Record<string, unknown>>, n: number): Record<string, unknown> {
  const pattern = config.hybrid_override_pattern;
  if (typeof pattern !== 'string') throw new InvalidOptionError('hybrid_override_pattern', pattern, 'a layer pattern string');
  if (!(Number.isInteger(n) && n >= 1 && n <= pattern.length)) throw new InvalidOptionError('layers', n, `an integer in 1..${pattern.length}`);
  return { ...structuredClone(config), hybrid_override_pattern: pattern.slice(0, n), num_hidden_layers: n };
}

/**
 * Type guard for preset names coming from the command line.
 * @example
 * if (!isPresetName(arg)) throw new UnknownPresetError(arg, PRESET_NAMES);
 */
export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}
