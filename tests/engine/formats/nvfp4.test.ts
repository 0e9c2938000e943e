import { describe, expect, it } from 'vitest';
import {
  decodeNvfp4Row,
  decodeNvfp4S24Row,
  E2M1_VALUES,
  E4M3_VALUES,
  e2m1ToNumber,
  e4m3ToNumber,
  numberToE2m1,
  numberToE4m3,
} from '../../../engine/formats/nvfp4.js';

// Expected E4M3 values written independently of the codec: an integer significand times an exact
// power of two. Normal: (8 + m) · 2^(e − 10); subnormal: m · 2^−9; 0x7F / 0xFF: NaN.
function expectedE4m3(b: number): number {
  const sign = b >= 0x80 ? -1 : 1;
  const e = (b >> 3) & 15;
  const m = b & 7;
  if ((b & 0x7f) === 0x7f) return NaN;
  return e === 0 ? sign * m * 2 ** -9 : sign * (8 + m) * 2 ** (e - 10);
}

// The positive E4M3 values in ascending order with their bytes (0x00..0x7E).
const POSITIVE = Array.from({ length: 0x7f }, (_, b) => ({ b, v: expectedE4m3(b) }));

describe('E2M1 (spec §14.1)', () => {
  it('decodes all 16 codes: magnitudes 0, .5, 1, 1.5, 2, 3, 4, 6, bit 3 the sign', () => {
    const want = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
    expect([...E2M1_VALUES]).toEqual(want);
    for (let c = 0; c < 16; c++) expect(e2m1ToNumber(c)).toBe(want[c]);
  });

  it('round-trips every code (−0 encodes as +0)', () => {
    for (let c = 0; c < 16; c++) expect(numberToE2m1(E2M1_VALUES[c])).toBe(c === 8 ? 0 : c);
  });

  it('rounds with the vLLM thresholds, ties to the even mantissa, saturating at 6', () => {
    const cases: [number, number][] = [
      [0.25, 0], [0.2500001, 1], [0.74, 1], [0.75, 2], [1.25, 2], [1.2500001, 3], [1.7499, 3], [1.75, 4],
      [2.5, 4], [2.5000001, 5], [3.4999, 5], [3.5, 6], [5, 6], [5.0000001, 7], [6, 7], [1e9, 7], [Infinity, 7],
      [-0.1, 0], [-0.3, 9], [-5.5, 15], [NaN, 0],
    ];
    for (const [x, code] of cases) expect(numberToE2m1(x), `x = ${x}`).toBe(code);
  });
});

describe('E4M3 (spec §14.1)', () => {
  it('decodes all 256 bytes exactly (subnormals, NaN at 0x7F/0xFF, max 448)', () => {
    for (let b = 0; b < 256; b++) {
      const want = expectedE4m3(b);
      expect(Object.is(E4M3_VALUES[b], want), `byte 0x${b.toString(16)}`).toBe(true);
      expect(Object.is(e4m3ToNumber(b), want)).toBe(true);
    }
    // spot values by hand
    expect(e4m3ToNumber(0x38)).toBe(1);
    expect(e4m3ToNumber(0xb8)).toBe(-1);
    expect(e4m3ToNumber(0x7e)).toBe(448);
    expect(e4m3ToNumber(0x77)).toBe(240);
    expect(e4m3ToNumber(0x08)).toBe(0.015625);
    expect(e4m3ToNumber(0x07)).toBe(0.013671875);
    expect(e4m3ToNumber(0x01)).toBe(0.001953125);
    expect(Object.is(e4m3ToNumber(0x80), -0)).toBe(true);
    expect(Math.max(...[...E4M3_VALUES].filter((v) => !Number.isNaN(v)))).toBe(448);
  });

  it('round-trips every non-NaN byte', () => {
    for (let b = 0; b < 256; b++) if ((b & 0x7f) !== 0x7f) expect(numberToE4m3(expectedE4m3(b))).toBe(b);
    expect(numberToE4m3(NaN)).toBe(0x7f);
  });

  it('rounds to nearest, ties to even, at every pair of neighbours', () => {
    for (let i = 0; i + 1 < POSITIVE.length; i++) {
      const lo = POSITIVE[i];
      const hi = POSITIVE[i + 1];
      const mid = (lo.v + hi.v) / 2;
      const even = lo.b % 2 === 0 ? lo.b : hi.b;
      expect(numberToE4m3(mid), `tie ${mid}`).toBe(even);
      expect(numberToE4m3(-mid)).toBe(0x80 | even);
      const eps = (hi.v - lo.v) / 64;
      expect(numberToE4m3(mid - eps)).toBe(lo.b);
      expect(numberToE4m3(mid + eps)).toBe(hi.b);
    }
  });

  it('saturates at ±448', () => {
    expect(numberToE4m3(464)).toBe(0x7e);
    expect(numberToE4m3(1e6)).toBe(0x7e);
    expect(numberToE4m3(-Infinity)).toBe(0xfe);
  });
});

describe('row decoding', () => {
  it('nvfp4: W = E2M1 · E4M3(scale) · weight_scale_2, low nibble = even element', () => {
    // one row, K = 32: block 0 scale 1.0 (0x38), block 1 scale 2^-9 (0x01); weight_scale_2 = 2
    const codes = new Uint8Array(16);
    codes[0] = 0xf1; // element 0: code 1 (0.5), element 1: code 0xf (−6)
    codes[8] = 0x07; // element 16: code 7 (6), element 17: code 0
    codes[15] = 0xa0; // element 30: 0, element 31: code 0xa (−1)
    const scales = Uint8Array.of(0x38, 0x01);
    const row = new Float64Array(32);
    decodeNvfp4Row(codes, scales, 2, 0, 32, row);
    const want = new Array(32).fill(0);
    want[0] = 1;
    want[1] = -12;
    want[16] = 6 * 2 ** -9 * 2;
    want[31] = -1 * 2 ** -9 * 2;
    expect([...row]).toEqual(want);
  });

  it('nvfp4: picks row n by the [out, in/2] and [out, in/16] layouts', () => {
    const codes = new Uint8Array(16); // 2 rows × K = 16
    codes[8] = 0x32; // row 1: element 0 = 1, element 1 = 1.5
    const scales = Uint8Array.of(0x38, 0x40); // row 1 scale 2
    const row = new Float64Array(16);
    decodeNvfp4Row(codes, scales, 0.5, 1, 16, row);
    expect([...row.subarray(0, 3)]).toEqual([1, 1.5, 0]);
  });

  it('nvfp4-s24: kept codes land at their positions, the rest are 0', () => {
    // one row, K = 16: 4 groups; codes (0,1), (2,3), (1,3), (0,2); packed 2 per byte, even group low
    const positions = Uint8Array.of(0x4 | (0xe << 4), 0xd | (0x8 << 4));
    const codes = Uint8Array.of(0x21, 0x43, 0x65, 0xf7); // group g: first kept low nibble
    const scales = Uint8Array.of(0x38);
    const row = new Float64Array(16);
    decodeNvfp4S24Row(codes, positions, scales, 1, 0, 16, row);
    expect([...row]).toEqual([0.5, 1, 0, 0, 0, 0, 1.5, 2, 0, 3, 0, 4, 6, 0, -6, 0]);
  });
});
