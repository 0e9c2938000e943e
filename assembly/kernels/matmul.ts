// spec §4.4, §6.1, §7, §8, §9: every linear layer, Y(T, N) = X(T, K) · W(N, K)ᵀ, with W stored as
// f32 or bf16 (u16 bits, widened exactly to f32 in registers) and X, Y f32.
//
// Decode (T = 1), stems f32_matvec / bf16_matvec: memory-bound. Four weight rows per step (four
//   memory streams, which the prefetchers serve faster than one) share the x loads, each row with
//   two independent f32x4 accumulators over 8 (f32) or 16 (bf16) elements per step (unrolled main
//   loop), then a ×4 loop and a scalar tail; the last N mod 4 rows take the one-row dot (four
//   accumulators over 16). Lane l of an accumulator sums k ≡ l (mod 4) terms (f32); for bf16 one
//   load holds 8 weights, split into even and odd k by lane masks, and x is shuffled to match.
// Prefill (T > 1), stems f32_matmul / bf16_matmul: W is walked in row blocks of ROW_BLOCK_BYTES so
//   a block stays in L2 while every group of 4 tokens reads it; inside a block a 4-token × 2-row
//   micro-kernel keeps 8 independent f32x4 accumulators (the unrolling: 4 tokens × 2 rows) over
//   4 elements of K per step, then a scalar tail; each weight vector loaded is used by 4 tokens.
//   Leftover tokens (T mod 4) and a leftover odd row fall back to the dot product above.
// Scalar twins (…_scalar) compute the same sums with scalar accumulators (matvec: four rows at a
//   time, one accumulator each; matmul: 4 tokens × 1 row); the scalar build's dispatchers call them.
// Error budget (f32 accumulation, u = 2⁻²⁴): every output is a length-K dot product summed in a
//   fixed order of at most K/4 + 4 sequential f32 additions per partial sum (K + 1 for the scalar
//   twins' one-accumulator rows and tokens), so |ŷ − y| ≤ (K/4 + 4)·u·Σ_k |x_k w_k| for the SIMD
//   paths and (K + 1)·u·Σ_k |x_k w_k| for the scalar ones; observed error grows like √K·u.

import { f4, hsum, loadW, loadW4 } from './lanes';

/** Bytes of weights per row block of the prefill path (fits L2 next to 4 rows of X). */
const ROW_BLOCK_BYTES: i32 = 1 << 17;

@inline function dotSimd<W>(x: usize, w: usize, K: i32): f32 {
  const ws = <usize>sizeof<W>();
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let k = 0;
  if (sizeof<W>() == 2) {
    // bf16: one load holds 8 weights; lane l of it is w[2l] (low half) | w[2l+1] (high half), so
    // shl 16 gives the even weights as f32 and masking the high half the odd ones; x is split
    // into even and odd lanes to match (so lane l of a0/a2 sums even k, of a1/a3 odd k)
    const high = i32x4.splat(0xffff0000);
    for (; k + 16 <= K; k += 16) {
      const xp = x + f4(k);
      const wp = w + <usize>k * ws;
      const v0 = v128.load(wp);
      const v1 = v128.load(wp, 16);
      const x0 = v128.load(xp);
      const x1 = v128.load(xp, 16);
      const x2 = v128.load(xp, 32);
      const x3 = v128.load(xp, 48);
      a0 = f32x4.add(a0, f32x4.mul(v128.shuffle<f32>(x0, x1, 0, 2, 4, 6), i32x4.shl(v0, 16)));
      a1 = f32x4.add(a1, f32x4.mul(v128.shuffle<f32>(x0, x1, 1, 3, 5, 7), v128.and(v0, high)));
      a2 = f32x4.add(a2, f32x4.mul(v128.shuffle<f32>(x2, x3, 0, 2, 4, 6), i32x4.shl(v1, 16)));
      a3 = f32x4.add(a3, f32x4.mul(v128.shuffle<f32>(x2, x3, 1, 3, 5, 7), v128.and(v1, high)));
    }
  }
  for (; k + 16 <= K; k += 16) {
    const xp = x + f4(k);
    const wp = w + <usize>k * ws;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(xp), loadW4<W>(wp)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(xp, 16), loadW4<W>(wp + 4 * ws)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(xp, 32), loadW4<W>(wp + 8 * ws)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(xp, 48), loadW4<W>(wp + 12 * ws)));
  }
  for (; k + 4 <= K; k += 4) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load(x + f4(k)), loadW4<W>(w + <usize>k * ws)));
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; k < K; k++) s += load<f32>(x + f4(k)) * loadW<W>(w + <usize>k * ws);
  return s;
}

