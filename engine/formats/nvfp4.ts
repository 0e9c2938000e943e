// spec §14.1: the NVFP4 element and scale codecs, and row decoding of the two 4-bit linear-weight
// formats (DESIGN §3). Portable and exact: every decoded weight is an f64 equal to the stored one.
//
//   E2M1 (4 bits, sign | 2 exponent, bias 1 | 1 mantissa): codes 0..7 → 0, 0.5, 1, 1.5, 2, 3, 4, 6;
//        bit 3 is the sign.
//   E4M3 (8 bits, sign | 4 exponent, bias 7 | 3 mantissa, "fn": no infinities):
//        e > 0: ±2^(e−7)·(1 + m/8);  e = 0: ±2^−6·(m/8) (subnormal);  0x7F / 0xFF: NaN;  max 448.
//   nvfp4:      W[n, k] = E2M1(code[n, k]) · E4M3(scale[n, ⌊k/16⌋]) · weight_scale_2
//               codes u8 [out, in/2]: byte j holds element 2j in its low nibble, 2j+1 in its high one.
//   nvfp4-s24:  the same with 2 of every 4 elements kept (engine/formats/sparse24.ts): codes u8 [out, in/4]
//               (one byte per group: low nibble = the first kept element), positions u8 [out, in/8].
// A product E2M1 · E4M3 · f32 has at most 2 + 4 + 24 significant bits, so it is exact in f64.
//
// Encoders round to nearest, ties to even (the spec's runtime quantiser):
//   E4M3: saturates at ±448 (ModelOpt clamps block scales to the E4M3 range); NaN → 0x7F.
//   E2M1: vLLM `cast_to_fp4` thresholds 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0 on |x|: a tie goes to
//         the neighbour with an even mantissa (0.25 → 0, 0.75 → 1, 1.25 → 1, 1.75 → 2, 2.5 → 2,
//         3.5 → 4, 5 → 4); |x| > 6 saturates to 6. A value that rounds to zero gives code 0 (+0),
//         never −0, so a pruned or tiny weight always reads back as +0. NaN → 0.

import { positionsOfCode } from './sparse24.js';

/** Elements along K that share one E4M3 block scale. */
export const NVFP4_BLOCK = 16;

/** Largest finite E4M3 value (e = 15, m = 6: 2^8 · 1.75). */
export const E4M3_MAX = 448;

/** Largest E2M1 magnitude. */
export const E2M1_MAX = 6;

/** E2M1 magnitudes of codes 0..7 (bits 0–2): 0, 0.5, 1, 1.5, 2, 3, 4, 6. */
const E2M1_MAGNITUDES = [0, 0.5, 1, 1.5, 2, 3, 4, 6] as const;

/** The value of each of the 16 E2M1 codes (codes 8..15 are the negatives of 0..7; code 8 is −0). */
export const E2M1_VALUES: Float64Array = Float64Array.from({ length: 16 }, (_, c) => (c & 8 ? -1 : 1) * E2M1_MAGNITUDES[c & 7]);

/**
 * Value of an E4M3 (fn) byte: subnormals for e = 0, NaN for 0x7F and 0xFF.
 * @example e4m3ToNumber(0x38) // 1 (e = 7, m = 0)
 */
export function e4m3ToNumber(byte: number): number {
  const sign = byte & 0x80 ? -1 : 1;
  const e = (byte >>> 3) & 0xf;
  const m = byte & 7;
  if (e === 15 && m === 7) return NaN;
  return e === 0 ? sign * 2 ** -6 * (m / 8) : sign * 2 ** (e - 7) * (1 + m / 8);
}

/** The value of each of the 256 E4M3 bytes (f64, exact). */
export const E4M3_VALUES: Float64Array = Float64Array.from({ length: 256 }, (_, b) => e4m3ToNumber(b));

/**
 * E2M1 value of a 4-bit code.
 * @example e2m1ToNumber(0xd) // -3
 */
