import { describe, expect, it } from 'vitest';
import { pairwiseSquared } from '../../../engine/metric/distances.js';
import { looKnnEnergy, ncaEnergy, ncaProbabilities, ncaSum } from '../../../engine/metric/energies.js';

// three points on a line at 0, 1, 3 with labels 0, 0, 1: D01 = 1, D02 = 9, D12 = 4
const dist = pairwiseSquared(Float64Array.of(0, 1, 3), 3, 1);
const y = Int32Array.of(0, 0, 1);
const p0 = Math.exp(-1) / (Math.exp(-1) + Math.exp(-9));
const p1 = Math.exp(-1) / (Math.exp(-1) + Math.exp(-4));

describe('NCA energy', () => {
  it('equals −(1/n) Σ p_i worked by hand', () => {
    expect(ncaEnergy(dist, y)).toBeCloseTo(-(p0 + p1 + 0) / 3, 15);
  });

  it('stores p_ij (rows sum to 1, zero diagonal) and p_i', () => {
    const pij = new Float64Array(9);
    const pi = new Float64Array(3);
    ncaProbabilities(dist, y, pij, pi);
    expect(pij[0 * 3 + 1]).toBeCloseTo(p0, 15);
    expect(pij[2 * 3 + 1]).toBeCloseTo(Math.exp(-4) / (Math.exp(-4) + Math.exp(-9)), 15);
    for (let i = 0; i < 3; i++) {
      expect(pij[i * 3 + i]).toBe(0);
      expect(pij[i * 3] + pij[i * 3 + 1] + pij[i * 3 + 2]).toBeCloseTo(1, 15);
    }
    expect([...pi].map((v) => +v.toFixed(14))).toEqual([p0, p1, 0].map((v) => +v.toFixed(14)));
  });

  it('a stretched metric (distances far past exp underflow) keeps the nearest neighbours', () => {
    const far = pairwiseSquared(Float64Array.of(0, 1, 3).map((v) => v * 40), 3, 1); // D01 = 1600
    // p_0 = 1/(1 + e^(−1600·8)) = 1 exactly in f64; p_1 = 1/(1 + e^(−1600·3)) = 1
    expect(ncaSum(far, y)).toBe(2);
  });
});

describe('leave-one-out k-NN energy', () => {
  it('counts the points their k nearest others misclassify', () => {
    // 1-NN: 0 → 1 (ok), 1 → 0 (ok), 2 → 1 (wrong) → 1/3
    expect(looKnnEnergy(1)(dist, y)).toBeCloseTo(1 / 3, 15);
    // 2-NN: 0 → {1, 2} tie 0/1 → nearest 1 → 0 ok; 1 → {0, 2} → 0 ok; 2 → {1, 0} → 0 wrong
    expect(looKnnEnergy(2)(dist, y)).toBeCloseTo(1 / 3, 15);
  });
});
