// spec §13: ggml's K-quant block types Q4_K, Q5_K and Q6_K (ggml-common.h, ggml-quants.c), as
// community GGUFs (Q4_K_M, Q5_K_M, Q6_K …) store linear weights. Super-blocks of 256 values;
// blocks follow each other along a row. All little-endian.
//
//   Q4_K (144 bytes): f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
//   Q5_K (176 bytes): f16 d | f16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]
//   Q6_K (210 bytes): u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d
//
// Q4_K / Q5_K: 8 sub-blocks of 32, each with a 6-bit scale sc_s and a 6-bit min m_s packed in
// `scales` (get_scale_min_k4): for s < 4, sc_s = b[s] & 63, m_s = b[s+4] & 63; for s ≥ 4,
// sc_s = (b[s+4] & 15) | (b[s−4] >> 6) << 4, m_s = (b[s+4] >> 4) | (b[s] >> 6) << 4.
// Value j of the 64-value group g (0 ≤ g < 4, sub-blocks 2g and 2g+1) uses byte qs[32g + (j & 31)]:
// its low nibble for j < 32, its high nibble for j ≥ 32; Q5_K adds 16 when bit 2g (j < 32) or
// 2g+1 (j ≥ 32) of qh[j & 31] is set. Then x = fl(d·sc_s)·q − fl(dmin·m_s), in f32.
// Q6_K: 16 sub-blocks of 16 with int8 scales; value j of the 128-value half h (0 ≤ h < 2):
// l = j & 31, part p = j >> 5 (0..3), low nibble of ql[64h + l + 32(p & 1)] (high nibble when p ≥ 2),
// high 2 bits from bits 2p..2p+1 of qh[32h + l]; q = that 6-bit code − 32, x = fl(d·sc)·q with
// sc = scales[8h + 2p + (l >> 4)].
//
// Exactness (why these decoders equal ggml's `dequantize_row_*` bit for bit): d, dmin are f16
// (11 significant bits), sc and m 6 bits, q ≤ 5 bits, so fl(d·sc)·q and dmin·m are exact in f32
// and the one f32 rounding is that of the final subtraction; in Q6_K d·sc (11 + 8 bits) is exact
// and the product with q (6 bits) is rounded once. Here each value is computed exactly in f64 and
// rounded once with Math.fround, the same single rounding (with or without FMA contraction in C).
//
// Quantisers (used by the GGUF writer and the tests) are edgetron's own min/max ones, not ggml's
// error-searching `make_qkx2_quants`: their blocks are valid for every reader, their error is a
// little larger (bounded in tests/engine/formats/kquants.test.ts).

import { readF16, roundAway, writeF16 } from './dtype.js';

/** Values per K-quant super-block (ggml QK_K). */
export const QK_K = 256;
/** Bytes of one super-block of each K-quant type. */
export const Q4_K_BYTES = 144;
export const Q5_K_BYTES = 176;
export const Q6_K_BYTES = 210;

const f = Math.fround;

/**
 * Scale and min of sub-block `j` (0..7) from the 12 packed bytes at `b[at..at+12)` (ggml get_scale_min_k4).
 * @example scaleMinK4(new Uint8Array([5, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]), 0, 0) // [5, 7]
 */
export function scaleMinK4(b: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [b[at + j] & 63, b[at + j + 4] & 63];
  return [(b[at + j + 4] & 0xf) | ((b[at + j - 4] >> 6) << 4), (b[at + j + 4] >> 4) | ((b[at + j] >> 6) << 4)];
}

/** Pack 8 six-bit scales and mins into 12 bytes at `b[at..)`, the inverse of `scaleMinK4`. */
export function packScaleMinK4(sc: ArrayLike<number>, m: ArrayLike<number>, b: Uint8Array, at: number): void {
  b.fill(0, at, at + 12);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      b[at + j] = sc[j];
      b[at + j + 4] = m[j];
    } else {
      b[at + j + 4] = (sc[j] & 0xf) | ((m[j] & 0xf) << 4);
      b[at + j - 4] |= (sc[j] >> 4) << 6;
      b[at + j] |= (m[j] >> 4) << 6;
    }
  }
}

/**
 * Dequantise `nValues` values (a multiple of 256) of Q4_K blocks into `dst`, exactly as ggml.
 * @example dequantQ4_K(blocks, out, 256) // out[j] = fl(d·sc)·q − fl(dmin·m)
 */
