// DESIGN §3 (the 2:4 format of Mishra et al. 2021, arXiv 2104.08378): 2:4 structured sparsity along
// K. Every group of 4 consecutive elements of a row keeps (at most) 2; the kept ones are stored in
// order with one 4-bit position code per group, the ordered metadata of the sparse hardware format:
//
//   code = i0 | (i1 << 2),  i0 < i1 the in-group indices of the two kept elements
//   0x4 = (0,1)   0x8 = (0,2)   0xC = (0,3)   0x9 = (1,2)   0xD = (1,3)   0xE = (2,3)
//
// Only these 6 of the 16 nibbles are legal (a repeated or descending index is not). A group with
// fewer than 2 non-zeros still stores 2 slots: its non-zeros plus the lowest-index zeros, so one
// slot holds an explicit 0. Packing: two codes per byte, the even group in the low nibble.
//   values:    (rows, cols/2)   positions: (rows, cols/4) codes, or (rows, cols/8) packed bytes

import { IllegalPositionCodeError, SparsityPatternError } from '../core/errors.js';

/** The 6 legal position codes, in ascending order of (i0, i1). */
export const POSITION_CODES: readonly number[] = [0x4, 0x8, 0xc, 0x9, 0xd, 0xe];

/** Per nibble: i0 | i1 << 2 of a legal code, or −1 for an illegal one. */
const LEGAL: Int8Array = Int8Array.from({ length: 16 }, (_, c) => (POSITION_CODES.includes(c) ? c : -1));

/**
 * Whether a 4-bit value is one of the 6 legal position codes.
 * @example isLegalPositionCode(0x9) // true; isLegalPositionCode(0x5) // false (index 1 twice)
 */
export function isLegalPositionCode(code: number): boolean {
  return code >= 0 && code < 16 && LEGAL[code] >= 0;
}

/**
 * The position code of kept in-group indices i0 < i1.
 * @example positionCode(1, 3) // 0xd
 */
export function positionCode(i0: number, i1: number): number {
  return i0 | (i1 << 2);
}

/**
 * The in-group indices [i0, i1] of a legal code (callers check legality at the boundary).
 * @example positionsOfCode(0xe) // [2, 3]
 */
export function positionsOfCode(code: number): [number, number] {
  return [code & 3, (code >>> 2) & 3];
}

/**
 * Throw `IllegalPositionCodeError` at the first nibble of a packed positions tensor
 * (u8, two codes per byte) that is not a legal code.
 * @example checkPositionCodes(bytes, 'backbone.layers.1.mixer.experts.0.up_proj.weight_pos');
 */
export function checkPositionCodes(packed: Uint8Array, tensor: string): void {
  for (let i = 0; i < packed.length; i++) {
    const lo = packed[i] & 0xf;
    const hi = packed[i] >>> 4;
    if (LEGAL[lo] < 0) throw new IllegalPositionCodeError(tensor, 2 * i, lo);
    if (LEGAL[hi] < 0) throw new IllegalPositionCodeError(tensor, 2 * i + 1, hi);
  }
}

/**
 * Pack position codes (one per group) two per byte, even group in the low nibble.
 * @example packPositions(Uint8Array.of(0x4, 0xe)) // Uint8Array [0xe4]
 */
export function packPositions(codes: Uint8Array): Uint8Array {
  const out = new Uint8Array(codes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = codes[2 * i] | (codes[2 * i + 1] << 4);
  return out;
}

/** A 2:4-compressed matrix: the kept values in order and one position code per group. */
export interface Compressed24 {
  readonly values: Float64Array; // (rows, cols/2)
  readonly codes: Uint8Array; // (rows, cols/4) unpacked position codes
}

/**
 * Compress a masked matrix W (rows, cols), cols a multiple of 4, in which every group of 4 has
 * at most 2 non-zeros; `SparsityPatternError` (naming `tensor`, the row and the group) otherwise.
 * @example compress24(Float64Array.of(0, 6, 0, 8), 1, 4, 'w') // values [6, 8], codes [0xd]
 */
export function compress24(W: Float64Array, rows: number, cols: number, tensor: string): Compressed24 {
  const nGroups = (rows * cols) / 4;
  const values = new Float64Array(2 * nGroups);
  const codes = new Uint8Array(nGroups);
  for (let g = 0; g < nGroups; g++) {
    const kept: number[] = [];
    for (let i = 0; i < 4; i++) if (W[4 * g + i] !== 0) kept.push(i);
    if (kept.length > 2) throw new SparsityPatternError(tensor, Math.floor(g / (cols / 4)), g % (cols / 4), kept.length);
    // fill the free slots with the lowest-index zeros, then keep indices ascending
    for (let i = 0; kept.length < 2; i++) if (!kept.includes(i)) kept.push(i);
    kept.sort((a, b) => a - b);
    values[2 * g] = W[4 * g + kept[0]];
    values[2 * g + 1] = W[4 * g + kept[1]];
    codes[g] = positionCode(kept[0], kept[1]);
  }
  return { values, codes };
}

/**
 * Expand a compressed matrix back to (rows, cols): the inverse of `compress24` on masked input.
 * @example decompress24({ values: Float64Array.of(6, 8), codes: Uint8Array.of(0xd) }) // [0, 6, 0, 8]
 */
export function decompress24(c: Compressed24): Float64Array {
  const out = new Float64Array(c.codes.length * 4);
  for (let g = 0; g < c.codes.length; g++) {
    const [i0, i1] = positionsOfCode(c.codes[g]);
    out[4 * g + i0] = c.values[2 * g];
    out[4 * g + i1] = c.values[2 * g + 1];
  }
  return out;
}
