// spec §13, §14.1: ggml's tensor types as they appear in a GGUF file, and exact dequantisers
// for the block types edgetron imports. Every decoded value equals what ggml's own
// `dequantize_row_*` gives (each is a small integer times an f16 or UE4M3 scale, so the f32
// product is exact).
//
// Block layouts (ggml-common.h; all little-endian, blocks follow each other along a row):
//   Q8_0  (32 values, 34 bytes): f16 d | i8 q[32]           x[j] = q[j]·d
//   Q4_0  (32 values, 18 bytes): f16 d | u8 qs[16]          x[j] = (lo(qs[j]) − 8)·d,  x[j+16] = (hi(qs[j]) − 8)·d
//   Q4_1, Q5_0, Q5_1 (32 values; 20, 22, 24 bytes): engine/formats/legacy-quants.ts
//   Q4_K, Q5_K, Q6_K (256 values; 144, 176, 210 bytes): engine/formats/kquants.ts
//   NVFP4 (64 values, 36 bytes): u8 d[4] | u8 qs[32]        sub-block s (16 values) uses d[s] and qs[8s .. 8s+8):
//                                x[16s+j] = E2M1(lo(qs[8s+j]))·UE4M3(d[s]),  x[16s+j+8] = E2M1(hi(qs[8s+j]))·UE4M3(d[s])
// Quantisers (ggml-quants.c `quantize_row_*_ref`, all arithmetic in f32, scales stored as f16):
//   Q8_0: d = amax/127, q = roundf(x/d) (half away from zero)
//   Q4_0: m = the value of largest |x| (with its sign), d = m/−8, q = min(15, trunc(x/d + 8.5))
// UE4M3 (ggml): bit 7 is ignored; 0x00 and 0x7F decode to 0; otherwise exponent e = bits 6..3
// (bias 7), mantissa m = bits 2..0: value = 2^(e−7)·(1 + m/8), or m·2^−9 when e = 0. That is the
// E4M3 value of (byte & 0x7F). (ggml stores doubled E2M1 codes and halves the scale; the product
// is the same.) An NVFP4 tensor `X` comes with an f32 `X.scale` tensor multiplying all of it.

import { readF16, roundAway, writeF16 } from './dtype.js';
import { E2M1_VALUES } from './nvfp4.js';

/** ggml type ids (ggml.h `enum ggml_type`; the ids are fixed: new types only get appended). */
export const GGML_TYPE = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  BF16: 30,
  NVFP4: 40,
} as const;

/** Names of every ggml type id, for error messages (ids 4, 5 and 31–33, 36–38 were retired). */
export const GGML_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1',
  10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS',
  17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS',
  24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0',
  35: 'TQ2_0', 39: 'MXFP4', 40: 'NVFP4', 41: 'Q1_0',
};

/** Block geometry of a type edgetron reads: `blockValues` values take `blockBytes` bytes. */
export interface GgmlTypeInfo {
  readonly id: number;
  readonly name: string;
  readonly blockValues: number;
  readonly blockBytes: number;
}

/** The types edgetron can import, by id. */
export const GGML_SUPPORTED: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (
    [
      [GGML_TYPE.F32, 1, 4],
      [GGML_TYPE.F16, 1, 2],
      [GGML_TYPE.BF16, 1, 2],
      [GGML_TYPE.Q8_0, 32, 34],
      [GGML_TYPE.Q4_0, 32, 18],
      [GGML_TYPE.Q4_1, 32, 20],
      [GGML_TYPE.Q5_0, 32, 22],
      [GGML_TYPE.Q5_1, 32, 24],
      [GGML_TYPE.Q4_K, 256, 144],
      [GGML_TYPE.Q5_K, 256, 176],
      [GGML_TYPE.Q6_K, 256, 210],
      [GGML_TYPE.NVFP4, 64, 36],
    ] as const
  ).map(([id, blockValues, blockBytes]) => [id, { id, name: GGML_TYPE_NAMES[id], blockValues, blockBytes }]),
);

/** Human name of a type id, also for ids ggml does not (yet) define. */
export function ggmlTypeName(id: number): string {
  return GGML_TYPE_NAMES[id] ?? `type ${id}`;
}