export function dequantQ4_K(src: Uint8Array, dst: Float32Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += Q4_K_BYTES, o += QK_K) {
    const d = readF16(src, b);
    const dmin = readF16(src, b + 2);
    for (let g = 0; g < 4; g++) {
      const [sc1, m1] = scaleMinK4(src, b + 4, 2 * g);
      const [sc2, m2] = scaleMinK4(src, b + 4, 2 * g + 1);
      const [d1, n1, d2, n2] = [d * sc1, dmin * m1, d * sc2, dmin * m2]; // exact
      const qs = b + 16 + 32 * g;
      for (let l = 0; l < 32; l++) {
        dst[o + 64 * g + l] = f(d1 * (src[qs + l] & 0xf) - n1);
        dst[o + 64 * g + 32 + l] = f(d2 * (src[qs + l] >> 4) - n2);
      }
    }
  }
}

/**
 * Dequantise `nValues` values (a multiple of 256) of Q5_K blocks into `dst`, exactly as ggml.
 * @example dequantQ5_K(blocks, out, 256) // q = nibble + 16·(qh bit)
 */
export function dequantQ5_K(src: Uint8Array, dst: Float32Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += Q5_K_BYTES, o += QK_K) {
    const d = readF16(src, b);
    const dmin = readF16(src, b + 2);
    const qh = b + 16;
    for (let g = 0; g < 4; g++) {
      const [sc1, m1] = scaleMinK4(src, b + 4, 2 * g);
      const [sc2, m2] = scaleMinK4(src, b + 4, 2 * g + 1);
      const [d1, n1, d2, n2] = [d * sc1, dmin * m1, d * sc2, dmin * m2];
      const qs = b + 48 + 32 * g;
      for (let l = 0; l < 32; l++) {
        const h = src[qh + l];
        dst[o + 64 * g + l] = f(d1 * ((src[qs + l] & 0xf) + (((h >> (2 * g)) & 1) << 4)) - n1);
        dst[o + 64 * g + 32 + l] = f(d2 * ((src[qs + l] >> 4) + (((h >> (2 * g + 1)) & 1) << 4)) - n2);
      }
    }
  }
}

/**
 * Dequantise `nValues` values (a multiple of 256) of Q6_K blocks into `dst`, exactly as ggml.
 * @example dequantQ6_K(blocks, out, 256) // out[j] = fl(d·sc)·(code − 32)
 */
export function dequantQ6_K(src: Uint8Array, dst: Float32Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += Q6_K_BYTES, o += QK_K) {
    const d = readF16(src, b + 208);
    for (let h = 0; h < 2; h++) {
      const ql = b + 64 * h;
      const qh = b + 128 + 32 * h;
      const sc = b + 192 + 8 * h;
      for (let l = 0; l < 32; l++) {
        const hi = src[qh + l];
        for (let p = 0; p < 4; p++) {
          const lo = p < 2 ? src[ql + l + 32 * p] & 0xf : src[ql + l + 32 * (p - 2)] >> 4;
          const q = (lo | (((hi >> (2 * p)) & 3) << 4)) - 32;
          const s = (src[sc + 2 * p + (l >> 4)] << 24) >> 24; // int8
          dst[o + 128 * h + 32 * p + l] = f(d * s * q); // d·s exact
        }
      }
    }
  }
}



/**
 * Asymmetric codes of one 256-value super-block (Q4_K: nmax = 15, Q5_K: 31): each sub-block of
 * 32 gets scale (max − min)/nmax and min −min(0, min x); d, dmin = the largest of them / 63 (f16);
 * the 6-bit sc, m round them; codes L = round((x + dmin·m)/(d·sc)) clamped to [0, nmax].
 */
