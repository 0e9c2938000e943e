// spec §13 (GGUF block types), §4.4 (every linear layer): Y(T, N) = X(T, K) · W(N, K)ᵀ with W kept
// in ggml's blocks as a GGUF stores them (engine/formats/ggml-types.ts, kquants.ts, legacy-quants.ts
// give the layouts): stems ggml_q8_0_matmul, ggml_q4_0_matmul, ggml_q4_1_matmul, ggml_q5_0_matmul,
// ggml_q5_1_matmul, ggml_q4_k_matmul, ggml_q5_k_matmul, ggml_q6_k_matmul. X and Y are f32; each
// weight row is `K / blockValues` blocks; `scratch` holds K f32 (one decoded row).
// Each weight row is decoded once into scratch, to exactly the f32 ggml's dequantiser gives
// (code·d − m: code·d is exact, so the one rounding is the subtraction's (Q4_1, Q5_1: code·d − (−m));
// Q6_K: fl(d·sc)·q, d·sc exact), then dotted with every token by f32_matmul's dot (matmul.ts
// dotF32): the outputs are those of f32 matvec on the dequantised row, and each token's output is
// the same bit for bit whatever T (a token decoded alone equals it in a prefill or verify pass).
// Lane mapping (SIMD decode): 16 codes per v128 (u8 lanes) are widened to 4 f32x4 and stored.
// The scalar twins (…_scalar) decode one weight at a time and take the scalar dot.
// Error budget (f32 accumulation, u = 2⁻²⁴, matmul.ts): |ŷ − y| ≤ (K/4 + 4)·u·Σ_k |x_k w_k| (SIMD)
// and (K + 1)·u·Σ_k |x_k w_k| (scalar) against the f64 dot product with the dequantised weights.

import { f4 } from './lanes';
import { dotF32 } from './matmul';

/** Value of f16 bits h (normals, subnormals m·2⁻²⁴, ±0, inf, NaN), exact. */
@inline function half(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e == 0x1f) return reinterpret<f32>(sign | 0x7f800000 | (m << 13));
  if (e != 0) return reinterpret<f32>(sign | ((e + 112) << 23) | (m << 13));
  const v = <f32>m * 5.9604644775390625e-8; // m · 2⁻²⁴, exact
  return sign ? -v : v;
}

@inline function halfAt(p: usize): f32 {
  return half(<u32>load<u16>(p));
}

/** Scale (low 16 bits) and min (high 16 bits) of sub-block j of the 12 packed bytes at p (get_scale_min_k4). */
@inline function scaleMin(p: usize, j: i32): u32 {
  if (j < 4) return (<u32>load<u8>(p + j) & 63) | ((<u32>load<u8>(p + j + 4) & 63) << 16);
  const a = <u32>load<u8>(p + j + 4);
  const sc = (a & 0xf) | ((<u32>load<u8>(p + j - 4) >> 6) << 4);
  const m = (a >> 4) | ((<u32>load<u8>(p + j) >> 6) << 4);
  return sc | (m << 16);
}

// ---- SIMD decode: 16 codes at a time ----

/** dst[0..16) = code_i·d − m (f32), codes unsigned u8 lanes (< 128). */
@inline function put16u(codes: v128, dst: usize, d: v128, m: v128): void {
  const lo = i16x8.extend_low_i8x16_u(codes);
  const hi = i16x8.extend_high_i8x16_u(codes);
  v128.store(dst, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d), m));
  v128.store(dst, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), m), 16);
  v128.store(dst, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), m), 32);
  v128.store(dst, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), m), 48);
}

/** dst[0..16) = q_i·d (f32), q signed i8 lanes. */
@inline function put16s(q: v128, dst: usize, d: v128): void {
  const lo = i16x8.extend_low_i8x16_s(q);
  const hi = i16x8.extend_high_i8x16_s(q);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d));
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), 16);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), 32);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), 48);
}

