import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { decodeNvfp4Row, decodeNvfp4S24Row, E4M3_VALUES, numberToE4m3 } from '../../engine/formats/nvfp4.js';
import { isLegalPositionCode } from '../../engine/formats/sparse24.js';
import { quantizedDecls, quantizedPartBytes, quantizeLinear, type QuantizedLinear, type RowSource } from '../../weights-tools/quantize.js';
import { mulberry32 } from '../helpers/memory-store.js';

const source = (W: Float64Array, rows: number, cols: number): RowSource => ({
  name: 'w',
  rows,
  cols,
  readRow: (r, dst) => dst.set(W.subarray(r * cols, (r + 1) * cols)),
});

/** Decode a quantised weight back to (rows, cols) with the engine's row decoders. */
function decode(q: QuantizedLinear): Float64Array {
  const out = new Float64Array(q.rows * q.cols);
  for (let n = 0; n < q.rows; n++) {
    const row = out.subarray(n * q.cols, (n + 1) * q.cols);
    if (q.format === 'nvfp4') decodeNvfp4Row(q.weight, q.scale, q.scale2, n, q.cols, row);
    else decodeNvfp4S24Row(q.weight, q.positions!, q.scale, q.scale2, n, q.cols, row);
  }
  return out;
}

const relErr = (a: Float64Array, b: Float64Array) => {
  let e = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    e += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(e / n);
};

const gaussian = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

describe('quantizeLinear nvfp4 (spec §14.1)', () => {
  it('uses weight_scale_2 = amax/(6·448) and block scale E4M3(amax_b/6/scale2)', () => {
    // one row, K = 32: block 0 has amax 6, block 1 has amax 0.75
    const W = new Float64Array(32);
    W.set([6, 3, -1.5, 0.5], 0);
    W.set([0.75, -0.375], 16);
    const q = quantizeLinear(source(W, 1, 32), { format: 'nvfp4' });
    expect(q.scale2).toBe(Math.fround(6 / 2688));
    expect(q.scale[0]).toBe(numberToE4m3(1 / q.scale2));
    expect(q.scale[0]).toBe(0x7e); // 448
    expect(q.scale[1]).toBe(numberToE4m3(0.125 / q.scale2)); // 56
    expect(E4M3_VALUES[q.scale[1]]).toBe(56);
    // codes: 6 → 7, 3 → 5, −1.5 → 0xb, 0.5 → 1 (low nibble = even element)
    expect([...q.weight.subarray(0, 2)]).toEqual([0x57, 0x1b]);
    // block 1: 0.75 / (56·scale2) ≈ 6 → 7, −0.375 → 3 → code 0xd
    expect(q.weight[8]).toBe(0xd7);
  });

  it('round-trips a matrix that is exactly representable, bit for bit', () => {
    const rand = mulberry32(1);
    const rows = 4;
    const cols = 64;
    const E2M1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6];
    // scale2 = 2^−8; block scales are E4M3 values; every block holds a ±6; the tensor amax is 6·448·2^−8
    const s2 = 2 ** -8;
    const W = new Float64Array(rows * cols);
    for (let b = 0; b < (rows * cols) / 16; b++) {
      const sb = b === 0 ? 448 : E4M3_VALUES[8 + Math.floor(rand() * 100)];
      for (let i = 0; i < 16; i++) {
        const v = (i === 3 ? 6 : E2M1[Math.floor(rand() * 8)]) * sb * s2;
        W[b * 16 + i] = v !== 0 && rand() < 0.5 ? -v : v; // +0 only: the encoder never writes −0
      }
    }
    const q = quantizeLinear(source(W, rows, cols), { format: 'nvfp4' });
    expect(q.scale2).toBe(s2);
    expect(q.relError).toBe(0);
    expect([...decode(q)]).toEqual([...W]);
  });

  it('reports the relative error of what the engine decodes, and MSE scales never do worse', () => {
    const rand = mulberry32(7);
    const rows = 16;
    const cols = 96;
    const W = Float64Array.from({ length: rows * cols }, () => gaussian(rand));
    const rtn = quantizeLinear(source(W, rows, cols), { format: 'nvfp4' });
    expect(rtn.relError).toBeCloseTo(relErr(decode(rtn), W), 12);
    expect(rtn.relError).toBeGreaterThan(0.05);
    expect(rtn.relError).toBeLessThan(0.15);
    const mse = quantizeLinear(source(W, rows, cols), { format: 'nvfp4', mse: true });
    expect(mse.relError).toBeCloseTo(relErr(decode(mse), W), 12);
    expect(mse.relError).toBeLessThan(rtn.relError);
    expect(mse.relOutputError).toBeNull();
  });

  it('rejects K not a multiple of 16', () => {
    expect(() => quantizeLinear(source(new Float64Array(24), 1, 24), { format: 'nvfp4' })).toThrow(InvalidOptionError);
  });
});

