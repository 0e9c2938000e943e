// Element decoders for the float dtypes of spec §12 (f32, f16, bf16, f64), shared by every
// backend and loader. Decoding is exact: every f16 and bf16 value is representable in f32, and
// every f32 in f64, so the decoded number equals the stored one with no rounding. The two
// encoders (f32 → bf16, f32 → f16) round to nearest, ties to even, as IEEE 754 conversion does.
//
// Bit layouts (sign | exponent | mantissa):
//   f32  1 | 8 (bias 127) | 23      bf16  1 | 8 (bias 127) | 7  (the top 16 bits of an f32)
//   f16  1 | 5 (bias 15)  | 10      f16 subnormal: (−1)^s · m · 2^−24

import { UnsupportedDTypeError } from '../core/errors.js';
import { DTYPE_BYTES, type DType } from '../core/weights.js';

/** Float dtypes `decodeInto` understands. */
export const FLOAT_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'f64'];

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The f32 whose bit pattern is `bits` (u32). */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0];
}

/** The bit pattern (u32) of `x` rounded to f32. */
export function f32ToBits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/**
 * f32 bits of a bf16 value: bf16 is the upper half of an f32, so this is a shift.
 * @example bf16ToF32Bits(0x3f80) // 0x3f800000 (1.0)
 */
export function bf16ToF32Bits(h: number): number {
  return (h << 16) >>> 0;
}

/**
 * Value of a bf16 bit pattern.
 * @example bf16ToF32(0xc040) // -3
 */
export function bf16ToF32(h: number): number {
  return f32FromBits(bf16ToF32Bits(h));
}

/**
 * f32 bits of an f16 value, exact for normals, subnormals (renormalised), ±0, ±inf and NaN
 * (the 10 payload bits move to the top of the f32 mantissa).
 * @example f16ToF32Bits(0x3c00) // 0x3f800000 (1.0)
 */
export function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: rebias 15 → 127
  if (mant === 0) return sign >>> 0; // ±0
  // subnormal m·2^−24: shift the leading 1 up to bit 10, lowering the exponent once per shift
  let e = 113; // 127 − 14: the exponent of 2^−14, the f16 subnormal scale with an implicit 1
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/**
 * Value of an f16 bit pattern.
 * @example f16ToF32(0x0001) // 2^-24 = 5.960464477539063e-8
 */
export function f16ToF32(h: number): number {
  return f32FromBits(f16ToF32Bits(h));
}

/**
 * bf16 bits of `x` rounded to f32 then to bf16, nearest with ties to even; NaN stays a quiet NaN.
 * @example f32ToBf16Bits(1.00390625) // 0x3f80 (a tie, rounded to the even mantissa)
 */
export function f32ToBf16Bits(x: number): number {
  const b = f32ToBits(x);
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40;
  return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
}

/**
 * f16 bits of `x` rounded to f32 then to f16, nearest with ties to even: overflow gives ±inf,
 * tiny values give subnormals or ±0, NaN stays a quiet NaN.
 * @example f32ToF16Bits(65520) // 0x7c00 (+inf: 65520 is the tie above the largest f16, 65504)
 */
export function f32ToF16Bits(x: number): number {
  const b = f32ToBits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  if (exp < 113) {
    // below 2^−14: a multiple of 2^−24 (or zero); |x|·2^24 is exact in f64
    return sign | roundHalfEven(Math.abs(f32FromBits(b)) * 2 ** 24);
  }
  if (exp > 142) return sign | 0x7c00; // ≥ 2^16: beyond every f16
  // normal: keep 10 of 23 mantissa bits; a carry out of the mantissa bumps the exponent
  // (and at the top turns 0x7bff + 1 into 0x7c00 = inf)
  const shifted = ((exp - 112) << 10) | (mant >>> 13);
  const rest = mant & 0x1fff; // the 13 dropped bits; 0x1000 is exactly half an f16 ulp
  const up = rest > 0x1000 || (rest === 0x1000 && (shifted & 1) === 1) ? 1 : 0;
  return sign | (shifted + up);
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  return r > 0.5 || (r === 0.5 && f % 2 === 1) ? f + 1 : f;
}