// Q8_0 block (34 bytes): f16 d | i8 q[32]
function q8_0DecodeSimd(dst: usize, w: usize, K: i32): void {
  for (let k = 0; k < K; k += 32, w += 34) {
    const d = f32x4.splat(halfAt(w));
    const dp = dst + f4(k);
    put16s(v128.load(w + 2), dp, d);
    put16s(v128.load(w + 18), dp + 64, d);
  }
}

// Q4_0 block (18 bytes): f16 d | u8 qs[16]; dst[j] = lo(qs[j])·d − 8d, dst[j+16] from the high nibble
function q4_0DecodeSimd(dst: usize, w: usize, K: i32): void {
  const low = i8x16.splat(0x0f);
  for (let k = 0; k < K; k += 32, w += 18) {
    const dd = halfAt(w);
    const d = f32x4.splat(dd);
    const m = f32x4.splat(dd * 8); // code·d − 8d = (code − 8)·d exactly
    const c = v128.load(w + 2);
    const dp = dst + f4(k);
    put16u(v128.and(c, low), dp, d, m);
    put16u(i8x16.shr_u(c, 4), dp + 64, d, m);
  }
}

/** 16 byte lanes: 0x10 where bit `first + lane` of qh is set, else 0 (Q5_0 / Q5_1 high bits). */
@inline function highBits(qh: u32, first: i32): v128 {
  const v = i32x4.splat(<i32>(qh >> first));
  const bytes = i8x16.shuffle(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const mask = v128(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return v128.and(i8x16.ne(v128.and(bytes, mask), i8x16.splat(0)), i8x16.splat(0x10));
}

// Q4_1 (20 bytes): f16 d | f16 m | qs[16]; Q5_0 (22): f16 d | u32 qh | qs[16]; Q5_1 (24): f16 d | f16 m | u32 qh | qs[16]
@inline function q32DecodeSimd(dst: usize, w: usize, K: i32, t: i32): void {
  const low = i8x16.splat(0x0f);
  const bytes: usize = t == Q4_1 ? 20 : t == Q5_0 ? 22 : 24;
  const qsAt: usize = t == Q4_1 ? 4 : t == Q5_0 ? 6 : 8;
  for (let k = 0; k < K; k += 32, w += bytes) {
    const dd = halfAt(w);
    const d = f32x4.splat(dd);
    // code·d − m: m = −min (Q4_1, Q5_1), or 16d (Q5_0: (code − 16)·d, exact)
    const m = f32x4.splat(t == Q5_0 ? dd * 16 : -halfAt(w + 2));
    const c = v128.load(w + qsAt);
    let a = v128.and(c, low);
    let b = i8x16.shr_u(c, 4);
    if (t != Q4_1) {
      const qh = load<u32>(w + (t == Q5_0 ? 2 : 4));
      a = v128.or(a, highBits(qh, 0));
      b = v128.or(b, highBits(qh, 16));
    }
    const dp = dst + f4(k);
    put16u(a, dp, d, m);
    put16u(b, dp + 64, d, m);
  }
}

// Q4_K / Q5_K super-block: f16 d | f16 dmin | scales[12] | (Q5_K: qh[32]) | qs[128]
@inline function qkDecodeSimd(dst: usize, w: usize, K: i32, five: bool): void {
  const low = i8x16.splat(0x0f);
  const one = i8x16.splat(1);
  const bytes: usize = five ? 176 : 144;
  for (let k = 0; k < K; k += 256, w += bytes) {
    const d = halfAt(w);
    const dmin = halfAt(w + 2);
    const qs = w + (five ? 48 : 16);
    let h0 = i8x16.splat(0);
    let h1 = h0;
    if (five) {
      h0 = v128.load(w + 16);
      h1 = v128.load(w + 32);
    }
    for (let g = 0; g < 4; g++) {
      const s1 = scaleMin(w + 4, 2 * g);
      const s2 = scaleMin(w + 4, 2 * g + 1);
      const d1 = f32x4.splat(d * <f32>(s1 & 0xffff));
      const m1 = f32x4.splat(dmin * <f32>(s1 >> 16));
      const d2 = f32x4.splat(d * <f32>(s2 & 0xffff));
      const m2 = f32x4.splat(dmin * <f32>(s2 >> 16));
      const c0 = v128.load(qs + 32 * g);
      const c1 = v128.load(qs + 32 * g + 16);
      let a0 = v128.and(c0, low);
      let a1 = v128.and(c1, low);
      let b0 = i8x16.shr_u(c0, 4);
      let b1 = i8x16.shr_u(c1, 4);
      if (five) {
        // bit 2g of qh adds 16 to the low-nibble codes, bit 2g+1 to the high-nibble ones
        a0 = v128.or(a0, i8x16.shl(v128.and(i8x16.shr_u(h0, 2 * g), one), 4));
        a1 = v128.or(a1, i8x16.shl(v128.and(i8x16.shr_u(h1, 2 * g), one), 4));
        b0 = v128.or(b0, i8x16.shl(v128.and(i8x16.shr_u(h0, 2 * g + 1), one), 4));
        b1 = v128.or(b1, i8x16.shl(v128.and(i8x16.shr_u(h1, 2 * g + 1), one), 4));
      }
      const dp = dst + f4(k + 64 * g);
      put16u(a0, dp, d1, m1);
      put16u(a1, dp + 64, d1, m1);
      put16u(b0, dp + 128, d2, m2);
      put16u(b1, dp + 192, d2, m2);
    }
  }
}

// Q6_K super-block (210 bytes): ql[128] | qh[64] | i8 scales[16] | f16 d
function q6_kDecodeSimd(dst: usize, w: usize, K: i32): void {
  const low = i8x16.splat(0x0f);
  const three = i8x16.splat(3);
  const bias = i8x16.splat(32);
  for (let k = 0; k < K; k += 256, w += 210) {
    const d = halfAt(w + 208);
    for (let h = 0; h < 2; h++) {
      const ql = w + 64 * h;
      const qh = w + 128 + 32 * h;
      const sc = w + 192 + 8 * h;
      for (let l = 0; l < 32; l += 16) {
        const lA = v128.load(ql + l);
        const lB = v128.load(ql + 32 + l);
        const hb = v128.load(qh + l);
        for (let p = 0; p < 4; p++) {
          const nib = p == 0 ? v128.and(lA, low) : p == 1 ? v128.and(lB, low) : p == 2 ? i8x16.shr_u(lA, 4) : i8x16.shr_u(lB, 4);
          const code = v128.or(nib, i8x16.shl(v128.and(i8x16.shr_u(hb, 2 * p), three), 4));
          const s = f32x4.splat(d * <f32>load<i8>(sc + 2 * p + (l >> 4))); // d·sc exact
          put16s(i8x16.sub(code, bias), dst + f4(k + 128 * h + 32 * p + l), s);
        }
      }
    }
  }
}

// ---- scalar twins: one weight at a time, the same decoded values ----

function q8_0DecodeScalar(dst: usize, w: usize, K: i32): void {
  for (let k = 0; k < K; k += 32, w += 34) {
    const d = halfAt(w);
    for (let j = 0; j < 32; j++) store<f32>(dst + f4(k + j), <f32>load<i8>(w + 2 + j) * d);
  }
}

function q4_0DecodeScalar(dst: usize, w: usize, K: i32): void {
  for (let k = 0; k < K; k += 32, w += 18) {
    const d = halfAt(w);
    const m = d * 8;
    for (let j = 0; j < 16; j++) {
      const c = <u32>load<u8>(w + 2 + j);
      store<f32>(dst + f4(k + j), <f32>(c & 0xf) * d - m);
      store<f32>(dst + f4(k + j + 16), <f32>(c >> 4) * d - m);
    }
  }
}

function q32DecodeScalar(dst: usize, w: usize, K: i32, t: i32): void {
  const bytes: usize = t == Q4_1 ? 20 : t == Q5_0 ? 22 : 24;
  const qsAt: usize = t == Q4_1 ? 4 : t == Q5_0 ? 6 : 8;
  for (let k = 0; k < K; k += 32, w += bytes) {
    const d = halfAt(w);
    const m = t == Q5_0 ? d * 16 : -halfAt(w + 2);
    const qh = t == Q4_1 ? 0 : load<u32>(w + (t == Q5_0 ? 2 : 4));
    for (let j = 0; j < 16; j++) {
      const c = <u32>load<u8>(w + qsAt + j);
      const a = (c & 0xf) | (((qh >> j) & 1) << 4);
      const b = (c >> 4) | (((qh >> (j + 16)) & 1) << 4);
      store<f32>(dst + f4(k + j), <f32>a * d - m);
      store<f32>(dst + f4(k + j + 16), <f32>b * d - m);
    }
  }
}

function qkDecodeScalar(dst: usize, w: usize, K: i32, five: bool): void {
  const bytes: usize = five ? 176 : 144;
  for (let k = 0; k < K; k += 256, w += bytes) {
    const d = halfAt(w);
    const dmin = halfAt(w + 2);
    const qs = w + (five ? 48 : 16);
    for (let g = 0; g < 4; g++) {
      const s1 = scaleMin(w + 4, 2 * g);
      const s2 = scaleMin(w + 4, 2 * g + 1);
      const d1 = d * <f32>(s1 & 0xffff);
      const m1 = dmin * <f32>(s1 >> 16);
      const d2 = d * <f32>(s2 & 0xffff);
      const m2 = dmin * <f32>(s2 >> 16);
      for (let l = 0; l < 32; l++) {
        const c = <u32>load<u8>(qs + 32 * g + l);
        let a = c & 0xf;
        let b = c >> 4;
        if (five) {
          const hb = <u32>load<u8>(w + 16 + l);
          a += ((hb >> (2 * g)) & 1) << 4;
          b += ((hb >> (2 * g + 1)) & 1) << 4;
        }
        store<f32>(dst + f4(k + 64 * g + l), <f32>a * d1 - m1);
        store<f32>(dst + f4(k + 64 * g + 32 + l), <f32>b * d2 - m2);
      }
    }
  }
}

function q6_kDecodeScalar(dst: usize, w: usize, K: i32): void {
  for (let k = 0; k < K; k += 256, w += 210) {
    const d = halfAt(w + 208);
    for (let h = 0; h < 2; h++) {
      for (let p = 0; p < 4; p++) {
        for (let l = 0; l < 32; l++) {
          const b = <u32>load<u8>(w + 64 * h + 32 * (p & 1) + l);
          const nib = p < 2 ? b & 0xf : b >> 4;
          const hi = (<u32>load<u8>(w + 128 + 32 * h + l) >> (2 * p)) & 3;
          const q = <i32>(nib | (hi << 4)) - 32;
          const sc = d * <f32>load<i8>(w + 192 + 8 * h + 2 * p + (l >> 4));
          store<f32>(dst + f4(k + 128 * h + 32 * p + l), <f32>q * sc);
        }
      }
    }
  }
}

// ---- drivers: each row decoded once, then dotted with every token ----

const Q8_0: i32 = 0;
const Q4_0: i32 = 1;
const Q4_K: i32 = 2;
const Q5_K: i32 = 3;
const Q6_K: i32 = 4;
const Q4_1: i32 = 5;
const Q5_0: i32 = 6;
const Q5_1: i32 = 7;

/** Bytes of one weight row of K values of block type `t`. */
@inline function rowBytes(t: i32, K: i32): usize {
  if (t == Q8_0) return <usize>(K / 32) * 34;
  if (t == Q4_0) return <usize>(K / 32) * 18;
  if (t == Q4_K) return <usize>(K / 256) * 144;
  if (t == Q5_K) return <usize>(K / 256) * 176;
  if (t == Q4_1) return <usize>(K / 32) * 20;
  if (t == Q5_0) return <usize>(K / 32) * 22;
  if (t == Q5_1) return <usize>(K / 32) * 24;
  return <usize>(K / 256) * 210;
}

/** Row w (K values of block type t) decoded to f32 at dst (K floats): the values ggml's dequantiser gives. */
@inline function decodeRow(t: i32, simd: bool, w: usize, dst: usize, K: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (simd) {
      if (t == Q8_0) q8_0DecodeSimd(dst, w, K);
      else if (t == Q4_0) q4_0DecodeSimd(dst, w, K);
      else if (t == Q4_K) qkDecodeSimd(dst, w, K, false);
      else if (t == Q5_K) qkDecodeSimd(dst, w, K, true);
      else if (t == Q6_K) q6_kDecodeSimd(dst, w, K);
      else q32DecodeSimd(dst, w, K, t);
      return;
    }
  }
  if (t == Q8_0) q8_0DecodeScalar(dst, w, K);
  else if (t == Q4_0) q4_0DecodeScalar(dst, w, K);
  else if (t == Q4_K) qkDecodeScalar(dst, w, K, false);
  else if (t == Q5_K) qkDecodeScalar(dst, w, K, true);
  else if (t == Q6_K) q6_kDecodeScalar(dst, w, K);
  else q32DecodeScalar(dst, w, K, t);
}

@inline function matmul(t: i32, simd: bool, x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  const rb = rowBytes(t, K);
  for (let n = 0; n < N; n++) {
    decodeRow(t, simd, w + <usize>n * rb, scratch, K);
    for (let tok = 0; tok < T; tok++) store<f32>(y + f4(tok * N + n), dotF32(simd, x + f4(tok * K), scratch, K));
  }
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, W in Q8_0 blocks (K a multiple of 32). */
export function ggml_q8_0_matmul(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q8_0, true, x, scratch, w, y, T, K, N);
}
export function ggml_q8_0_matmul_scalar(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q8_0, false, x, scratch, w, y, T, K, N);
}
/** Y(T, N) = X(T, K) · W(N, K)ᵀ, W in Q4_0 blocks (K a multiple of 32). */
export function ggml_q4_0_matmul(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q4_0, true, x, scratch, w, y, T, K, N);
}
export function ggml_q4_0_matmul_scalar(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q4_0, false, x, scratch, w, y, T, K, N);
}
/** Y(T, N) = X(T, K) · W(N, K)ᵀ, W in Q4_K super-blocks (K a multiple of 256). */
export function ggml_q4_k_matmul(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q4_K, true, x, scratch, w, y, T, K, N);
}
export function ggml_q4_k_matmul_scalar(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q4_K, false, x, scratch, w, y, T, K, N);
}
/** Y(T, N) = X(T, K) · W(N, K)ᵀ, W in Q5_K super-blocks (K a multiple of 256). */
export function ggml_q5_k_matmul(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q5_K, true, x, scratch, w, y, T, K, N);
}
export function ggml_q5_k_matmul_scalar(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q5_K, false, x, scratch, w, y, T, K, N);
}
/** Y(T, N) = X(T, K) · W(N, K)ᵀ, W in Q6_K super-blocks (K a multiple of 256). */
export function ggml_q6_k_matmul(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q6_K, true, x, scratch, w, y, T, K, N);
}
export function ggml_q6_k_matmul_scalar(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q6_K, false, x, scratch, w, y, T, K, N);
}
/** Y(T, N) = X(T, K) · W(N, K)ᵀ, W in Q4_1 blocks (K a multiple of 32). */
export function ggml_q4_1_matmul(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q4_1, true, x, scratch, w, y, T, K, N);
}
export function ggml_q4_1_matmul_scalar(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q4_1, false, x, scratch, w, y, T, K, N);
}
/** Y(T, N) = X(T, K) · W(N, K)ᵀ, W in Q5_0 blocks (K a multiple of 32). */
export function ggml_q5_0_matmul(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q5_0, true, x, scratch, w, y, T, K, N);
}
export function ggml_q5_0_matmul_scalar(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q5_0, false, x, scratch, w, y, T, K, N);
}
/** Y(T, N) = X(T, K) · W(N, K)ᵀ, W in Q5_1 blocks (K a multiple of 32). */
export function ggml_q5_1_matmul(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q5_1, true, x, scratch, w, y, T, K, N);
}
export function ggml_q5_1_matmul_scalar(x: usize, scratch: usize, w: usize, y: usize, T: i32, K: i32, N: i32): void {
  matmul(Q5_1, false, x, scratch, w, y, T, K, N);
}