@inline function dotScalar<W>(x: usize, w: usize, K: i32): f32 {
  const ws = <usize>sizeof<W>();
  let s0: f32 = 0;
  let s1: f32 = 0;
  let s2: f32 = 0;
  let s3: f32 = 0;
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const xp = x + f4(k);
    const wp = w + <usize>k * ws;
    s0 += load<f32>(xp) * loadW<W>(wp);
    s1 += load<f32>(xp, 4) * loadW<W>(wp + ws);
    s2 += load<f32>(xp, 8) * loadW<W>(wp + 2 * ws);
    s3 += load<f32>(xp, 12) * loadW<W>(wp + 3 * ws);
  }
  let s = (s0 + s1) + (s2 + s3);
  for (; k < K; k++) s += load<f32>(x + f4(k)) * loadW<W>(w + <usize>k * ws);
  return s;
}

/** Σ_k x_k w_k over K pairs, x f32 and w f32 or bf16 (W = u16); the SIMD twin where the build has SIMD and `simd` is set. */
@inline export function dotW<W>(simd: bool, x: usize, w: usize, K: i32): f32 {
  if (ASC_FEATURE_SIMD) {
    if (simd) return dotSimd<W>(x, w, K);
  }
  return dotScalar<W>(x, w, K);
}

/** Σ_k x_k w_k over K f32 pairs (dotW<f32>). */
@inline export function dotF32(simd: bool, x: usize, w: usize, K: i32): f32 {
  return dotW<f32>(simd, x, w, K);
}

/**
 * y[r] = ⟨x, w + r·rowBytes⟩ for r = 0..3: four weight rows (four memory streams, which the
 * prefetchers serve faster than one) share every x load and, for bf16, every x lane split.
 */