function typedView(dtype: DType, bytes: Uint8Array, first: number, count: number): ArrayLike<number> {
  const size = DTYPE_BYTES[dtype];
  let off = bytes.byteOffset + first * size;
  let buf = bytes.buffer;
  if (off % size !== 0) {
    // unaligned source (e.g. a tensor at an odd offset in a file buffer): copy the range
    buf = bytes.slice(first * size, (first + count) * size).buffer;
    off = 0;
  }
  if (dtype === 'f64') return new Float64Array(buf, off, count);
  if (dtype === 'f32') return new Float32Array(buf, off, count);
  return new Uint16Array(buf, off, count);
}

/**
 * Decode elements [first, first+count) of a raw little-endian tensor into `dst` at `dstOffset`,
 * exactly. Throws `UnsupportedDTypeError` for a non-float dtype; `tensor` names it in the message.
 * @example
 * const row = new Float64Array(cols);
 * decodeInto('bf16', bytes, r * cols, cols, row); // row r of a bf16 [rows, cols] matrix
 */
export function decodeInto(
  dtype: DType,
  bytes: Uint8Array,
  first: number,
  count: number,
  dst: Float64Array,
  dstOffset = 0,
  tensor = '(tensor)',
): void {
  if (!FLOAT_DTYPES.includes(dtype)) throw new UnsupportedDTypeError(tensor, dtype, FLOAT_DTYPES);
  const src = typedView(dtype, bytes, first, count);
  if (dtype === 'bf16') {
    // widen the bit patterns in bulk, then read them back as f32
    if (wide.length < count) wide = new Uint32Array(count);
    for (let i = 0; i < count; i++) wide[i] = src[i] << 16;
    dst.set(new Float32Array(wide.buffer, 0, count), dstOffset);
  } else if (dtype === 'f16') {
    const table = f16Table();
    for (let i = 0; i < count; i++) dst[dstOffset + i] = table[src[i]];
  } else {
    for (let i = 0; i < count; i++) dst[dstOffset + i] = src[i];
  }
}

let wide = new Uint32Array(0); // scratch for bf16 rows, grown on demand
let f16Values: Float32Array | null = null; // (65536) every f16 value, built on first use

function f16Table(): Float32Array {
  if (!f16Values) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = f16ToF32Bits(h);
    f16Values = new Float32Array(bits.buffer);
  }
  return f16Values;
}

/**
 * Decode a whole raw tensor of `dtype` to f64, exactly.
 * @example decodeAll('f16', new Uint8Array([0x00, 0x3c])) // Float64Array [1]
 */
export function decodeAll(dtype: DType, bytes: Uint8Array, tensor = '(tensor)'): Float64Array {
  const out = new Float64Array(Math.floor(bytes.byteLength / DTYPE_BYTES[dtype]));
  decodeInto(dtype, bytes, 0, out.length, out, 0, tensor);
  return out;
}

/**
 * The f16 stored little-endian at b[at..at + 2), as a number (exact).
 * @example readF16(Uint8Array.of(0x00, 0x3c), 0) // 1
 */
export function readF16(b: Uint8Array, at: number): number {
  return f16ToF32(b[at] | (b[at + 1] << 8));
}

/**
 * Store `v` rounded to f16 at b[at..at + 2), little-endian; returns the stored value.
 * @example writeF16(out, 0, 0.1) // 0.0999755859375
 */
export function writeF16(b: Uint8Array, at: number, v: number): number {
  const h = f32ToF16Bits(v);
  b[at] = h & 0xff;
  b[at + 1] = h >>> 8;
  return f16ToF32(h);
}

/**
 * C's roundf: to nearest, halves away from zero (ggml's quantisers round so).
 * @example roundAway(-2.5) // -3
 */
export function roundAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}