export function e2m1ToNumber(code: number): number {
  return E2M1_VALUES[code & 0xf];
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  return r > 0.5 || (r === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/**
 * Nearest E4M3 byte to x, ties to even, saturating at ±448; NaN → 0x7F.
 * @example numberToE4m3(1.0625) // 0x38 (a tie between 1 and 1.125: even mantissa 0)
 */
export function numberToE4m3(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.abs(x);
  if (a >= E4M3_MAX) return sign | 0x7e;
  if (a < 2 ** -6) {
    // subnormal: a multiple of 2^−9; q = 8 is the smallest normal (0x08), so the carry is free
    return sign | roundHalfEven(a * 2 ** 9);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  // q ∈ [8, 16] counts steps of 2^(e−3); q = 16 carries into the next exponent
  const q = roundHalfEven(a * 2 ** (3 - e));
  return sign | Math.min(((e + 7) << 3) + (q - 8), 0x7e);
}

/** Magnitude thresholds of `numberToE2m1`: |x| above THRESHOLD[i] (or equal, when i is odd) rounds past code i. */
const E2M1_THRESHOLDS = [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0] as const;

/**
 * Nearest E2M1 code to x with the vLLM thresholds (ties to the even mantissa), saturating at ±6.
 * Anything that rounds to 0 gives +0 (code 0).
 * @example numberToE2m1(-2.6) // 0xd (−3)
 */
export function numberToE2m1(x: number): number {
  if (Number.isNaN(x)) return 0;
  const a = Math.abs(x);
  let code = 0;
  // code c → c+1 when a passes the midpoint; at the midpoint itself, only when c+1 has an even
  // mantissa (c odd: 1 → 2 (1.0), 3 → 4 (2.0), 5 → 6 (4.0)); mantissa bit = bit 0 of the code
  while (code < 7 && (a > E2M1_THRESHOLDS[code] || (a === E2M1_THRESHOLDS[code] && code % 2 === 1))) code++;
  return code === 0 ? 0 : (x < 0 ? 8 : 0) | code;
}

/**
 * Decode row n of an nvfp4 weight (spec §14.1) into dst (cols), exactly.
 * codes u8 [rows, cols/2], scales E4M3 [rows, cols/16], scale2 = weight_scale_2.
 * @example decodeNvfp4Row(codes, scales, 0.5, n, K, row);
 */
export function decodeNvfp4Row(codes: Uint8Array, scales: Uint8Array, scale2: number, n: number, cols: number, dst: Float64Array): void {
  const nBlocks = cols / NVFP4_BLOCK;
  for (let b = 0; b < nBlocks; b++) {
    const s = E4M3_VALUES[scales[n * nBlocks + b]] * scale2;
    const base = n * (cols / 2) + b * (NVFP4_BLOCK / 2);
    for (let j = 0; j < NVFP4_BLOCK / 2; j++) {
      const byte = codes[base + j];
      dst[b * NVFP4_BLOCK + 2 * j] = E2M1_VALUES[byte & 0xf] * s;
      dst[b * NVFP4_BLOCK + 2 * j + 1] = E2M1_VALUES[byte >>> 4] * s;
    }
  }
}

/**
 * Decode row n of an nvfp4-s24 weight into dst (cols), exactly; the 2 pruned elements of each
 * group of 4 are +0. codes u8 [rows, cols/4], positions u8 [rows, cols/8] (legal codes already
 * checked at read), scales E4M3 [rows, cols/16] over the kept values.
 * @example decodeNvfp4S24Row(codes, positions, scales, 0.5, n, K, row);
 */
export function decodeNvfp4S24Row(
  codes: Uint8Array,
  positions: Uint8Array,
  scales: Uint8Array,
  scale2: number,
  n: number,
  cols: number,
  dst: Float64Array,
): void {
  const nGroups = cols / 4;
  const nBlocks = cols / NVFP4_BLOCK;
  dst.fill(0, 0, cols);
  for (let g = 0; g < nGroups; g++) {
    const s = E4M3_VALUES[scales[n * nBlocks + (g >>> 2)]] * scale2; // 4 groups per block
    const gi = n * nGroups + g;
    const posByte = positions[gi >>> 1];
    const [i0, i1] = positionsOfCode(g & 1 ? posByte >>> 4 : posByte & 0xf);
    const byte = codes[gi];
    dst[4 * g + i0] = E2M1_VALUES[byte & 0xf] * s;
    dst[4 * g + i1] = E2M1_VALUES[byte >>> 4] * s;
  }
}