@inline function dot4Simd<W>(x: usize, w: usize, rowBytes: usize, K: i32, y: usize): void {
  const ws = <usize>sizeof<W>();
  const w1 = w + rowBytes;
  const w2 = w + 2 * rowBytes;
  const w3 = w + 3 * rowBytes;
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let b0 = a0;
  let b1 = a0;
  let c0 = a0;
  let c1 = a0;
  let d0 = a0;
  let d1 = a0;
  let k = 0;
  if (sizeof<W>() == 2) {
    // lane split as in dotSimd: shl 16 → even k, high-half mask → odd k
    const high = i32x4.splat(0xffff0000);
    for (; k + 16 <= K; k += 16) {
      const xp = x + f4(k);
      const wo = <usize>k * ws;
      const x0 = v128.load(xp);
      const x1 = v128.load(xp, 16);
      const x2 = v128.load(xp, 32);
      const x3 = v128.load(xp, 48);
      const e0 = v128.shuffle<f32>(x0, x1, 0, 2, 4, 6);
      const o0 = v128.shuffle<f32>(x0, x1, 1, 3, 5, 7);
      const e1 = v128.shuffle<f32>(x2, x3, 0, 2, 4, 6);
      const o1 = v128.shuffle<f32>(x2, x3, 1, 3, 5, 7);
      let v = v128.load(w + wo);
      a0 = f32x4.add(a0, f32x4.mul(e0, i32x4.shl(v, 16)));
      a1 = f32x4.add(a1, f32x4.mul(o0, v128.and(v, high)));
      v = v128.load(w + wo, 16);
      a0 = f32x4.add(a0, f32x4.mul(e1, i32x4.shl(v, 16)));
      a1 = f32x4.add(a1, f32x4.mul(o1, v128.and(v, high)));
      v = v128.load(w1 + wo);
      b0 = f32x4.add(b0, f32x4.mul(e0, i32x4.shl(v, 16)));
      b1 = f32x4.add(b1, f32x4.mul(o0, v128.and(v, high)));
      v = v128.load(w1 + wo, 16);
      b0 = f32x4.add(b0, f32x4.mul(e1, i32x4.shl(v, 16)));
      b1 = f32x4.add(b1, f32x4.mul(o1, v128.and(v, high)));
      v = v128.load(w2 + wo);
      c0 = f32x4.add(c0, f32x4.mul(e0, i32x4.shl(v, 16)));
      c1 = f32x4.add(c1, f32x4.mul(o0, v128.and(v, high)));
      v = v128.load(w2 + wo, 16);
      c0 = f32x4.add(c0, f32x4.mul(e1, i32x4.shl(v, 16)));
      c1 = f32x4.add(c1, f32x4.mul(o1, v128.and(v, high)));
      v = v128.load(w3 + wo);
      d0 = f32x4.add(d0, f32x4.mul(e0, i32x4.shl(v, 16)));
      d1 = f32x4.add(d1, f32x4.mul(o0, v128.and(v, high)));
      v = v128.load(w3 + wo, 16);
      d0 = f32x4.add(d0, f32x4.mul(e1, i32x4.shl(v, 16)));
      d1 = f32x4.add(d1, f32x4.mul(o1, v128.and(v, high)));
    }
  } else {
    for (; k + 8 <= K; k += 8) {
      const xp = x + f4(k);
      const wo = f4(k);
      const x0 = v128.load(xp);
      const x1 = v128.load(xp, 16);
      a0 = f32x4.add(a0, f32x4.mul(x0, v128.load(w + wo)));
      a1 = f32x4.add(a1, f32x4.mul(x1, v128.load(w + wo, 16)));
      b0 = f32x4.add(b0, f32x4.mul(x0, v128.load(w1 + wo)));
      b1 = f32x4.add(b1, f32x4.mul(x1, v128.load(w1 + wo, 16)));
      c0 = f32x4.add(c0, f32x4.mul(x0, v128.load(w2 + wo)));
      c1 = f32x4.add(c1, f32x4.mul(x1, v128.load(w2 + wo, 16)));
      d0 = f32x4.add(d0, f32x4.mul(x0, v128.load(w3 + wo)));
      d1 = f32x4.add(d1, f32x4.mul(x1, v128.load(w3 + wo, 16)));
    }
  }
  for (; k + 4 <= K; k += 4) {
    const xv = v128.load(x + f4(k));
    const wo = <usize>k * ws;
    a0 = f32x4.add(a0, f32x4.mul(xv, loadW4<W>(w + wo)));
    b0 = f32x4.add(b0, f32x4.mul(xv, loadW4<W>(w1 + wo)));
    c0 = f32x4.add(c0, f32x4.mul(xv, loadW4<W>(w2 + wo)));
    d0 = f32x4.add(d0, f32x4.mul(xv, loadW4<W>(w3 + wo)));
  }
  let sa = hsum(f32x4.add(a0, a1));
  let sb = hsum(f32x4.add(b0, b1));
  let sc = hsum(f32x4.add(c0, c1));
  let sd = hsum(f32x4.add(d0, d1));
  for (; k < K; k++) {
    const xk = load<f32>(x + f4(k));
    const wo = <usize>k * ws;
    sa += xk * loadW<W>(w + wo);
    sb += xk * loadW<W>(w1 + wo);
    sc += xk * loadW<W>(w2 + wo);
    sd += xk * loadW<W>(w3 + wo);
  }
  store<f32>(y, sa);
  store<f32>(y, sb, 4);
  store<f32>(y, sc, 8);
  store<f32>(y, sd, 12);
}

function matvecSimd<W>(x: usize, w: usize, y: usize, K: i32, N: i32): void {
  const rowBytes = <usize>K * <usize>sizeof<W>();
  let n = 0;
  for (; n + 4 <= N; n += 4) dot4Simd<W>(x, w + <usize>n * rowBytes, rowBytes, K, y + f4(n));
  for (; n < N; n++) store<f32>(y + f4(n), dotSimd<W>(x, w + <usize>n * rowBytes, K));
}

/** y[r] = ⟨x, w + r·rowBytes⟩ for r = 0..3 with scalar accumulators (four streams, shared x). */
@inline function dot4Scalar<W>(x: usize, w: usize, rowBytes: usize, K: i32, y: usize): void {
  const ws = <usize>sizeof<W>();
  let s0: f32 = 0;
  let s1: f32 = 0;
  let s2: f32 = 0;
  let s3: f32 = 0;
  for (let k = 0; k < K; k++) {
    const xk = load<f32>(x + f4(k));
    const wp = w + <usize>k * ws;
    s0 += xk * loadW<W>(wp);
    s1 += xk * loadW<W>(wp + rowBytes);
    s2 += xk * loadW<W>(wp + 2 * rowBytes);
    s3 += xk * loadW<W>(wp + 3 * rowBytes);
  }
  store<f32>(y, s0);
  store<f32>(y, s1, 4);
  store<f32>(y, s2, 8);
  store<f32>(y, s3, 12);
}

