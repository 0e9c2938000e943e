// engine/formats/kquants.ts: Q4_K, Q5_K and Q6_K blocks built by hand decode to the values the
// ggml block definitions give (ggml-common.h, ggml-quants.c `dequantize_row_q*_K`), worked out
// by hand below; the packed 6-bit scales/mins match get_scale_min_k4; the quantisers' blocks
// decode back within their step.

import { describe, expect, it } from 'vitest';
import {
  dequantQ4_K,
  dequantQ5_K,
  dequantQ6_K,
  packScaleMinK4,
  quantQ4_K,
  quantQ5_K,
  quantQ6_K,
  scaleMinK4,
} from '../../../engine/formats/kquants.js';

describe('get_scale_min_k4', () => {
  it('reads 6-bit scales/mins from the 12 packed bytes (sub-blocks 0..3 low 6 bits, 4..7 split)', () => {
    // sub-block 1: sc 5, m 1; sub-block 5: sc 17 = 0b01_0001, m 34 = 0b10_0010
    //   b[9] = (17 & 15) | (34 & 15) << 4 = 0x21;  b[1] = 5 | (17 >> 4) << 6 = 0x45;  b[5] = 1 | (34 >> 4) << 6 = 0x81
    const b = new Uint8Array([0, 0x45, 0, 0, 0, 0x81, 0, 0, 0, 0x21, 0, 0]);
    expect(scaleMinK4(b, 0, 1)).toEqual([5, 1]);
    expect(scaleMinK4(b, 0, 5)).toEqual([17, 34]);
    expect(scaleMinK4(b, 0, 0)).toEqual([0, 0]);
    const packed = new Uint8Array(12);
    packScaleMinK4([0, 5, 0, 0, 0, 17, 0, 0], [0, 1, 0, 0, 0, 34, 0, 0], packed, 0);
    expect([...packed]).toEqual([...b]);
  });

  it('packs every 6-bit value of every sub-block so that it reads back', () => {
    for (let v = 0; v < 64; v++) {
      const sc = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => (v + 7 * j) & 63);
      const m = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => (v * 3 + j) & 63);
      const b = new Uint8Array(12);
      packScaleMinK4(sc, m, b, 0);
      for (let j = 0; j < 8; j++) expect(scaleMinK4(b, 0, j)).toEqual([sc[j], m[j]]);
    }
  });
});

