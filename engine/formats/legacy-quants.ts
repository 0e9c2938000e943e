// spec §13: ggml's other 32-value block types Q4_1, Q5_0 and Q5_1 (ggml-common.h, ggml-quants.c).
// Community K-quant GGUFs hold them wherever a row does not fill a 256-value super-block
// (llama.cpp's quantiser falls back Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0): in Nemotron 3 Nano
// every d_model-wide row (K = 2688) and the expert down projections (K = 1856).
//
//   Q4_1 (20 bytes): f16 d | f16 m | u8 qs[16]                x[j] = lo(qs[j])·d + m,  x[j+16] = hi(qs[j])·d + m
//   Q5_0 (22 bytes): f16 d | u32 qh | u8 qs[16]               x[j] = (lo(qs[j]) | 16·bit_j(qh) − 16)·d,
//                                                              x[j+16] = (hi(qs[j]) | 16·bit_{j+16}(qh) − 16)·d
//   Q5_1 (24 bytes): f16 d | f16 m | u32 qh | u8 qs[16]       as Q5_0 without the −16, plus m
// Exactness: code·d is exact in f32 (≤ 5 + 11 bits), so each value has the one rounding of its
// addition of m (Q4_1, Q5_1), or none (Q5_0); computed exactly in f64 and rounded once here.
// Quantisers follow ggml's `quantize_row_*_ref` (f32 arithmetic, scales stored as f16).

import { readF16, writeF16 } from './dtype.js';

const f = Math.fround;
const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;


/**
 * Dequantise `nValues` values of Q4_1 blocks into `dst`, exactly as ggml.
 * @example dequantQ4_1(block, out, 32) // out[j] = lo(qs[j])·d + m
 */
export function dequantQ4_1(src: Uint8Array, dst: Float32Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += 20, o += 32) {
    const [d, m] = [readF16(src, b), readF16(src, b + 2)];
    for (let j = 0; j < 16; j++) {
      dst[o + j] = f((src[b + 4 + j] & 0xf) * d + m);
      dst[o + j + 16] = f((src[b + 4 + j] >> 4) * d + m);
    }
  }
}

/**
 * Dequantise `nValues` values of Q5_0 blocks into `dst`, exactly as ggml.
 * @example dequantQ5_0(block, out, 32) // out[j] = (lo(qs[j]) + 16·bit j of qh − 16)·d
 */
export function dequantQ5_0(src: Uint8Array, dst: Float32Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += 22, o += 32) {
    const d = readF16(src, b);
    const qh = u32(src, b + 2);
    for (let j = 0; j < 16; j++) {
      dst[o + j] = ((src[b + 6 + j] & 0xf) + ((qh >>> j) & 1) * 16 - 16) * d;
      dst[o + j + 16] = ((src[b + 6 + j] >> 4) + ((qh >>> (j + 16)) & 1) * 16 - 16) * d;
    }
  }
}

/**
 * Dequantise `nValues` values of Q5_1 blocks into `dst`, exactly as ggml.
 * @example dequantQ5_1(block, out, 32) // out[j] = (lo(qs[j]) + 16·bit j of qh)·d + m
 */
export function dequantQ5_1(src: Uint8Array, dst: Float32Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += 24, o += 32) {
    const [d, m] = [readF16(src, b), readF16(src, b + 2)];
    const qh = u32(src, b + 4);
    for (let j = 0; j < 16; j++) {
      dst[o + j] = f(((src[b + 8 + j] & 0xf) + ((qh >>> j) & 1) * 16) * d + m);
      dst[o + j + 16] = f(((src[b + 8 + j] >> 4) + ((qh >>> (j + 16)) & 1) * 16) * d + m);
    }
  }
}

/** Min and max of x[o .. o+32). */
function minMax(x: Float32Array, o: number): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (let j = 0; j < 32; j++) [lo, hi] = [Math.min(lo, x[o + j]), Math.max(hi, x[o + j])];
  return [lo, hi];
}

/** Asymmetric blocks (Q4_1: nmax 15, Q5_1: 31), ggml's ref: d = (max − min)/nmax, codes (int)((x − min)/d + 0.5). */
function quantAsym(x: Float32Array, dst: Uint8Array, nValues: number, five: boolean): void {
  const bytes = five ? 24 : 20;
  const nmax = five ? 31 : 15;
  for (let b = 0, o = 0; o < nValues; b += bytes, o += 32) {
    const [lo, hi] = minMax(x, o);
    const d = f((hi - lo) / nmax);
    const id = d ? f(1 / d) : 0;
    writeF16(dst, b, d);
    writeF16(dst, b + 2, lo);
    let qh = 0;
    const qs = b + (five ? 8 : 4);
    for (let j = 0; j < 16; j++) {
      const c0 = Math.min(nmax, Math.trunc(f(f(f(x[o + j] - lo) * id) + 0.5)));
      const c1 = Math.min(nmax, Math.trunc(f(f(f(x[o + j + 16] - lo) * id) + 0.5)));
      dst[qs + j] = (c0 & 0xf) | ((c1 & 0xf) << 4);
      qh |= ((c0 >> 4) << j) | ((c1 >> 4) << (j + 16));
    }
    if (five) for (let i = 0; i < 4; i++) dst[b + 4 + i] = (qh >>> (8 * i)) & 0xff;
  }
}

/**
 * Quantise `nValues` f32 values (a multiple of 32) to Q4_1 blocks, as ggml's reference quantiser does.
 * @example quantQ4_1(values32, block, 32) // block: 20 bytes
 */
export function quantQ4_1(x: Float32Array, dst: Uint8Array, nValues: number): void {
  quantAsym(x, dst, nValues, false);
}

/**
 * Quantise `nValues` f32 values (a multiple of 32) to Q5_1 blocks, as ggml's reference quantiser does.
 * @example quantQ5_1(values32, block, 32) // block: 24 bytes
 */
export function quantQ5_1(x: Float32Array, dst: Uint8Array, nValues: number): void {
  quantAsym(x, dst, nValues, true);
}

/**
 * Quantise `nValues` f32 values (a multiple of 32) to Q5_0 blocks, as ggml's reference quantiser
 * does: m = the value of largest |x|, d = m/−16, codes min(31, trunc(x/d + 16.5)).
 * @example quantQ5_0(values32, block, 32) // block: 22 bytes
 */
export function quantQ5_0(x: Float32Array, dst: Uint8Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += 22, o += 32) {
    let [amax, max] = [0, 0];
    for (let j = 0; j < 32; j++) if (amax < Math.abs(x[o + j])) [amax, max] = [Math.abs(x[o + j]), x[o + j]];
    const d = f(max / -16);
    const id = d ? f(1 / d) : 0;
    writeF16(dst, b, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const c0 = Math.min(31, Math.trunc(f(f(x[o + j] * id) + 16.5)));
      const c1 = Math.min(31, Math.trunc(f(f(x[o + j + 16] * id) + 16.5)));
      dst[b + 6 + j] = (c0 & 0xf) | ((c1 & 0xf) << 4);
      qh |= ((c0 >> 4) << j) | ((c1 >> 4) << (j + 16));
    }
    for (let i = 0; i < 4; i++) dst[b + 2 + i] = (qh >>> (8 * i)) & 0xff;
  }
}