function matvecScalar<W>(x: usize, w: usize, y: usize, K: i32, N: i32): void {
  const rowBytes = <usize>K * <usize>sizeof<W>();
  let n = 0;
  for (; n + 4 <= N; n += 4) dot4Scalar<W>(x, w + <usize>n * rowBytes, rowBytes, K, y + f4(n));
  for (; n < N; n++) store<f32>(y + f4(n), dotScalar<W>(x, w + <usize>n * rowBytes, K));
}

/** 4 tokens (x, x + xs, …) × 2 weight rows (w, w + wr) → y[t·ys + r]. */
@inline function micro4x2Simd<W>(x: usize, xs: usize, w: usize, wr: usize, K: i32, y: usize, ys: usize): void {
  const ws = <usize>sizeof<W>();
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const xp = x + f4(k);
    const wp = w + <usize>k * ws;
    const w0 = loadW4<W>(wp);
    const w1 = loadW4<W>(wp + wr);
    let xv = v128.load(xp);
    c00 = f32x4.add(c00, f32x4.mul(xv, w0));
    c01 = f32x4.add(c01, f32x4.mul(xv, w1));
    xv = v128.load(xp + xs);
    c10 = f32x4.add(c10, f32x4.mul(xv, w0));
    c11 = f32x4.add(c11, f32x4.mul(xv, w1));
    xv = v128.load(xp + 2 * xs);
    c20 = f32x4.add(c20, f32x4.mul(xv, w0));
    c21 = f32x4.add(c21, f32x4.mul(xv, w1));
    xv = v128.load(xp + 3 * xs);
    c30 = f32x4.add(c30, f32x4.mul(xv, w0));
    c31 = f32x4.add(c31, f32x4.mul(xv, w1));
  }
  let s00 = hsum(c00);
  let s01 = hsum(c01);
  let s10 = hsum(c10);
  let s11 = hsum(c11);
  let s20 = hsum(c20);
  let s21 = hsum(c21);
  let s30 = hsum(c30);
  let s31 = hsum(c31);
  for (; k < K; k++) {
    const w0 = loadW<W>(w + <usize>k * ws);
    const w1 = loadW<W>(w + wr + <usize>k * ws);
    const xp = x + f4(k);
    s00 += load<f32>(xp) * w0;
    s01 += load<f32>(xp) * w1;
    s10 += load<f32>(xp + xs) * w0;
    s11 += load<f32>(xp + xs) * w1;
    s20 += load<f32>(xp + 2 * xs) * w0;
    s21 += load<f32>(xp + 2 * xs) * w1;
    s30 += load<f32>(xp + 3 * xs) * w0;
    s31 += load<f32>(xp + 3 * xs) * w1;
  }
  store<f32>(y, s00);
  store<f32>(y, s01, 4);
  store<f32>(y + ys, s10);
  store<f32>(y + ys, s11, 4);
  store<f32>(y + 2 * ys, s20);
  store<f32>(y + 2 * ys, s21, 4);
  store<f32>(y + 3 * ys, s30);
  store<f32>(y + 3 * ys, s31, 4);
}

/** 4 tokens × 1 weight row with scalar accumulators → y[t·ys]. */
@inline function micro4x1Scalar<W>(x: usize, xs: usize, w: usize, K: i32, y: usize, ys: usize): void {
  const ws = <usize>sizeof<W>();
  let s0: f32 = 0;
  let s1: f32 = 0;
  let s2: f32 = 0;
  let s3: f32 = 0;
  for (let k = 0; k < K; k++) {
    const wk = loadW<W>(w + <usize>k * ws);
    const xp = x + f4(k);
    s0 += load<f32>(xp) * wk;
    s1 += load<f32>(xp + xs) * wk;
    s2 += load<f32>(xp + 2 * xs) * wk;
    s3 += load<f32>(xp + 3 * xs) * wk;
  }
  store<f32>(y, s0);
  store<f32>(y + ys, s1);
  store<f32>(y + 2 * ys, s2);
  store<f32>(y + 3 * ys, s3);
}

/** Rows per prefill row block for rows of rowBytes bytes (an even count ≥ 2). */
@inline export function rowBlock(rowBytes: usize): i32 {
  return max<i32>(2, (ROW_BLOCK_BYTES / <i32>max<usize>(rowBytes, 1)) & ~1);
}

