// spec §6.7: gated group RMSNorm (norm_before_gate = False). Per token and per group of
// `groupSize` contiguous channels: ỹ = y ⊙ SiLU(z), then ŷ_c = w_c · ỹ_c / sqrt(mean_group ỹ² + ε).
// Lanes: the gate is scalar (one Mathf.exp per channel); the group norm uses rmsRow (rmsnorm.ts,
// element i in lane i mod 4, unrolled 16, ×4, tail); f32_gated_rmsnorm_scalar is the scalar twin.
// Error budget (u = 2⁻²⁴): SiLU via Mathf.exp adds ≤ ~3u relative per channel; the group norm
// adds ≤ (groupSize/32 + 4)·u relative (see rmsnorm.ts); ~2e-6 relative for groupSize 512.

import { f4 } from './lanes';
import { rmsRow } from './rmsnorm';

/** SiLU(a) = a·σ(a) in f32. */
@inline export function silu(a: f32): f32 {
  return a / (<f32>1 + Mathf.exp(-a));
}

function gatedNorm(
  simd: bool, y: usize, z: usize, zStride: i32, w: usize, out: usize, T: i32, dInner: i32, groupSize: i32, eps: f32,
): void {
  for (let t = 0; t < T; t++) {
    const yr = y + <usize>t * f4(dInner);
    const zr = z + <usize>t * f4(zStride);
    const or = out + <usize>t * f4(dInner);
    for (let c = 0; c < dInner; c++) store<f32>(or + f4(c), load<f32>(yr + f4(c)) * silu(load<f32>(zr + f4(c))));
    for (let g = 0; g < dInner; g += groupSize) rmsRow(simd, or + f4(g), w + f4(g), or + f4(g), groupSize, eps);
  }
}

/**
 * Out(T, dInner) = GroupRMSNorm(Y ⊙ SiLU(Z)); Y rows have stride dInner, Z rows `zStride` floats.
 * `out` may alias `y`.
 */
export function f32_gated_rmsnorm(
  y: usize, z: usize, zStride: i32, w: usize, out: usize, T: i32, dInner: i32, groupSize: i32, eps: f32,
): void {
  gatedNorm(true, y, z, zStride, w, out, T, dInner, groupSize, eps);
}

export function f32_gated_rmsnorm_scalar(
  y: usize, z: usize, zStride: i32, w: usize, out: usize, T: i32, dInner: i32, groupSize: i32, eps: f32,
): void {
  gatedNorm(false, y, z, zStride, w, out, T, dInner, groupSize, eps);
}
