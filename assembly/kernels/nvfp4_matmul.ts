// spec §14.1, DESIGN §3: linear layers with 4-bit weights, Y(T, N) = X(T, K) · W(N, K)ᵀ, fused:
// each weight block is decoded in registers (fp4_decode.ts) and multiplied at once; no f32 copy
// of a weight exists. A variant of the bench build (bench.ts): the backend's 4-bit kernels round x
// to int16 or int8 (fp4_q16_matvec.ts, fp4_i8_relaxed.ts, nvfp4s24_gather.ts) and are faster. The drivers here are generic over the format F: u8 = nvfp4 (this file's
// exports), u16 = nvfp4-s24 (nvfp4s24_matmul.ts's exports).
//   W[n, k] = E2M1(code[n, k]) · E4M3(scale[n, ⌊k/16⌋]) · scale2,   K a multiple of 16 (validated)
//   nvfp4:     codes u8 (N, K/2), scales E4M3 u8 (N, K/16)
//   nvfp4-s24: codes u8 (N, K/4), positions u8 (N, K/8), scales E4M3 u8 (N, K/16)
// Per block of 16 elements the partial dot b = Σ x_k · 2·E2M1_k is summed in f32x4 lanes, then
// acc += b · E4M3(s) (per row, f32x4); at the row's end y = hsum(acc) · scale2 / 2.
// Decode (T = 1), stems …_matvec: four rows at a time share each block's x loads (four code
//   streams); the last N mod 4 rows take the one-row dot.
// Prefill (T > 1), stems …_matmul: rows are walked in row blocks that stay in L2 (matmul.ts's
//   rowBlock); inside, each decoded weight block is used by 4 tokens (4 accumulators) before the
//   next is decoded; the last T mod 4 tokens take the one-row dot.
// Scalar twins (…_scalar): per block a scalar sum of x_k · E2M1_k, then acc += sum · E4M3(s),
//   y = acc · scale2, one token and row at a time in the same row-block order.
// Error budget (u = 2⁻²⁴): 2·E2M1 and E4M3 are exact; a product x·2·E2M1 rounds once; a block's
//   lanes take 3 (SIMD) or 16 (scalar) sequential additions, ·E4M3 and += one each, the lane sum
//   and ·scale2/2 three more: |ŷ − y| ≤ (K/16 + 24)·u·Σ_k |x_k w_k| for both twins.

import { addScaled, blockDotAt, blockDotS24Scalar, blockDotScalar, blockDotW8, decodeBlock, decodeBlockS24, e4m3At, quarter } from './fp4_decode';
import { codeBytes } from './fp4_rows4';
import { f4, hsum } from './lanes';
import { rowBlock } from './matmul';

/** Block b of a row: codes c, positions p (s24 only; 2 bytes per block). */
@inline export function decodeAt<F>(c: usize, p: usize, b: i32): v128 {
  if (sizeof<F>() == 1) return decodeBlock(c + (<usize>b << 3));
  return decodeBlockS24(c + (<usize>b << 2), p + (<usize>b << 1));
}

@inline function blockScalar<F>(xp: usize, c: usize, p: usize, b: i32): f32 {
  if (sizeof<F>() == 1) return blockDotScalar(xp, c + (<usize>b << 3));
  return blockDotS24Scalar(xp, c + (<usize>b << 2), p + (<usize>b << 1));
}

/** y[i·stride] = hsum(a_i) · g for the four accumulators (four rows, or four tokens). */
@inline export function store4(y: usize, stride: usize, a0: v128, a1: v128, a2: v128, a3: v128, g: f32): void {
  store<f32>(y, hsum(a0) * g);
  store<f32>(y + stride, hsum(a1) * g);
  store<f32>(y + 2 * stride, hsum(a2) * g);
  store<f32>(y + 3 * stride, hsum(a3) * g);
}

/** One row (codes c, positions p, scales s) against x: Σ_k x_k · 2·E2M1_k · E4M3 (no scale2). */
@inline function rowDotSimd<F>(x: usize, c: usize, p: usize, s: usize, K: i32): f32 {
  let acc = f32x4.splat(0);
  const nb = K >> 4;
  for (let b = 0; b < nb; b++) {
    const xp = x + f4(b << 4);
    const blk = blockDotW8(v128.load(xp), v128.load(xp, 16), v128.load(xp, 32), v128.load(xp, 48), decodeAt<F>(c, p, b));
    acc = addScaled(acc, blk, e4m3At(s + b));
  }
  return hsum(acc);
}

/** Four rows (row strides cr, pr, sr) against one x → y[0..3], times g = scale2 / 2. */
@inline function rowDot4Simd<F>(x: usize, c: usize, cr: usize, p: usize, pr: usize, s: usize, sr: usize, K: i32, y: usize, g: f32): void {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  const nb = K >> 4;
  for (let b = 0; b < nb; b++) {
    const xp = x + f4(b << 4);
    const x0 = v128.load(xp);
    const x1 = v128.load(xp, 16);
    const x2 = v128.load(xp, 32);
    const x3 = v128.load(xp, 48);
    const so = s + <usize>b;
    a0 = addScaled(a0, blockDotW8(x0, x1, x2, x3, decodeAt<F>(c, p, b)), e4m3At(so));
    a1 = addScaled(a1, blockDotW8(x0, x1, x2, x3, decodeAt<F>(c + cr, p + pr, b)), e4m3At(so + sr));
    a2 = addScaled(a2, blockDotW8(x0, x1, x2, x3, decodeAt<F>(c + 2 * cr, p + 2 * pr, b)), e4m3At(so + 2 * sr));
    a3 = addScaled(a3, blockDotW8(x0, x1, x2, x3, decodeAt<F>(c + 3 * cr, p + 3 * pr, b)), e4m3At(so + 3 * sr));
  }
  store4(y, 4, a0, a1, a2, a3, g);
}

