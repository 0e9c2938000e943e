// spec §5 RMSNorm and spec §6.7 gated group RMSNorm, in f64.
//   RMSNorm(x)_i = w_i · x_i / sqrt(mean_j x_j² + ε)                       (per row, no +1 on w)
//   gated:  ỹ = y ⊙ SiLU(z);  ŷ_c = w_c · ỹ_c / sqrt(mean_{c' ∈ group(c)} ỹ_{c'}² + ε)
// with contiguous groups of dInner/G channels (the gate is applied BEFORE the norm).
// Error budget: f64 rounding only.

import { RefAct } from './act.js';
import { silu } from './activations.js';

/**
 * Row-wise RMSNorm (spec §5): (T, d) → (T, d).
 * @example rmsnorm(x, new Float64Array([1, 1]), 1e-5)
 */
export function rmsnorm(x: RefAct, w: Float64Array, eps: number): RefAct {
  return groupRmsnorm(x, w, 1, eps);
}

/**
 * RMSNorm over `nGroups` contiguous, equal groups of each row: (T, C) → (T, C).
 * With nGroups = 1 this is the plain RMSNorm of spec §5.
 */
export function groupRmsnorm(x: RefAct, w: Float64Array, nGroups: number, eps: number): RefAct {
  const { rows: T, cols: C } = x;
  const gs = C / nGroups; // channels per group
  const y = RefAct.zeros(T, C); // (T, C)
  for (let t = 0; t < T; t++) {
    for (let g = 0; g < nGroups; g++) {
      const off = t * C + g * gs;
      let ss = 0;
      for (let c = 0; c < gs; c++) ss += x.data[off + c] * x.data[off + c];
      const inv = 1 / Math.sqrt(ss / gs + eps);
      for (let c = 0; c < gs; c++) y.data[off + c] = w[g * gs + c] * x.data[off + c] * inv;
    }
  }
  return y;
}

/**
 * spec §6.7: ŷ = GroupRMSNorm(y ⊙ SiLU(z)) with G groups: y, z (T, dInner) → (T, dInner).
 * @example gatedGroupRmsnorm(y, z, normWeight, config.mamba.nGroups, config.normEps)
 */
export function gatedGroupRmsnorm(y: RefAct, z: RefAct, w: Float64Array, nGroups: number, eps: number): RefAct {
  const gated = RefAct.zeros(y.rows, y.cols); // (T, dInner) ỹ = y ⊙ SiLU(z)
  for (let i = 0; i < gated.data.length; i++) gated.data[i] = y.data[i] * silu(z.data[i]);
  return groupRmsnorm(gated, w, nGroups, eps);
}
