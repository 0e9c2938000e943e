// spec §14.1, DESIGN §3: in-register decoding of one 16-element block of a 4-bit linear weight
// (shared by nvfp4_matmul.ts and nvfp4s24_matmul.ts; no weight is ever materialised as f32).
//   W[n, k] = E2M1(code[n, k]) · E4M3(scale[n, ⌊k/16⌋]) · scale2
//   nvfp4:     a block is 8 code bytes, element 2j in the low nibble of byte j, 2j + 1 in the high.
//   nvfp4-s24: a block is 4 code bytes (one per group of 4: low nibble = the first kept element)
//              and 2 position bytes (one 4-bit code i0 | i1 << 2 per group, even group low).
// SIMD: the nibbles are put in element order (i8x16.shuffle) and looked up with i8x16.swizzle in
//   E2M1X2, the 16-entry table of 2·E2M1 as int8 (0, 1, 2, 3, 4, 6, 8, 12 and negatives; code 8, −0, is 0),
//   exact. For s24 the 8 kept weights are then spread to their 16 positions by a second swizzle
//   whose indices come from a 256-entry table (one 8-byte pattern per position byte: lane j of a
//   group takes kept slot 0 or 1, or 0x80 = zero); pruned lanes become 0. Two blocks can share
//   one lookup of their 8 code bytes (keptS24, then spreadS24 per block). Lanes widen to i32 and
//   convert to f32 (exact).
// Scalar: 2·E2M1 from the same table (e2m1x2), halved where an f32 E2M1 is needed (exact). E4M3
// scales from a 256-entry f32 table (exact), built once, at module start.
// E2M1X2 is the one E2M1 table of the kernels: every 4-bit kernel looks its codes up here.

import { f4 } from './lanes';

/** Elements per E4M3 block scale. */
export const BLOCK: i32 = 16;

/** E4M3 (fn) byte → f32: e = 0 subnormal m·2⁻⁹, else (8 + m)·2^(e−10); 0x7F and 0xFF NaN. */
const E4M3_TABLE: usize = memory.data(256 * 4, 16);
/** 2·E2M1 of a 4-bit code as int8: 0, 1, 2, 3, 4, 6, 8, 12 (= 0 … 6 doubled), codes 8..15 their negatives (code 8, −0, is 0). */
export const E2M1X2: usize = memory.data<i8>([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12], 16);
/** E2M1X2 + 12 (in [0, 24], the relaxed dot's weights), derived from it at module start: a plain load in the kernels. */
const E2M1X2_PLUS12: usize = memory.data(16, 16);
/** Position byte → 8 swizzle indices spreading two groups' kept slots (0, 1 | 2, 3) over 4 + 4 lanes. */
const SPREAD_TABLE: usize = memory.data(256 * 8, 16);

for (let c = 0; c < 16; c++) store<i8>(E2M1X2_PLUS12 + <usize>c, load<i8>(E2M1X2 + <usize>c) + 12);
for (let b = 0; b < 256; b++) {
  const e = (b >> 3) & 15;
  const m = b & 7;
  let v: f32 = e == 0 ? <f32>m * 0.001953125 : <f32>(m + 8) * <f32>Math.pow(2, <f64>(e - 10));
  if ((b & 0x7f) == 0x7f) v = NaN;
  store<f32>(E4M3_TABLE + f4(b), b & 0x80 ? -v : v);
  for (let half = 0; half < 2; half++) {
    const code = (b >> (4 * half)) & 15;
    for (let j = 0; j < 4; j++) {
      const slot = j == (code & 3) ? 0 : j == (code >> 2) ? 1 : 0x80;
      store<u8>(SPREAD_TABLE + <usize>(8 * b + 4 * half + j), slot == 0x80 ? 0x80 : slot + 2 * half);
    }
  }
}

/** E4M3 value of the scale byte at p. */
@inline export function e4m3At(p: usize): f32 {
  return load<f32>(E4M3_TABLE + f4(<i32>load<u8>(p)));
}

/** 2·E2M1 of the 4-bit code c (an integer in −12 … 12). */
@inline export function e2m1x2(c: i32): i32 {
  return <i32>load<i8>(E2M1X2 + <usize>c);
}

/** E2M1 value of the 4-bit code c. */
@inline export function e2m1(c: i32): f32 {
  return <f32>e2m1x2(c) * 0.5;
}

/** The 16 lanes of E2M1X2, or (plus12) of E2M1X2 + 12 (the relaxed dot's weights, 2·E2M1 + 12 ∈ [0, 24]); load them once, outside a loop. */
@inline export function e2m1x2Lanes(plus12: bool): v128 {
  return v128.load(plus12 ? E2M1X2_PLUS12 : E2M1X2);
}