function asymBlock(x: Float32Array, o: number, nmax: number, dst: Uint8Array, b: number, L: Uint8Array): void {
  const scale = new Float64Array(8);
  const min = new Float64Array(8);
  for (let s = 0; s < 8; s++) {
    let lo = 0;
    let hi = -Infinity;
    for (let j = 0; j < 32; j++) {
      lo = Math.min(lo, x[o + 32 * s + j]);
      hi = Math.max(hi, x[o + 32 * s + j]);
    }
    scale[s] = Math.max(hi - lo, 0) / nmax;
    min[s] = -lo;
  }
  const d = writeF16(dst, b, Math.max(...scale) / 63);
  const dmin = writeF16(dst, b + 2, Math.max(...min) / 63);
  const sc = scale.map((v) => (d > 0 ? Math.min(63, roundAway(v / d)) : 0));
  const m = min.map((v) => (dmin > 0 ? Math.min(63, roundAway(v / dmin)) : 0));
  packScaleMinK4(sc, m, dst, b + 4);
  for (let s = 0; s < 8; s++) {
    const step = d * sc[s];
    for (let j = 0; j < 32; j++) {
      const q = step > 0 ? roundAway((x[o + 32 * s + j] + dmin * m[s]) / step) : 0;
      L[32 * s + j] = Math.max(0, Math.min(nmax, q));
    }
  }
}

/**
 * Quantise `nValues` f32 values (a multiple of 256) to Q4_K blocks (edgetron's min/max quantiser).
 * @example quantQ4_K(row256, block, 256) // block: 144 bytes
 */
export function quantQ4_K(x: Float32Array, dst: Uint8Array, nValues: number): void {
  const L = new Uint8Array(QK_K);
  for (let b = 0, o = 0; o < nValues; b += Q4_K_BYTES, o += QK_K) {
    asymBlock(x, o, 15, dst, b, L);
    for (let g = 0; g < 4; g++) for (let l = 0; l < 32; l++) dst[b + 16 + 32 * g + l] = L[64 * g + l] | (L[64 * g + 32 + l] << 4);
  }
}

/**
 * Quantise `nValues` f32 values (a multiple of 256) to Q5_K blocks (edgetron's min/max quantiser).
 * @example quantQ5_K(row256, block, 256) // block: 176 bytes
 */
export function quantQ5_K(x: Float32Array, dst: Uint8Array, nValues: number): void {
  const L = new Uint8Array(QK_K);
  for (let b = 0, o = 0; o < nValues; b += Q5_K_BYTES, o += QK_K) {
    asymBlock(x, o, 31, dst, b, L);
    dst.fill(0, b + 16, b + 48);
    for (let g = 0; g < 4; g++) {
      for (let l = 0; l < 32; l++) {
        const [l1, l2] = [L[64 * g + l], L[64 * g + 32 + l]];
        dst[b + 16 + l] |= ((l1 >> 4) << (2 * g)) | ((l2 >> 4) << (2 * g + 1));
        dst[b + 48 + 32 * g + l] = (l1 & 0xf) | ((l2 & 0xf) << 4);
      }
    }
  }
}

/**
 * Quantise `nValues` f32 values (a multiple of 256) to Q6_K blocks: each sub-block of 16 gets
 * scale v/−32 (v its value of largest magnitude), d = max|scale|/127 (f16), int8 sc = round(scale/d),
 * codes round(x/(d·sc)) clamped to [−32, 31].
 * @example quantQ6_K(row256, block, 256) // block: 210 bytes
 */
export function quantQ6_K(x: Float32Array, dst: Uint8Array, nValues: number): void {
  const L = new Uint8Array(QK_K);
  const scale = new Float64Array(16);
  for (let b = 0, o = 0; o < nValues; b += Q6_K_BYTES, o += QK_K) {
    for (let s = 0; s < 16; s++) {
      let v = 0;
      for (let j = 0; j < 16; j++) if (Math.abs(x[o + 16 * s + j]) > Math.abs(v)) v = x[o + 16 * s + j];
      scale[s] = v / -32;
    }
    const d = writeF16(dst, b + 208, Math.max(...scale.map(Math.abs)) / 127);
    for (let s = 0; s < 16; s++) {
      const sc = d > 0 ? Math.max(-128, Math.min(127, roundAway(scale[s] / d))) : 0;
      dst[b + 192 + s] = sc & 0xff;
      const step = d * sc;
      for (let j = 0; j < 16; j++) L[16 * s + j] = Math.max(-32, Math.min(31, step !== 0 ? roundAway(x[o + 16 * s + j] / step) : 0)) + 32;
    }
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const q = [0, 1, 2, 3].map((p) => L[128 * h + 32 * p + l]);
        dst[b + 64 * h + l] = (q[0] & 0xf) | ((q[2] & 0xf) << 4);
        dst[b + 64 * h + 32 + l] = (q[1] & 0xf) | ((q[3] & 0xf) << 4);
        dst[b + 128 + 32 * h + l] = (q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6);
      }
    }
  }
}