describe('Q4_K', () => {
  it('x = d·sc·q − dmin·m with low nibbles for the first 32 of each 64, high for the next 32', () => {
    const blk = new Uint8Array(144);
    blk.set([0x00, 0x3c, 0x00, 0x38]); // d = 1, dmin = 0.5
    // sub-block 0: sc 2, m 3; sub-block 1: sc 5, m 1; sub-block 5: sc 17, m 34; others 0
    blk.set([2, 0x45, 0, 0, 3, 0x81, 0, 0, 0, 0x21, 0, 0], 4);
    for (let l = 0; l < 32; l++) blk[16 + l] = (l & 15) | ((15 - (l & 15)) << 4); // group 0
    for (let l = 0; l < 32; l++) blk[16 + 64 + l] = 0xa3; // group 2: sub-block 4 low 3, sub-block 5 high 10
    const out = new Float32Array(256);
    dequantQ4_K(blk, out, 256);
    for (let l = 0; l < 32; l++) {
      expect(out[l]).toBe(2 * (l & 15) - 1.5);
      expect(out[32 + l]).toBe(5 * (15 - (l & 15)) - 0.5);
      expect(out[128 + l]).toBe(0); // sc = m = 0
      expect(out[160 + l]).toBe(17 * 10 - 17); // 0.5·34 = 17
      expect(out[64 + l]).toBe(0);
    }
  });

  it('rounds the final subtraction once to f32', () => {
    const blk = new Uint8Array(144);
    blk.set([0x01, 0x3c, 0x01, 0x00]); // d = 1 + 2^-10, dmin = 2^-24
    blk.set([63, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 4); // sub-block 0: sc 63, m 1
    blk[16] = 15;
    const out = new Float32Array(256);
    dequantQ4_K(blk, out, 256);
    // exact: 63·(1 + 2^-10)·15 − 2^-24 = 945.9228515625 − 2^-24; the f32 grid there is 2^-14
    expect(out[0]).toBe(945.9228515625);
    expect(out[1]).toBe(-(2 ** -24));
  });
});

describe('Q5_K', () => {
  it('q = nibble + 16 when qh bit 2g (first 32 of group g) or 2g+1 (next 32) is set', () => {
    const blk = new Uint8Array(176);
    blk.set([0x00, 0x3c, 0x00, 0x3c]); // d = dmin = 1
    blk.set([1, 1, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0], 4); // sc 1, 1, 2, 0; m 0, 0, 1, 0
    for (let l = 0; l < 32; l++) blk[16 + l] = (l % 2 === 0 ? 0b11 : 0) | (l < 16 ? 0b100 : 0);
    blk[48 + 3] = 0x2f; // group 0, l = 3: low 15, high 2
    for (let l = 0; l < 32; l++) blk[48 + 32 + l] = 0x05; // group 1: low 5, high 0
    const out = new Float32Array(256);
    dequantQ5_K(blk, out, 256);
    for (let l = 0; l < 32; l++) {
      const even = l % 2 === 0 ? 16 : 0;
      expect(out[l]).toBe(l === 3 ? 15 : even);
      expect(out[32 + l]).toBe(l === 3 ? 2 : even);
      expect(out[64 + l]).toBe(2 * (5 + (l < 16 ? 16 : 0)) - 1);
      expect(out[96 + l]).toBe(0);
    }
    for (let j = 128; j < 256; j++) expect(out[j]).toBe(0);
  });
});

describe('Q6_K', () => {
  it('x = d·sc·(code − 32): 4 low nibbles from ql, 2 high bits each from qh, int8 scales per 16', () => {
    const blk = new Uint8Array(210);
    for (let l = 0; l < 32; l++) {
      blk[l] = 0x21; // p0 low 1, p2 low 2
      blk[32 + l] = 0x43; // p1 low 3, p3 low 4
      blk[128 + l] = 0xe4; // high bits p0 0, p1 1, p2 2, p3 3
    }
    blk.set([1, -2 & 0xff, 3, 0, 4, 0, -1 & 0xff, 0, 127], 192);
    blk.set([0x00, 0x34], 208); // d = 0.25
    const out = new Float32Array(256);
    dequantQ6_K(blk, out, 256);
    // codes: p0 1 → −31, p1 3 | 16 = 19 → −13, p2 2 | 32 = 34 → 2, p3 4 | 48 = 52 → 20
    for (let l = 0; l < 32; l++) {
      const lo = l < 16;
      expect(out[l]).toBe(lo ? 0.25 * -31 : 0.25 * -2 * -31);
      expect(out[32 + l]).toBe(lo ? 0.25 * 3 * -13 : -0); // (d·0)·−13 = −0, as in C
      expect(out[64 + l]).toBe(lo ? 2 : 0);
      expect(out[96 + l]).toBe(lo ? -5 : 0);
      expect(out[128 + l]).toBe(lo ? 0.25 * 127 * -32 : -0); // second half: all codes 0 → −32
    }
  });
});

/** Deterministic values with a spread of magnitudes and an outlier per 256. */
function row(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = ((s / 2 ** 32) * 2 - 1) * (1 + (i % 7)) * 0.01 + (i % 256 === 17 ? 0.3 : 0);
  }
  return x;
}

describe('K-quant quantisers', () => {
  const cases = [
    ['Q4_K', quantQ4_K, dequantQ4_K, 144, 15, 0.1],
    ['Q5_K', quantQ5_K, dequantQ5_K, 176, 31, 0.05],
    ['Q6_K', quantQ6_K, dequantQ6_K, 210, 63, 0.03],
  ] as const;
  for (const [name, quant, dequant, bytes, levels, relRms] of cases) {
    it(`${name}: quantise → dequantise stays within the step of each sub-block (relative RMS < ${relRms})`, () => {
      const n = 1024;
      const x = row(n, 7);
      const blocks = new Uint8Array((n / 256) * bytes);
      quant(x, blocks, n);
      const back = new Float32Array(n);
      dequant(blocks, back, n);
      let err = 0;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        // a sub-block's step is at most its range / levels, then rounded to 6/8-bit scales: allow 1.5 steps
        const sub = name === 'Q6_K' ? 16 : 32;
        const s0 = i - (i % sub);
        const part = x.subarray(s0, s0 + sub);
        const range = Math.max(...part, 0) - Math.min(...part, 0);
        expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual((1.5 * range) / levels + 1e-6);
        err += (back[i] - x[i]) ** 2;
        sum += x[i] ** 2;
      }
      expect(Math.sqrt(err / sum)).toBeLessThan(relRms);
    });
  }

  it('an all-zero row quantises to zeros', () => {
    for (const [, quant, dequant, bytes] of cases) {
      const blocks = new Uint8Array(bytes);
      quant(new Float32Array(256), blocks, 256);
      const back = new Float32Array(256);
      dequant(blocks, back, 256);
      expect(back.every((v) => v === 0)).toBe(true);
    }
  });
});
