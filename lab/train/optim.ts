// AdamW (Loshchilov & Hutter: decoupled weight decay) over the flat parameter buffer, the
// learning-rate schedule and global-norm gradient clipping.
//   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  m̂ = m/(1−β₁ᵗ),  v̂ = v/(1−β₂ᵗ)
//   θ ← θ − lr·(m̂/(√v̂ + ε) + λ·θ)   with λ = 0 for norms, biases, A_log, D, dt_bias
// The router's e_score_correction_bias is not a gradient parameter (selection only): AdamW
// leaves it alone and the MoE bias update (blocks/moe.ts) moves it.
// Schedule: linear warm-up over `warmup` steps to lr, then cosine down to floor·lr at `total`.
// Clipping: g ← g · min(1, maxNorm / ‖g‖₂) over all parameters.

import type { ParamLayout } from './params.js';

export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

/** Tensors without weight decay (norm weights, biases, A_log, D, dt_bias). */
const NO_DECAY = /(norm\.weight|norm_f\.weight|layernorm\.weight|bias|A_log|\.D)$/;
/** Tensors AdamW never moves. */
const FROZEN = /e_score_correction_bias$/;

/** Per-tensor rule: 0 frozen, 1 no decay, 2 decay. */
function rules(layout: ParamLayout): Uint8Array {
  return Uint8Array.from(layout.names, (n) => (FROZEN.test(n) ? 0 : NO_DECAY.test(n) ? 1 : 2));
}

/**
 * One AdamW update of `params` from `grads` (all flat, layout.total), moments m and v, at step t
 * (1-based) with learning rate lr.
 * @example adamwStep(layout, params, grads, m, v, 1, 1e-3);
 */
export function adamwStep(
  layout: ParamLayout,
  params: Float32Array,
  grads: Float32Array,
  m: Float32Array,
  v: Float32Array,
  t: number,
  lr: number,
  opts: AdamWOptions = ADAMW_DEFAULTS,
): void {
  const { beta1, beta2, eps, weightDecay } = opts;
  const c1 = 1 - beta1 ** t;
  const c2 = 1 - beta2 ** t;
  const kind = rules(layout);
  layout.names.forEach((_, j) => {
    if (kind[j] === 0) return;
    const lambda = kind[j] === 2 ? weightDecay : 0;
    const start = layout.offsets[j];
    const end = j + 1 < layout.names.length ? layout.offsets[j + 1] : layout.total;
    for (let i = start; i < end; i++) {
      const g = grads[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      params[i] -= lr * (m[i] / c1 / (Math.sqrt(v[i] / c2) + eps) + lambda * params[i]);
    }
  });
}

/**
 * Learning rate at step (0-based): linear warm-up, then cosine to floor·lr at `total`.
 * @example learningRate(0, { lr: 1e-3, warmup: 10, total: 100, floor: 0.1 }) // 1e-4
 */
export function learningRate(step: number, s: { lr: number; warmup: number; total: number; floor: number }): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  const progress = Math.min(1, (step - s.warmup) / Math.max(1, s.total - s.warmup));
  return s.lr * (s.floor + (1 - s.floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/**
 * Scale g in place so that ‖g‖₂ ≤ maxNorm; returns the norm before clipping.
 * @example const norm = clipGradNorm(grads, 1);
 */
export function clipGradNorm(grads: Float32Array, maxNorm: number): number {
  let ss = 0;
  for (let i = 0; i < grads.length; i++) ss += grads[i] * grads[i];
  const norm = Math.sqrt(ss);
  if (norm > maxNorm) {
    const s = maxNorm / norm;
    for (let i = 0; i < grads.length; i++) grads[i] *= s;
  }
  return norm;
}
