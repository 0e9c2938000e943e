import { describe, expect, it } from 'vitest';
import { UnsupportedDTypeError } from '../../../engine/core/errors.js';
import {
  bf16ToF32,
  bf16ToF32Bits,
  decodeAll,
  decodeInto,
  f16ToF32,
  f16ToF32Bits,
  f32FromBits,
  f32ToBf16Bits,
  f32ToBits,
  f32ToF16Bits,
} from '../../../engine/formats/dtype.js';

// An independent f16 decoder written from the IEEE 754 definition with plain arithmetic.
function f16ByDefinition(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * Math.pow(2, -24);
  return s * (1 + m / 1024) * Math.pow(2, e - 15);
}

describe('bf16', () => {
  it('decodes hand-computed bit patterns', () => {
    expect(bf16ToF32Bits(0x3f80)).toBe(0x3f800000);
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc040)).toBe(-3); // sign, 2^1 · 1.5
    expect(bf16ToF32(0x4049)).toBe(3.140625); // 2^1 · (1 + 73/128)
    expect(bf16ToF32(0x0001)).toBe(2 ** -133); // smallest subnormal: 2^16 · 2^−149
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0xff80)).toBe(-Infinity);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    expect(Object.is(bf16ToF32(0x8000), -0)).toBe(true);
  });

  it('round-trips every one of the 65536 bit patterns (NaNs stay NaN)', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const v = bf16ToF32(h);
      if (Number.isNaN(v)) {
        if (!Number.isNaN(bf16ToF32(f32ToBf16Bits(v)))) bad++;
      } else if (f32ToBf16Bits(v) !== h) bad++;
    }
    expect(bad).toBe(0);
  });

  it('rounds f32 to nearest, ties to even, overflowing to inf', () => {
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie between 0x3f80 and 0x3f81 → even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie between 0x3f81 and 0x3f82 → even
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // just above the tie
    expect(f32ToBf16Bits(-(1 + 2 ** -8 - 2 ** -20))).toBe(0xbf80); // just below the tie
    expect(f32ToBf16Bits(f32FromBits(0x7f7fffff))).toBe(0x7f80); // f32 max rounds up to inf
    expect(f32ToBf16Bits(f32FromBits(0x7f7f7fff))).toBe(0x7f7f); // stays at bf16 max
  });
});

describe('f16', () => {
  it('decodes hand-computed normals, ±0, ±inf and NaN', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x3555)).toBe(0.333251953125); // (1 + 341/1024) · 2^−2
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0400)).toBe(2 ** -14);
    expect(Object.is(f16ToF32(0x0000), 0)).toBe(true);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0xfc01)).toBeNaN();
  });

  it('decodes subnormals exactly, with their f32 bits', () => {
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32Bits(0x0001)).toBe(0x33800000);
    expect(f16ToF32(0x8001)).toBe(-(2 ** -24));
    expect(f16ToF32(0x0200)).toBe(2 ** -15);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16ToF32Bits(0x03ff)).toBe(0x387fc000); // 2^−15 · (1 + 511/512)
    expect(f16ToF32(0x0155)).toBe(341 * 2 ** -24);
  });

  it('keeps NaN payloads in the f32 bits', () => {
    expect(f16ToF32Bits(0x7e00)).toBe(0x7fc00000);
    expect(f16ToF32Bits(0x7c01)).toBe(0x7f802000);
    expect(f16ToF32Bits(0xfc00)).toBe(0xff800000);
  });

  it('agrees with the IEEE definition on all 65536 patterns and round-trips them', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const v = f16ToF32(h);
      const want = f16ByDefinition(h);
      if (Number.isNaN(want)) {
        if (!Number.isNaN(v) || !Number.isNaN(f16ToF32(f32ToF16Bits(v)))) bad++;
      } else if (!Object.is(v, want) || f32ToF16Bits(v) !== h) bad++;
    }
    expect(bad).toBe(0);
  });

  it('rounds f32 to nearest, ties to even, in every range', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even
    expect(f32ToF16Bits(65519)).toBe(0x7bff); // below the tie with inf
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // the tie rounds to inf
    expect(f32ToF16Bits(1e6)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e6)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie → 0
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp: tie → 2
    expect(f32ToF16Bits(2 ** -25 + 2 ** -40)).toBe(0x0001);
    expect(f32ToF16Bits(1023.5 * 2 ** -24)).toBe(0x0400); // tie at the top of the subnormals → 2^−14
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(1e-10)).toBe(0x0000);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(f16ToF32(f32ToF16Bits(NaN)))).toBe(true);
  });
});

describe('decodeInto / decodeAll', () => {
  it('decodes f32, f64, f16 and bf16 tensors', () => {
    const f32 = new Float32Array([1.5, -2, 0.1]);
    expect([...decodeAll('f32', new Uint8Array(f32.buffer))]).toEqual([1.5, -2, Math.fround(0.1)]);
    const f64 = new Float64Array([0.1, -3]);
    expect([...decodeAll('f64', new Uint8Array(f64.buffer))]).toEqual([0.1, -3]);
    expect([...decodeAll('f16', new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001]).buffer))]).toEqual([1, -2, 2 ** -24]);
    expect([...decodeAll('bf16', new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer))]).toEqual([1, -3]);
  });

  it('decodes a sub-range into an offset, from an unaligned source', () => {
    // bf16 [1, 2, 3, 4] little-endian, placed at byte offset 1 of a buffer
    const raw = new Uint8Array(9);
    raw.set([0x80, 0x3f, 0x00, 0x40, 0x40, 0x40, 0x80, 0x40], 1);
    const dst = new Float64Array(4);
    decodeInto('bf16', raw.subarray(1), 1, 2, dst, 1);
    expect([...dst]).toEqual([0, 2, 3, 0]);
    // f32 3.0 = 0x40400000 at an odd offset
    const f = new Uint8Array(5);
    f.set([0x00, 0x00, 0x40, 0x40], 1);
    expect([...decodeAll('f32', f.subarray(1))]).toEqual([3]);
  });

  it('names the tensor when the dtype is not a float', () => {
    expect(() => decodeAll('i32', new Uint8Array(4), 'x.weight')).toThrow(UnsupportedDTypeError);
    expect(() => decodeAll('i32', new Uint8Array(4), 'x.weight')).toThrow(/x\.weight has dtype i32/);
  });

  it('f32ToBits and f32FromBits are inverse', () => {
    expect(f32ToBits(1)).toBe(0x3f800000);
    expect(f32ToBits(-2)).toBe(0xc0000000);
    expect(f32FromBits(0x3eaaaaab)).toBe(Math.fround(1 / 3));
  });
});