/** 2·E2M1 of the nibbles in lane order lo[0], hi[0], lo[1], hi[1], … (8 pairs) as int8. */
@inline function pairs(v: v128): v128 {
  const lo = v128.and(v, i8x16.splat(0x0f));
  const hi = i8x16.shr_u(v, 4);
  const codes = i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  return i8x16.swizzle(v128.load(E2M1X2), codes);
}

/** nvfp4: the 16 weights ×2 (int8, element order) of the block whose 8 code bytes are at c. */
@inline export function decodeBlock(c: usize): v128 {
  return pairs(v128.load64_zero(c));
}

/** nvfp4-s24: the kept weights ×2 (int8) of the code bytes in v's low lanes: lanes 2g, 2g + 1 = (i0, i1) of group g. */
@inline export function keptS24(v: v128): v128 {
  return pairs(v);
}

/**
 * nvfp4-s24: block `half` (0 or 1) of the kept weights (keptS24 of up to two blocks' 8 code bytes)
 * spread to its 16 positions (int8, pruned = 0), by its 2 position bytes at p + 2·half.
 */
@inline export function spreadS24(kept: v128, p: usize, half: i32): v128 {
  const pos = <usize>load<u16>(p + <usize>(half << 1));
  let idx = v128.load64_zero(SPREAD_TABLE + ((pos & 0xff) << 3));
  idx = v128.load64_lane(SPREAD_TABLE + ((pos >> 8) << 3), idx, 1);
  const offset = half ? i8x16(8, 8, 8, 8, 8, 8, 8, 8, 12, 12, 12, 12, 12, 12, 12, 12) : i8x16(0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4);
  return i8x16.swizzle(kept, i8x16.add(idx, offset));
}

/** nvfp4-s24: the 16 weights ×2 (int8, pruned = 0) of the block with 4 code bytes at c, 2 position bytes at p. */
@inline export function decodeBlockS24(c: usize, p: usize): v128 {
  return spreadS24(keptS24(v128.load32_zero(c)), p, 0);
}

/** Lanes 4q..4q+3 of 16 int8 weights as f32x4. */
@inline export function quarter(w16: v128, q: i32): v128 {
  const h = q < 2 ? i16x8.extend_low_i8x16_s(w16) : i16x8.extend_high_i8x16_s(w16);
  return f32x4.convert_i32x4_s(q & 1 ? i32x4.extend_high_i16x8_s(h) : i32x4.extend_low_i16x8_s(h));
}

/** Σ over one block of x (x0..x3) · weights (w0..w3), f32x4 each, in lanes. */
@inline export function blockDot(x0: v128, x1: v128, x2: v128, x3: v128, w0: v128, w1: v128, w2: v128, w3: v128): v128 {
  return f32x4.add(f32x4.add(f32x4.mul(x0, w0), f32x4.mul(x1, w1)), f32x4.add(f32x4.mul(x2, w2), f32x4.mul(x3, w3)));
}

/** blockDot with x read from xp (16 f32). */
@inline export function blockDotAt(xp: usize, w0: v128, w1: v128, w2: v128, w3: v128): v128 {
  return blockDot(v128.load(xp), v128.load(xp, 16), v128.load(xp, 32), v128.load(xp, 48), w0, w1, w2, w3);
}

/** blockDot of x (in registers) and 16 int8 weights. */
@inline export function blockDotW8(x0: v128, x1: v128, x2: v128, x3: v128, w16: v128): v128 {
  return blockDot(x0, x1, x2, x3, quarter(w16, 0), quarter(w16, 1), quarter(w16, 2), quarter(w16, 3));
}

/** acc + b · scale (one block's partial dot into a row accumulator). */
@inline export function addScaled(acc: v128, b: v128, scale: f32): v128 {
  return f32x4.add(acc, f32x4.mul(b, f32x4.splat(scale)));
}

/** nvfp4, scalar: Σ_{16} x_k · E2M1(code_k) over the block at x (f32) and c (8 code bytes). */
@inline export function blockDotScalar(x: usize, c: usize): f32 {
  let s: f32 = 0;
  for (let j = 0; j < 8; j++) {
    const byte = <i32>load<u8>(c + j);
    s += load<f32>(x + f4(2 * j)) * e2m1(byte & 15);
    s += load<f32>(x + f4(2 * j + 1)) * e2m1(byte >> 4);
  }
  return s;
}

/** nvfp4-s24, scalar: Σ over the block's 4 groups of the two kept x_k · E2M1(code). */
@inline export function blockDotS24Scalar(x: usize, c: usize, p: usize): f32 {
  let s: f32 = 0;
  for (let g = 0; g < 4; g++) {
    const byte = <i32>load<u8>(c + g);
    const pos = (<i32>load<u8>(p + (g >> 1)) >> (4 * (g & 1))) & 15;
    const xg = x + f4(4 * g);
    s += load<f32>(xg + f4(pos & 3)) * e2m1(byte & 15);
    s += load<f32>(xg + f4(pos >> 2)) * e2m1(byte >> 4);
  }
  return s;
}
