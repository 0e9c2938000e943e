// engine/formats/legacy-quants.ts: Q4_1, Q5_0 and Q5_1 blocks built by hand decode to the values
// of the ggml block definitions (ggml-common.h, `dequantize_row_q4_1/q5_0/q5_1`), worked out by
// hand below; the quantisers' blocks decode back within half a step.

import { describe, expect, it } from 'vitest';
import { dequantQ4_1, dequantQ5_0, dequantQ5_1, quantQ4_1, quantQ5_0, quantQ5_1 } from '../../../engine/formats/legacy-quants.js';

describe('Q4_1', () => {
  it('x[j] = lo·d + m, x[j+16] = hi·d + m, with the one f32 rounding of the addition', () => {
    const blk = new Uint8Array(20);
    blk.set([0x00, 0x38, 0x00, 0xbc]); // d = 0.5, m = −1
    for (let j = 0; j < 16; j++) blk[4 + j] = j | ((15 - j) << 4);
    const out = new Float32Array(32);
    dequantQ4_1(blk, out, 32);
    for (let j = 0; j < 16; j++) {
      expect(out[j]).toBe(0.5 * j - 1);
      expect(out[j + 16]).toBe(0.5 * (15 - j) - 1);
    }
    blk.set([0x00, 0x70, 0x01, 0x00]); // d = 2^13, m = 2^-24: 15·2^13 + 2^-24 rounds to 122880
    blk[4] = 15;
    dequantQ4_1(blk, out, 32);
    expect(out[0]).toBe(122880);
  });
});

describe('Q5_0', () => {
  it('bit j of qh is the fifth bit of x[j], bit j+16 that of x[j+16]; then −16, times d', () => {
    const blk = new Uint8Array(22);
    blk.set([0x00, 0x3c]); // d = 1
    blk.set([0b0000_0101, 0, 0b0000_0001, 0x80], 2); // bits 0, 2, 16, 31
    for (let j = 0; j < 16; j++) blk[6 + j] = 0x3 | (0x7 << 4);
    const out = new Float32Array(32);
    dequantQ5_0(blk, out, 32);
    for (let j = 0; j < 16; j++) {
      expect(out[j]).toBe(j === 0 || j === 2 ? 3 : 3 - 16);
      expect(out[j + 16]).toBe(j === 0 || j === 15 ? 7 : 7 - 16);
    }
  });
});

describe('Q5_1', () => {
  it('x = (nibble + 16·bit)·d + m', () => {
    const blk = new Uint8Array(24);
    blk.set([0x00, 0x40, 0x00, 0x3c]); // d = 2, m = 1
    blk.set([0, 0x01, 0, 0x40], 4); // bits 8, 30
    for (let j = 0; j < 16; j++) blk[8 + j] = 0xf0 | 1;
    const out = new Float32Array(32);
    dequantQ5_1(blk, out, 32);
    for (let j = 0; j < 16; j++) {
      expect(out[j]).toBe((1 + (j === 8 ? 16 : 0)) * 2 + 1);
      expect(out[j + 16]).toBe((15 + (j === 14 ? 16 : 0)) * 2 + 1);
    }
  });
});

describe('quantisers', () => {
  // step: (max − min)/15 or /31 (Q4_1, Q5_1; error ≤ half a step), amax/16 (Q5_0: the value
  // opposite the extreme clamps at code 31, one step off, as in ggml); plus f16 rounding of d and m
  const cases = [
    ['Q4_1', quantQ4_1, dequantQ4_1, 20, (lo: number, hi: number) => (0.5 * (hi - lo)) / 15],
    ['Q5_0', quantQ5_0, dequantQ5_0, 22, (lo: number, hi: number) => Math.max(-lo, hi) / 16],
    ['Q5_1', quantQ5_1, dequantQ5_1, 24, (lo: number, hi: number) => (0.5 * (hi - lo)) / 31],
  ] as const;
  for (const [name, quant, dequant, bytes, bound] of cases) {
    it(`${name}: every value comes back within its block's step bound`, () => {
      const n = 256;
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 5)));
      const blocks = new Uint8Array((n / 32) * bytes);
      quant(x, blocks, n);
      const back = new Float32Array(n);
      dequant(blocks, back, n);
      for (let b = 0; b < n; b += 32) {
        const part = x.subarray(b, b + 32);
        const [lo, hi] = [Math.min(...part), Math.max(...part)];
        for (let j = 0; j < 32; j++) expect(Math.abs(back[b + j] - x[b + j])).toBeLessThanOrEqual(bound(lo, hi) * 1.01 + 2 ** -10 * (hi - lo));
      }
    });
  }
});
