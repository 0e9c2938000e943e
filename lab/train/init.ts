// The trainer's seeded initialisation (its own rules, documented here; synth's are for inference
// tests). One Prng stream per tensor name, so a tensor's values do not depend on the others:
// - linear weights [out, in]: uniform with std 1/√in; output projections (out_proj, o_proj,
//   down_proj, fc2_latent_proj, eh_proj) also × 1/√(2·L) with L the layer count (trunk + MTP),
//   so each residual branch starts small and the stream grows by O(1) over the depth;
// - the embedding: std 1 (every consumer normalises it); lm_head: std 1/√d;
// - norm weights and D: 1; conv1d weight: std 1/√conv_kernel; conv1d bias and the router's
//   correction bias: 0;
// - Mamba-2 conventions: A_log = ln U[1, 16]; dt_bias = softplus⁻¹(dt), dt log-uniform in
//   [time_step_min, time_step_max] (0.001, 0.1).

import type { ModelConfig } from '../../engine/core/config.js';
import { Prng } from '../../engine/decode/prng.js';
import type { ParamLayout } from './params.js';

const OUTPUT_PROJECTION = /\.(out_proj|o_proj|down_proj|fc2_latent_proj|eh_proj)\.weight$/;
const DT_MIN = 0.001;
const DT_MAX = 0.1;

/** Fill one tensor of `shape` named `name` into `out`. */
function initTensor(name: string, shape: readonly number[], out: Float32Array, rng: Prng, config: ModelConfig): void {
  const uniformStd = (std: number) => {
    const a = std * Math.sqrt(3);
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-a, a);
  };
  if (name.endsWith('norm.weight') || name.endsWith('norm_f.weight') || name.endsWith('layernorm.weight') || name.endsWith('.D')) out.fill(1);
  else if (name.endsWith('conv1d.bias') || name.endsWith('e_score_correction_bias')) out.fill(0);
  else if (name.endsWith('A_log')) for (let i = 0; i < out.length; i++) out[i] = Math.log(rng.uniform(1, 16));
  else if (name.endsWith('dt_bias')) {
    for (let i = 0; i < out.length; i++) {
      const dt = Math.exp(rng.uniform(Math.log(DT_MIN), Math.log(DT_MAX)));
      out[i] = Math.log(Math.expm1(dt)); // softplus⁻¹
    }
  } else if (name.endsWith('conv1d.weight')) uniformStd(1 / Math.sqrt(shape[shape.length - 1]));
  else if (name === 'backbone.embeddings.weight') uniformStd(1);
  else {
    const depth = OUTPUT_PROJECTION.test(name) ? Math.sqrt(2 * config.layers.length) : 1;
    uniformStd(1 / Math.sqrt(shape[shape.length - 1]) / depth);
  }
}

/**
 * Seeded initial parameters into `flat` (layout.total elements).
 * @example initParams(config, layout, flat, 1);
 */
export function initParams(config: ModelConfig, layout: ParamLayout, flat: Float32Array, seed: number): void {
  layout.names.forEach((name, i) => {
    const n = layout.shapes[i].reduce((a, b) => a * b, 1);
    initTensor(name, layout.shapes[i], flat.subarray(layout.offsets[i], layout.offsets[i] + n), new Prng(seed, `init:${name}`), config);
  });
}