/** Y[t, n] = ⟨X[t, :], W[n, :]⟩ with row strides xs, rowBytes, ys (bytes). */
function gemmSimd<W>(x: usize, xs: usize, w: usize, rowBytes: usize, y: usize, ys: usize, T: i32, K: i32, N: i32): void {
  const block = rowBlock(rowBytes);
  for (let n0 = 0; n0 < N; n0 += block) {
    const n1 = min(N, n0 + block);
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const xt = x + <usize>t * xs;
      const yt = y + <usize>t * ys;
      let n = n0;
      for (; n + 2 <= n1; n += 2) micro4x2Simd<W>(xt, xs, w + <usize>n * rowBytes, rowBytes, K, yt + f4(n), ys);
      for (; n < n1; n++) {
        for (let j = 0; j < 4; j++) {
          store<f32>(yt + <usize>j * ys + f4(n), dotSimd<W>(xt + <usize>j * xs, w + <usize>n * rowBytes, K));
        }
      }
    }
    for (; t < T; t++) {
      for (let n = n0; n < n1; n++) {
        store<f32>(y + <usize>t * ys + f4(n), dotSimd<W>(x + <usize>t * xs, w + <usize>n * rowBytes, K));
      }
    }
  }
}

function gemmScalar<W>(x: usize, xs: usize, w: usize, rowBytes: usize, y: usize, ys: usize, T: i32, K: i32, N: i32): void {
  const block = rowBlock(rowBytes);
  for (let n0 = 0; n0 < N; n0 += block) {
    const n1 = min(N, n0 + block);
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      for (let n = n0; n < n1; n++) {
        micro4x1Scalar<W>(x + <usize>t * xs, xs, w + <usize>n * rowBytes, K, y + <usize>t * ys + f4(n), ys);
      }
    }
    for (; t < T; t++) {
      for (let n = n0; n < n1; n++) {
        store<f32>(y + <usize>t * ys + f4(n), dotScalar<W>(x + <usize>t * xs, w + <usize>n * rowBytes, K));
      }
    }
  }
}

function matmulSimd<W>(x: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  gemmSimd<W>(x, f4(K), w, <usize>K * <usize>sizeof<W>(), y, f4(N), T, K, N);
}

function matmulScalar<W>(x: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  gemmScalar<W>(x, f4(K), w, <usize>K * <usize>sizeof<W>(), y, f4(N), T, K, N);
}

/**
 * Strided f32 Y(T, N) = X(T, K) · W(N, K)ᵀ with row strides xs, ws, ys in bytes (operands inside
 * wider rows, e.g. the SSD's C, B and x slices); the SIMD twin where the build has SIMD and `simd`.
 */
@inline export function gemmF32(
  simd: bool, x: usize, xs: usize, w: usize, ws: usize, y: usize, ys: usize, T: i32, K: i32, N: i32,
): void {
  if (ASC_FEATURE_SIMD) {
    if (simd) {
      gemmSimd<f32>(x, xs, w, ws, y, ys, T, K, N);
      return;
    }
  }
  gemmScalar<f32>(x, xs, w, ws, y, ys, T, K, N);
}

/** y(N) = W(N, K) · x(K), f32 weights. */
export function f32_matvec(x: usize, w: usize, y: usize, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matvecSimd<f32>(x, w, y, K, N);
  else matvecScalar<f32>(x, w, y, K, N);
}

export function f32_matvec_scalar(x: usize, w: usize, y: usize, K: i32, N: i32): void {
  matvecScalar<f32>(x, w, y, K, N);
}

/** y(N) = W(N, K) · x(K), bf16 weights. */
export function bf16_matvec(x: usize, w: usize, y: usize, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matvecSimd<u16>(x, w, y, K, N);
  else matvecScalar<u16>(x, w, y, K, N);
}

export function bf16_matvec_scalar(x: usize, w: usize, y: usize, K: i32, N: i32): void {
  matvecScalar<u16>(x, w, y, K, N);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, f32 weights; T = 1 takes the matvec path. */
export function f32_matmul(x: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  if (T == 1) f32_matvec(x, w, y, K, N);
  else if (ASC_FEATURE_SIMD) matmulSimd<f32>(x, w, y, T, K, N);
  else matmulScalar<f32>(x, w, y, T, K, N);
}

export function f32_matmul_scalar(x: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmulScalar<f32>(x, w, y, T, K, N);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, bf16 weights; T = 1 takes the matvec path. */
export function bf16_matmul(x: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  if (T == 1) bf16_matvec(x, w, y, K, N);
  else if (ASC_FEATURE_SIMD) matmulSimd<u16>(x, w, y, T, K, N);
  else matmulScalar<u16>(x, w, y, T, K, N);
}

export function bf16_matmul_scalar(x: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmulScalar<u16>(x, w, y, T, K, N);
}