describe('quantizeLinear nvfp4-s24', () => {
  const rand = mulberry32(11);
  const rows = 8;
  const cols = 64;
  const W = Float64Array.from({ length: rows * cols }, () => gaussian(rand));

  it('keeps ≤ 2 non-zeros per group, legal codes, the 2 largest by magnitude', () => {
    const q = quantizeLinear(source(W, rows, cols), { format: 'nvfp4-s24' });
    expect(q.weight.length).toBe((rows * cols) / 4);
    expect(q.positions!.length).toBe((rows * cols) / 8);
    for (const b of q.positions!) expect(isLegalPositionCode(b & 15) && isLegalPositionCode(b >> 4)).toBe(true);
    const Wq = decode(q);
    for (let g = 0; g < Wq.length / 4; g++) {
      const kept = [0, 1, 2, 3].filter((i) => Wq[4 * g + i] !== 0);
      expect(kept.length).toBeLessThanOrEqual(2);
      const top2 = [0, 1, 2, 3].sort((a, b) => Math.abs(W[4 * g + b]) - Math.abs(W[4 * g + a])).slice(0, 2);
      for (const i of kept) expect(top2).toContain(i);
    }
    expect(q.relError).toBeCloseTo(relErr(Wq, W), 12);
  });

  it('computes block scales over the kept values only', () => {
    // Wanda with ‖x_0‖ = 0 prunes column 0, the largest weight of row 0's first block
    const row = new Float64Array(16);
    row.set([100, 1, 0.5, 0.25, 2, 0.1, 0, 0]);
    const norms = Float64Array.from({ length: 16 }, (_, j) => (j === 0 ? 0 : 1));
    const q = quantizeLinear(source(row, 1, 16), { format: 'nvfp4-s24', score: 'wanda', inputNorms: norms });
    expect(q.scale2).toBe(Math.fround(2 / 2688)); // amax over kept values: 2, not 100
    expect(decode(q)[0]).toBe(0);
    expect(q.relOutputError).not.toBeNull();
  });

  it('Wanda lowers the activation-weighted output error against magnitude', () => {
    const norms = Float64Array.from({ length: cols }, (_, j) => (j % 8 === 0 ? 8 : 1));
    const mag = quantizeLinear(source(W, rows, cols), { format: 'nvfp4-s24', score: 'magnitude', inputNorms: norms });
    const wanda = quantizeLinear(source(W, rows, cols), { format: 'nvfp4-s24', score: 'wanda', inputNorms: norms });
    expect(wanda.relOutputError!).toBeLessThan(mag.relOutputError!);
    expect(wanda.relError).toBeGreaterThan(mag.relError); // it pays in plain weight error
  });
});

describe('stored parts', () => {
  it('lists the ModelOpt tensors (and weight_pos for s24) with their shapes', () => {
    expect(quantizedDecls('x.weight', 8, 32, 'nvfp4')).toEqual([
      { name: 'x.weight', dtype: 'u8', shape: [8, 16], part: 'weight' },
      { name: 'x.weight_scale', dtype: 'f8_e4m3', shape: [8, 2], part: 'scale' },
      { name: 'x.weight_scale_2', dtype: 'f32', shape: [], part: 'scale2' },
    ]);
    expect(quantizedDecls('x.weight', 8, 32, 'nvfp4-s24').map((d) => [d.name, d.shape])).toEqual([
      ['x.weight', [8, 8]],
      ['x.weight_scale', [8, 2]],
      ['x.weight_scale_2', []],
      ['x.weight_pos', [8, 4]],
    ]);
    const q = quantizeLinear(source(Float64Array.from({ length: 32 }, (_, i) => i), 1, 32), { format: 'nvfp4' });
    expect(new Float32Array(quantizedPartBytes(q, 'scale2').buffer)[0]).toBe(q.scale2);
    expect(quantizedPartBytes(q, 'weight')).toBe(q.weight);
  });
});
