// spec §5: RMSNorm of each row, y_i = w_i · x_i / sqrt(mean_j x_j² + ε), and the row helpers that
// the gated group norm (gated_rmsnorm.ts, spec §6.7) shares.
// Lanes: element i in lane i mod 4; the sum of squares keeps four f32x4 accumulators over 16
// elements (unrolled main loop), then a ×4 loop and a scalar tail; the scale pass is the same.
// Error budget (u = 2⁻²⁴): Σx² in f32 has relative error ≤ (n/16 + 4)·u; the rsqrt is taken in
// f64; each output then carries ≤ (n/32 + 4)·u relative error, ~1e-6 for n = 2688.

import { f4, hsum } from './lanes';

function sumSquaresSimd(x: usize, n: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const xp = x + f4(i);
    let v = v128.load(xp);
    a0 = f32x4.add(a0, f32x4.mul(v, v));
    v = v128.load(xp, 16);
    a1 = f32x4.add(a1, f32x4.mul(v, v));
    v = v128.load(xp, 32);
    a2 = f32x4.add(a2, f32x4.mul(v, v));
    v = v128.load(xp, 48);
    a3 = f32x4.add(a3, f32x4.mul(v, v));
  }
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + f4(i));
    a0 = f32x4.add(a0, f32x4.mul(v, v));
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; i < n; i++) {
    const v = load<f32>(x + f4(i));
    s += v * v;
  }
  return s;
}

function sumSquaresScalar(x: usize, n: i32): f32 {
  let s0: f32 = 0;
  let s1: f32 = 0;
  let s2: f32 = 0;
  let s3: f32 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const xp = x + f4(i);
    s0 += load<f32>(xp) * load<f32>(xp);
    s1 += load<f32>(xp, 4) * load<f32>(xp, 4);
    s2 += load<f32>(xp, 8) * load<f32>(xp, 8);
    s3 += load<f32>(xp, 12) * load<f32>(xp, 12);
  }
  let s = (s0 + s1) + (s2 + s3);
  for (; i < n; i++) s += load<f32>(x + f4(i)) * load<f32>(x + f4(i));
  return s;
}

function scaleSimd(x: usize, w: usize, y: usize, n: i32, r: f32): void {
  const rv = f32x4.splat(r);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const xp = x + f4(i);
    const wp = w + f4(i);
    const yp = y + f4(i);
    v128.store(yp, f32x4.mul(f32x4.mul(v128.load(xp), rv), v128.load(wp)));
    v128.store(yp, f32x4.mul(f32x4.mul(v128.load(xp, 16), rv), v128.load(wp, 16)), 16);
    v128.store(yp, f32x4.mul(f32x4.mul(v128.load(xp, 32), rv), v128.load(wp, 32)), 32);
    v128.store(yp, f32x4.mul(f32x4.mul(v128.load(xp, 48), rv), v128.load(wp, 48)), 48);
  }
  for (; i + 4 <= n; i += 4) {
    v128.store(y + f4(i), f32x4.mul(f32x4.mul(v128.load(x + f4(i)), rv), v128.load(w + f4(i))));
  }
  for (; i < n; i++) store<f32>(y + f4(i), load<f32>(x + f4(i)) * r * load<f32>(w + f4(i)));
}

function scaleScalar(x: usize, w: usize, y: usize, n: i32, r: f32): void {
  for (let i = 0; i < n; i++) store<f32>(y + f4(i), load<f32>(x + f4(i)) * r * load<f32>(w + f4(i)));
}

@inline function rsqrtMean(ss: f32, n: i32, eps: f32): f32 {
  return <f32>(1.0 / Math.sqrt(<f64>ss / <f64>n + <f64>eps));
}

/**
 * y(n) = w ⊙ x / sqrt(mean(x²) + ε) for one row (y may alias x); the SIMD twin where the build
 * has SIMD and `simd` is set.
 */
@inline export function rmsRow(simd: bool, x: usize, w: usize, y: usize, n: i32, eps: f32): void {
  if (ASC_FEATURE_SIMD) {
    if (simd) {
      scaleSimd(x, w, y, n, rsqrtMean(sumSquaresSimd(x, n), n, eps));
      return;
    }
  }
  scaleScalar(x, w, y, n, rsqrtMean(sumSquaresScalar(x, n), n, eps));
}

/** Y(T, d) = RMSNorm(X(T, d)) with weight w(d). */
export function f32_rmsnorm(x: usize, w: usize, y: usize, T: i32, d: i32, eps: f32): void {
  for (let t = 0; t < T; t++) rmsRow(true, x + <usize>t * f4(d), w, y + <usize>t * f4(d), d, eps);
}

export function f32_rmsnorm_scalar(x: usize, w: usize, y: usize, T: i32, d: i32, eps: f32): void {
  for (let t = 0; t < T; t++) rmsRow(false, x + <usize>t * f4(d), w, y + <usize>t * f4(d), d, eps);
}
