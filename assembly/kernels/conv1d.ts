// spec §6.2: causal depthwise conv over time + SiLU, for prefill (any T) and decode (T = 1).
//   v_t[c] = SiLU( b[c] + Σ_{k<K} W[k, c] · xBC_{t−(K−1)+k}[c] ),
// where time steps before the first token come from the conv window (K−1, C) of the sequence
// (oldest row first); afterwards the window holds the last K−1 pre-activation inputs.
// Weights are stored transposed, W(K, C), so channels are contiguous.
// Lanes: channel c in lane c mod 4; main loop 16 channels, ×4 loop, scalar tail; SiLU scalar.
// Error budget (u = 2⁻²⁴): K + 1 f32 roundings on the pre-activation (≤ (K+1)·u·(|b| + Σ|W x|)),
// then SiLU via Mathf.exp (≤ ~3u relative).

import { silu } from './gated_rmsnorm';
import { f4 } from './lanes';

/** acc(n) += a(n) ⊙ b(n). */
function mulAddSimd(acc: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const ap = a + f4(i);
    const bp = b + f4(i);
    const cp = acc + f4(i);
    v128.store(cp, f32x4.add(v128.load(cp), f32x4.mul(v128.load(ap), v128.load(bp))));
    v128.store(cp, f32x4.add(v128.load(cp, 16), f32x4.mul(v128.load(ap, 16), v128.load(bp, 16))), 16);
    v128.store(cp, f32x4.add(v128.load(cp, 32), f32x4.mul(v128.load(ap, 32), v128.load(bp, 32))), 32);
    v128.store(cp, f32x4.add(v128.load(cp, 48), f32x4.mul(v128.load(ap, 48), v128.load(bp, 48))), 48);
  }
  for (; i + 4 <= n; i += 4) {
    v128.store(acc + f4(i), f32x4.add(v128.load(acc + f4(i)), f32x4.mul(v128.load(a + f4(i)), v128.load(b + f4(i)))));
  }
  for (; i < n; i++) store<f32>(acc + f4(i), load<f32>(acc + f4(i)) + load<f32>(a + f4(i)) * load<f32>(b + f4(i)));
}

function mulAddScalar(acc: usize, a: usize, b: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(acc + f4(i), load<f32>(acc + f4(i)) + load<f32>(a + f4(i)) * load<f32>(b + f4(i)));
}

/** Pick the twin: SIMD only where the build has it and the caller asked for it. */
@inline function mulAdd(simd: bool, acc: usize, a: usize, b: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (simd) {
      mulAddSimd(acc, a, b, n);
      return;
    }
  }
  mulAddScalar(acc, a, b, n);
}

function conv(
  simd: bool, x: usize, xStride: i32, window: usize, wT: usize, bias: usize, y: usize, T: i32, C: i32, K: i32,
): void {
  const rowBytes = f4(C);
  for (let t = 0; t < T; t++) {
    const yr = y + <usize>t * rowBytes;
    if (bias != 0) memory.copy(yr, bias, rowBytes);
    else memory.fill(yr, 0, rowBytes);
    for (let k = 0; k < K; k++) {
      const pos = t - (K - 1) + k; // time index of the input this tap reads
      const src = pos >= 0 ? x + <usize>pos * f4(xStride) : window + <usize>(pos + K - 1) * rowBytes;
      mulAdd(simd, yr, wT + <usize>k * rowBytes, src, C);
    }
    for (let c = 0; c < C; c++) store<f32>(yr + f4(c), silu(load<f32>(yr + f4(c))));
  }
  // The window keeps the last K−1 inputs: older window rows first if T < K−1.
  const keep = K - 1;
  const fromWindow = max(0, keep - T);
  if (fromWindow > 0) memory.copy(window, window + <usize>(keep - fromWindow) * rowBytes, <usize>fromWindow * rowBytes);
  for (let r = fromWindow; r < keep; r++) {
    memory.copy(window + <usize>r * rowBytes, x + <usize>(T - keep + r) * f4(xStride), rowBytes);
  }
}

/**
 * Y(T, C) = SiLU(causal depthwise conv of X(T, C; row stride xStride)) with window (K−1, C),
 * transposed weights wT(K, C) and bias(C) (0 = no bias); updates the window.
 */
export function f32_conv1d_silu(
  x: usize, xStride: i32, window: usize, wT: usize, bias: usize, y: usize, T: i32, C: i32, K: i32,
): void {
  conv(ASC_FEATURE_SIMD, x, xStride, window, wT, bias, y, T, C, K);
}

export function f32_conv1d_silu_scalar(
  x: usize, xStride: i32, window: usize, wT: usize, bias: usize, y: usize, T: i32, C: i32, K: i32,
): void {
  conv(false, x, xStride, window, wT, bias, y, T, C, K);
}