/** E2M1 values as ggml's doubled int8 table gives them: code 8 is +0 (the engine's table has −0). */
const GGML_E2M1: Float64Array = E2M1_VALUES.map((v) => v + 0);

/** Value of a ggml UE4M3 scale byte (bit 7 ignored, 0x7F is 0). @example ue4m3(0x38) // 1 */
export function ue4m3(byte: number): number {
  if (byte === 0x7f) return 0;
  const e = (byte >>> 3) & 0xf;
  const m = byte & 7;
  return e === 0 ? m * 2 ** -9 : 2 ** (e - 7) * (1 + m / 8);
}

/**
 * Dequantise `nValues` values of Q8_0 blocks from `src` into `dst` (f32, exact).
 * @example dequantQ8_0(new Uint8Array([0x00, 0x3c, 0xff, ...]), out, 32) // d = 1: out[0] = -1
 */
export function dequantQ8_0(src: Uint8Array, dst: Float32Array, nValues: number): void {
  const q = new Int8Array(src.buffer, src.byteOffset, src.byteLength);
  for (let b = 0, o = 0; o < nValues; b += 34, o += 32) {
    const d = readF16(src, b);
    for (let j = 0; j < 32; j++) dst[o + j] = q[b + 2 + j] * d;
  }
}

/**
 * Dequantise `nValues` values of Q4_0 blocks from `src` into `dst` (f32, exact).
 * @example dequantQ4_0(block, out, 32) // out[j] = ((block[2+j] & 15) − 8)·d, out[j+16] from the high nibble
 */
export function dequantQ4_0(src: Uint8Array, dst: Float32Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += 18, o += 32) {
    const d = readF16(src, b);
    for (let j = 0; j < 16; j++) {
      const byte = src[b + 2 + j];
      dst[o + j] = ((byte & 0xf) - 8) * d;
      dst[o + j + 16] = ((byte >>> 4) - 8) * d;
    }
  }
}

/**
 * Dequantise `nValues` values of ggml NVFP4 blocks into `dst`, times the per-tensor `scale`
 * (the `X.scale` tensor; 1 when there is none). Without a scale the values are exact; with one,
 * each is the f64 product rounded once to f32.
 * @example dequantNvfp4(blocks, out, 64, 1)
 */
export function dequantNvfp4(src: Uint8Array, dst: Float32Array, nValues: number, scale: number): void {
  for (let b = 0, o = 0; o < nValues; b += 36, o += 64) {
    for (let s = 0; s < 4; s++) {
      const d = ue4m3(src[b + s]) * scale;
      const qs = b + 4 + 8 * s;
      for (let j = 0; j < 8; j++) {
        const byte = src[qs + j];
        dst[o + 16 * s + j] = GGML_E2M1[byte & 0xf] * d;
        dst[o + 16 * s + j + 8] = GGML_E2M1[byte >>> 4] * d;
      }
    }
  }
}

/** Bytes of one ggml NVFP4 block (64 values). */
export const NVFP4_BLOCK_BYTES = 36;

/**
 * Whether ggml NVFP4 blocks can be repacked into ModelOpt NVFP4 without changing a value:
 * every scale byte must map to an E4M3 byte of the same value. Bytes 0x00–0x7E map to
 * themselves, 0x7F (ggml: 0) to 0x00, 0x80–0xFE (bit 7 ignored) to byte & 0x7F; only 0xFF
 * (ggml: 480, above E4M3's 448) has no exact E4M3 twin.
 */
export function nvfp4Repackable(src: Uint8Array): boolean {
  for (let b = 0; b < src.byteLength; b += 36) {
    for (let s = 0; s < 4; s++) if (src[b + s] === 0xff) return false;
  }
  return true;
}

/** The E4M3 byte with the same value as ggml UE4M3 byte `d` (not 0xFF; see `nvfp4Repackable`). */
export function ue4m3ToE4m3(d: number): number {
  return d === 0x7f ? 0 : d & 0x7f;
}

/** Nibble `high` (0 or 1) of byte `at`. */
const nibble = (b: Uint8Array, at: number, high: number) => (high ? b[at] >>> 4 : b[at] & 0xf);

