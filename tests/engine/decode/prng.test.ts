import { describe, expect, it } from 'vitest';
import { Prng } from '../../../engine/decode/prng.js';

describe('Prng (xoshiro128**)', () => {
  it('matches the algorithm by hand from state [1, 2, 3, 4]', () => {
    // 1: rotl(2·5, 7)·9 = 1280·9. State → [7, 0, 1026, 12288].
    // 2: rotl(0, 7)·9 = 0.         State → [12295, 1029, 1029, 25165824].
    // 3: rotl(1029·5, 7)·9 = 658560·9.
    const rng = Prng.fromState([1, 2, 3, 4]);
    expect([rng.nextU32(), rng.nextU32(), rng.nextU32()]).toEqual([11520, 0, 5927040]);
  });

  it('refuses the all-zero state', () => {
    expect(() => Prng.fromState([0, 0, 0, 0])).toThrow(RangeError);
  });

  it('gives the same stream for the same seed and label, another for another label or seed', () => {
    const draw = (seed: number, label: string) => {
      const r = new Prng(seed, label);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    expect(draw(1, 'a')).toEqual(draw(1, 'a'));
    expect(draw(1, 'a')).not.toEqual(draw(1, 'b'));
    expect(draw(1, 'a')).not.toEqual(draw(2, 'a'));
  });

  it('draws uniform floats inside [lo, hi) with the right mean and variance', () => {
    const rng = new Prng(42, 'uniform');
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform(-2, 6);
      min = Math.min(min, u);
      max = Math.max(max, u);
      sum += u;
      sq += u * u;
    }
    expect(min).toBeGreaterThanOrEqual(-2);
    expect(max).toBeLessThan(6);
    const mean = sum / n;
    // U[-2, 6): mean 2, variance 64/12; 5σ bounds on the sample mean.
    expect(Math.abs(mean - 2)).toBeLessThan(5 * Math.sqrt(64 / 12 / n));
    expect(sq / n - mean * mean).toBeCloseTo(64 / 12, 1);
  });

  it('uses 24-bit granularity: every draw in [0, 1) is a multiple of 2^-24', () => {
    const rng = new Prng(5);
    for (let i = 0; i < 1000; i++) expect(Number.isInteger(rng.uniform() * 2 ** 24)).toBe(true);
  });
});
