// spec §14.2–14.3: which linear weights a 4-bit conversion quantises and which stay in high
// precision. Only linear weights [out, in] (engine/core/weights.ts `expectedTensors`, `linear`) are
// ever candidates; norms, conv1d, biases, A_log, D and dt_bias always keep their float dtype.
//
// Named policies:
//   nano        NVIDIA's Nemotron 3 Nano NVFP4 release: keep the router gate, every attention
//               q/k/v/o, the in_proj/out_proj of each Mamba layer right before an attention layer,
//               the LatentMoE projections and the MTP block (Super keeps both in BF16, §14.3);
//               quantise the other Mamba projections and every routed and shared expert.
//   all-linear  every linear weight except the router gate.
// Under both, the embedding and lm_head stay high precision unless asked (`embedding`, `head`),
// and a weight whose K is not a multiple of the NVFP4 block (16) stays high precision.
// `fp8Linears` picks what NVIDIA's `-FP8` releases store in FP8 (spec §14.3; `synth --quant fp8`).

import { layerOf } from '../engine/shard/split.js';
import type { ModelConfig } from '../engine/core/config.js';
import { InvalidOptionError } from '../engine/core/errors.js';
import { expectedTensors, headTensorName } from '../engine/core/weights.js';
import { NVFP4_BLOCK } from '../engine/formats/nvfp4.js';

export type QuantPolicyName = 'nano' | 'all-linear';
export const QUANT_POLICIES: readonly QuantPolicyName[] = ['nano', 'all-linear'];

export interface QuantPolicy {
  readonly name: QuantPolicyName;
  /** Quantise the token embedding too (default false). */
  readonly embedding?: boolean;
  /** Quantise lm_head too (default false; with tied embeddings this is the embedding). */
  readonly head?: boolean;
}

const ATTENTION = /\.mixer\.(q_proj|k_proj|v_proj|o_proj)\.weight$/;
const MAMBA_PROJ = /\.mixer\.(in_proj|out_proj)\.weight$/;
const LATENT = /\.mixer\.fc[12]_latent_proj\.weight$/;
const ROUTER = /\.mixer\.gate\.weight$/;

/**
 * The linear weights (canonical names) that `policy` quantises for `config`.
 * @example
 * quantizedLinears(config, { name: 'nano' }).has('backbone.layers.1.mixer.experts.0.up_proj.weight') // true
 */
export function quantizedLinears(config: ModelConfig, policy: QuantPolicy): Set<string> {
  if (!QUANT_POLICIES.includes(policy.name)) throw new InvalidOptionError('policy', policy.name, QUANT_POLICIES.join(' or '));
  const beforeAttention = new Set(config.layers.filter((l, i) => l.kind === 'M' && config.layers[i + 1]?.kind === '*').map((l) => l.il));
  const head = headTensorName(config);
  const out = new Set<string>();
  for (const spec of expectedTensors(config, true)) {
    if (!spec.linear || spec.shape[1] % NVFP4_BLOCK !== 0) continue;
    const name = spec.name;
    const il = layerOf(config, name);
    let keep = ROUTER.test(name);
    if (name === 'backbone.embeddings.weight') keep = !policy.embedding && !(name === head && policy.head);
    else if (name === head) keep = !policy.head;
    else if (policy.name === 'nano') {
      keep ||= ATTENTION.test(name) || LATENT.test(name) || il >= config.nTrunkLayers;
      keep ||= MAMBA_PROJ.test(name) && beforeAttention.has(il);
    }
    if (!keep) out.add(name);
  }
  return out;
}

const FP8_LINEAR = /\.mixer\.(in_proj|out_proj|up_proj|down_proj|experts\.\d+\.(up|down)_proj|shared_experts\.(up|down)_proj)\.weight$/;

/**
 * The linear weights NVIDIA's FP8 releases store in FP8 (spec §14.3: "MoE and Mamba GEMMs FP8"):
 * the Mamba in/out projections, every routed and shared expert and the dense MLP projections of
 * the trunk. Attention q/k/v/o, the LatentMoE projections, the router, the embedding, lm_head and
 * the MTP block stay BF16.
 * @example fp8Linears(config).has('backbone.layers.0.mixer.in_proj.weight') // true on a Mamba layer
 */
export function fp8Linears(config: ModelConfig): Set<string> {
  const out = new Set<string>();
  for (const spec of expectedTensors(config, true)) {
    if (spec.linear && FP8_LINEAR.test(spec.name) && layerOf(config, spec.name) < config.nTrunkLayers) out.add(spec.name);
  }
  return out;
}