/** Set nibble `high` of byte `at` to `code`. */
function setNibble(b: Uint8Array, at: number, high: number, code: number): void {
  b[at] = high ? (b[at] & 0x0f) | (code << 4) : (b[at] & 0xf0) | code;
}

/**
 * Repack ggml NVFP4 rows ([rows, cols] values, cols a multiple of 64) into ModelOpt's layout
 * (spec §14.1): `weight` u8 [rows, cols/2] with element 2j in the low nibble of byte j, and
 * `weightScale` E4M3 [rows, cols/16]. The per-tensor `X.scale` becomes `weight_scale_2`.
 * Call only when `nvfp4Repackable(src)`; the values are then unchanged.
 */
export function repackNvfp4(src: Uint8Array, weight: Uint8Array, weightScale: Uint8Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += 36, o += 64) {
    for (let s = 0; s < 4; s++) {
      const sub = o + 16 * s; // index of the sub-block's first value
      weightScale[sub >>> 4] = ue4m3ToE4m3(src[b + s]);
      // value e of the sub-block: ggml byte e & 7 (high nibble from e = 8); ModelOpt byte e >> 1 (high nibble when odd)
      for (let e = 0; e < 16; e++) setNibble(weight, (sub >>> 1) + (e >>> 1), e & 1, nibble(src, b + 4 + 8 * s + (e & 7), e >>> 3));
    }
  }
}

/** Whether E4M3 block scales can be stored as ggml UE4M3 bytes: none negative (but −0) or NaN. */
export function e4m3ScalesPackable(scales: Uint8Array): boolean {
  return scales.every((b) => b <= 0x7e || b === 0x80);
}

/**
 * Pack ModelOpt NVFP4 (`weight` u8 [rows, cols/2], `weightScale` E4M3 [rows, cols/16]; cols a
 * multiple of 64) into ggml NVFP4 blocks, the inverse of `repackNvfp4`; weight_scale_2 goes to
 * the `X.scale` tensor. Call only when `e4m3ScalesPackable(weightScale)`; the values are then
 * unchanged.
 */
export function packNvfp4(weight: Uint8Array, weightScale: Uint8Array, dst: Uint8Array, nValues: number): void {
  for (let b = 0, o = 0; o < nValues; b += 36, o += 64) {
    for (let s = 0; s < 4; s++) {
      const sub = o + 16 * s;
      dst[b + s] = weightScale[sub >>> 4] & 0x7f;
      for (let e = 0; e < 16; e++) setNibble(dst, b + 4 + 8 * s + (e & 7), e >>> 3, nibble(weight, (sub >>> 1) + (e >>> 1), e & 1));
    }
  }
}


/**
 * Quantise `nValues` f32 values (a multiple of 32) to Q8_0 blocks, as ggml's reference quantiser does.
 * @example quantQ8_0(Float32Array.of(...values32), block, 32) // block: 34 bytes
 */
export function quantQ8_0(x: Float32Array, dst: Uint8Array, nValues: number): void {
  const f = Math.fround;
  for (let b = 0, o = 0; o < nValues; b += 34, o += 32) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    writeF16(dst, b, d);
    for (let j = 0; j < 32; j++) dst[b + 2 + j] = roundAway(f(x[o + j] * id)) & 0xff;
  }
}

/**
 * Quantise `nValues` f32 values (a multiple of 32) to Q4_0 blocks, as ggml's reference quantiser does.
 * @example quantQ4_0(Float32Array.of(...values32), block, 32) // block: 18 bytes
 */
export function quantQ4_0(x: Float32Array, dst: Uint8Array, nValues: number): void {
  const f = Math.fround;
  for (let b = 0, o = 0; o < nValues; b += 18, o += 32) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      if (amax < Math.abs(x[o + j])) {
        amax = Math.abs(x[o + j]);
        max = x[o + j];
      }
    }
    const d = f(max / -8);
    const id = d ? f(1 / d) : 0;
    writeF16(dst, b, d);
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, Math.trunc(f(f(x[o + j] * id) + 8.5)));
      const hi = Math.min(15, Math.trunc(f(f(x[o + 16 + j] * id) + 8.5)));
      dst[b + 2 + j] = lo | (hi << 4);
    }
  }
}
