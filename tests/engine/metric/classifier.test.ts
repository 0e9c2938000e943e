import { describe, expect, it } from 'vitest';
import { classifyRows, fitLinearMetric } from '../../../engine/metric/classifier.js';
import { applyMetric, type LinearMetric } from '../../../engine/metric/linear-metric.js';

describe('classifyRows', () => {
  // 1-D: μ = 0, σ = 1, L = [1]; training rows 0, 1 (label 0) and 3 (label 1)
  const metric: LinearMetric = { energy: 'nca', d: 1, r: 1, stats: { mean: Float64Array.of(0), std: Float64Array.of(1) }, l: Float64Array.of(1) };
  const trainY = Int32Array.of(0, 0, 1);
  const trainZ = applyMetric(metric, Float64Array.of(0, 1, 3), 3);

  it('votes with the k nearest and scores the label by its NCA probability (worked by hand)', () => {
    // q = 1.5: squared distances 2.25, 0.25, 2.25 → nearest 1, 0, 2 (ties by index)
    const [p] = classifyRows(metric, trainZ, trainY, Float64Array.of(1.5), 1, 2);
    expect(p.label).toBe(0);
    expect(p.neighbours).toEqual([{ index: 1, distance: 0.25 }, { index: 0, distance: 2.25 }]);
    const e = (v: number) => Math.exp(-v);
    expect(p.score).toBeCloseTo((e(2.25) + e(0.25)) / (2 * e(2.25) + e(0.25)), 14);
  });
});

describe('fitLinearMetric', () => {
  it('stores the training statistics and an annealed L that separates the labels at least as well', () => {
    // label 1 rows differ only in feature 0; feature 1 is noise of a larger scale
    const x = Float64Array.of(0, 5, 0, -4, 0, 3, 1, -5, 1, 4, 1, -3);
    const y = Int32Array.of(0, 0, 0, 1, 1, 1);
    const { metric, fit } = fitLinearMetric(x, 6, 2, y, { sweeps: 20, seed: 1 });
    expect([...metric.stats.mean]).toEqual([0.5, 0]);
    expect(fit.run.bestEnergy).toBeLessThan(fit.run.initialEnergy);
    const z = applyMetric(metric, x, 6);
    const predicted = classifyRows(metric, z, y, Float64Array.of(0, 4.5, 1, 4.5), 2, 3).map((p) => p.label);
    expect(predicted).toEqual([0, 1]);
  });
});