/** 4 tokens (x, x + xs, …) × one row → y[t·ys], times g = scale2 / 2. */
@inline function micro4Simd<F>(x: usize, xs: usize, c: usize, p: usize, s: usize, K: i32, y: usize, ys: usize, g: f32): void {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  const nb = K >> 4;
  for (let b = 0; b < nb; b++) {
    const w16 = decodeAt<F>(c, p, b);
    const w0 = quarter(w16, 0);
    const w1 = quarter(w16, 1);
    const w2 = quarter(w16, 2);
    const w3 = quarter(w16, 3);
    const sc = e4m3At(s + b);
    const xp = x + f4(b << 4);
    a0 = addScaled(a0, blockDotAt(xp, w0, w1, w2, w3), sc);
    a1 = addScaled(a1, blockDotAt(xp + xs, w0, w1, w2, w3), sc);
    a2 = addScaled(a2, blockDotAt(xp + 2 * xs, w0, w1, w2, w3), sc);
    a3 = addScaled(a3, blockDotAt(xp + 3 * xs, w0, w1, w2, w3), sc);
  }
  store4(y, ys, a0, a1, a2, a3, g);
}

/** y(N) = W(N, K) · x(K) for format F, SIMD (positions p unused for nvfp4). */
export function matvecFp4Simd<F>(x: usize, c: usize, p: usize, s: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  const cr = <usize>(K >> 4) * codeBytes<F>();
  const pr = <usize>(K >> 3);
  const sr = <usize>(K >> 4);
  const g = scale2 * 0.5;
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    rowDot4Simd<F>(x, c + <usize>n * cr, cr, p + <usize>n * pr, pr, s + <usize>n * sr, sr, K, y + f4(n), g);
  }
  for (; n < N; n++) store<f32>(y + f4(n), rowDotSimd<F>(x, c + <usize>n * cr, p + <usize>n * pr, s + <usize>n * sr, K) * g);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ for format F, SIMD. */
export function matmulFp4Simd<F>(x: usize, c: usize, p: usize, s: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  const cr = <usize>(K >> 4) * codeBytes<F>();
  const pr = sizeof<F>() == 1 ? 0 : <usize>(K >> 3);
  const sr = <usize>(K >> 4);
  const xs = f4(K);
  const ys = f4(N);
  const g = scale2 * 0.5;
  const block = rowBlock(cr + pr + sr);
  for (let n0 = 0; n0 < N; n0 += block) {
    const n1 = min(N, n0 + block);
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      for (let n = n0; n < n1; n++) {
        micro4Simd<F>(x + <usize>t * xs, xs, c + <usize>n * cr, p + <usize>n * pr, s + <usize>n * sr, K, y + <usize>t * ys + f4(n), ys, g);
      }
    }
    for (; t < T; t++) {
      for (let n = n0; n < n1; n++) {
        store<f32>(y + <usize>t * ys + f4(n), rowDotSimd<F>(x + <usize>t * xs, c + <usize>n * cr, p + <usize>n * pr, s + <usize>n * sr, K) * g);
      }
    }
  }
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ for format F, scalar (T = 1 is the matvec). */
export function matmulFp4Scalar<F>(x: usize, c: usize, p: usize, s: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  const cr = <usize>(K >> 4) * codeBytes<F>();
  const pr = sizeof<F>() == 1 ? 0 : <usize>(K >> 3);
  const sr = <usize>(K >> 4);
  const nb = K >> 4;
  const block = rowBlock(cr + pr + sr);
  for (let n0 = 0; n0 < N; n0 += block) {
    const n1 = min(N, n0 + block);
    for (let t = 0; t < T; t++) {
      const xt = x + <usize>t * f4(K);
      for (let n = n0; n < n1; n++) {
        const cn = c + <usize>n * cr;
        const pn = p + <usize>n * pr;
        const sn = s + <usize>n * sr;
        let acc: f32 = 0;
        for (let b = 0; b < nb; b++) acc += blockScalar<F>(xt + f4(b << 4), cn, pn, b) * e4m3At(sn + b);
        store<f32>(y + <usize>t * f4(N) + f4(n), acc * scale2);
      }
    }
  }
}

/** y(N) = W(N, K) · x(K), nvfp4 weights (codes (N, K/2), scales (N, K/16), scale2). */
export function nvfp4_matvec(x: usize, codes: usize, scales: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matvecFp4Simd<u8>(x, codes, 0, scales, scale2, y, K, N);
  else matmulFp4Scalar<u8>(x, codes, 0, scales, scale2, y, 1, K, N);
}

export function nvfp4_matvec_scalar(x: usize, codes: usize, scales: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  matmulFp4Scalar<u8>(x, codes, 0, scales, scale2, y, 1, K, N);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, nvfp4 weights; T = 1 takes the matvec path. */
export function nvfp4_matmul(x: usize, codes: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (T == 1) nvfp4_matvec(x, codes, scales, scale2, y, K, N);
  else if (ASC_FEATURE_SIMD) matmulFp4Simd<u8>(x, codes, 0, scales, scale2, y, T, K, N);
  else matmulFp4Scalar<u8>(x, codes, 0, scales, scale2, y, T, K, N);
}

export function nvfp4_matmul_scalar(x: usize, codes: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  matmulFp4Scalar<u8>(x, codes, 0, scales, scale2, y, T, K, N);
}
