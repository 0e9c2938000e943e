import { describe, expect, it } from 'vitest';
import { RefAct } from '../../../engine/reference/act.js';
import { gatedGroupRmsnorm, groupRmsnorm, rmsnorm } from '../../../engine/reference/norm.js';

const act = (rows: number, cols: number, values: number[]) => new RefAct(Float64Array.from(values), rows, cols);

describe('rmsnorm (spec §5)', () => {
  it('normalises each row by its own RMS and multiplies by w (no +1)', () => {
    // row 0: [3, 4] → mean square 12.5;  row 1: [1, 1] → 1
    const y = rmsnorm(act(2, 2, [3, 4, 1, 1]), Float64Array.from([2, 0.5]), 1e-5);
    const r0 = 1 / Math.sqrt(12.5 + 1e-5);
    const r1 = 1 / Math.sqrt(1 + 1e-5);
    expect([...y.data]).toEqual([2 * 3 * r0, 0.5 * 4 * r0, 2 * 1 * r1, 0.5 * 1 * r1]);
  });

  it('keeps ε inside the square root (a zero row stays finite)', () => {
    const y = rmsnorm(act(1, 2, [0, 1e-3]), Float64Array.from([1, 1]), 1e-5);
    // mean square 5e-7, + 1e-5 = 1.05e-5
    expect(y.data[1]).toBeCloseTo(1e-3 / Math.sqrt(1.05e-5), 14);
    expect(y.data[0]).toBe(0);
  });
});

describe('gated group RMSNorm (spec §6.7)', () => {
  it('gates with SiLU(z) first, then normalises each contiguous group', () => {
    // one row of 4 channels in 2 groups; z = ln 3 gives SiLU = 0.75·ln 3, z = 0 gives 0
    const L = Math.log(3);
    const y = act(1, 4, [1, 2, 3, 4]);
    const z = act(1, 4, [L, L, 0, L]);
    const w = Float64Array.from([1, 2, 3, 4]);
    const out = gatedGroupRmsnorm(y, z, w, 2, 1e-5);
    const g = 0.75 * L; // SiLU(ln 3)
    const a = [1 * g, 2 * g]; // group 0 gated
    const b = [0, 4 * g]; // group 1 gated
    const r0 = Math.sqrt((a[0] ** 2 + a[1] ** 2) / 2 + 1e-5);
    const r1 = Math.sqrt((b[0] ** 2 + b[1] ** 2) / 2 + 1e-5);
    const want = [(1 * a[0]) / r0, (2 * a[1]) / r0, 0, (4 * b[1]) / r1];
    out.data.forEach((v, i) => expect(v).toBeCloseTo(want[i], 13));
  });

  it('with one group per row equals the plain RMSNorm', () => {
    const x = act(2, 3, [1, -2, 3, 0.5, 0.25, -4]);
    const w = Float64Array.from([1, 2, 3]);
    expect([...groupRmsnorm(x, w, 1, 1e-5).data]).toEqual([...rmsnorm(x, w, 1e-5).data]);
  });

  it('groups are independent: scaling one group leaves the other unchanged', () => {
    const w = Float64Array.from([1, 1, 1, 1]);
    const a = groupRmsnorm(act(1, 4, [1, 2, 3, 4]), w, 2, 1e-5);
    const b = groupRmsnorm(act(1, 4, [1, 2, 300, 400]), w, 2, 1e-5);
    expect(b.data[0]).toBe(a.data[0]);
    expect(b.data[1]).toBe(a.data[1]);
    expect(b.data[2]).not.toBe(a.data[2]);
  });
});
