import { describe, expect, it } from 'vitest';
import { applyZScore, fitZScore } from '../../../engine/metric/zscore.js';

describe('zscore', () => {
  it('uses the training mean and population std; a constant column is only centred', () => {
    // columns: (1, 3) → μ 2, σ 1; (5, 5) → μ 5, σ 0 → 1
    const stats = fitZScore(Float64Array.of(1, 5, 3, 5), 2, 2);
    expect([...stats.mean]).toEqual([2, 5]);
    expect([...stats.std]).toEqual([1, 1]);
    expect([...applyZScore(Float64Array.of(4, 7), 1, stats)]).toEqual([2, 2]);
  });

  it('maps the training rows to mean 0, std 1', () => {
    const x = Float64Array.of(2, 10, 4, 20, 9, 60);
    const z = applyZScore(x, 3, fitZScore(x, 3, 2));
    for (const col of [0, 1]) {
      const c = [z[col], z[2 + col], z[4 + col]];
      expect(c.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
      expect(c.reduce((a, b) => a + b * b, 0) / 3).toBeCloseTo(1, 12);
    }
  });
});
