import { describe, expect, it } from 'vitest';
import { Prng } from '../../../engine/decode/prng.js';
import { MetricDistances, identity, pairwiseSquared, project } from '../../../engine/metric/distances.js';

function randomRows(n: number, d: number, seed: number): Float64Array {
  const rng = new Prng(seed, 'rows');
  return Float64Array.from({ length: n * d }, () => rng.uniform(-2, 2));
}

describe('project / pairwiseSquared', () => {
  it('computes Z = X Lᵀ and squared distances by hand', () => {
    const x = Float64Array.of(1, 2, 3, 4); // (2, 2)
    const l = Float64Array.of(1, 1, 0, 2, 1, -1); // (3, 2)
    expect([...project(x, 2, 2, l, 3)]).toEqual([3, 4, -1, 7, 8, -1]);
    expect([...pairwiseSquared(Float64Array.of(0, 0, 3, 4), 2, 2)]).toEqual([0, 25, 25, 0]);
    expect([...identity(3, 2)]).toEqual([1, 0, 0, 0, 1, 0]);
  });
});

describe('MetricDistances', () => {
  const n = 12;
  const d = 5;
  const r = 3;
  const x = randomRows(n, d, 1);
  const l0 = randomRows(r, d, 2);

  it('a trial equals the distances recomputed from scratch, and leaves the state alone', () => {
    const s = new MetricDistances(x, n, d, l0, r);
    const before = Float64Array.from(s.dist);
    const trial = Float64Array.from(s.trial(2, 4, 0.37));
    const l1 = Float64Array.from(l0);
    l1[2 * d + 4] += 0.37;
    const full = pairwiseSquared(project(x, n, d, l1, r), n, r);
    for (let i = 0; i < n * n; i++) expect(Math.abs(trial[i] - full[i])).toBeLessThan(1e-12);
    expect(s.dist).toEqual(before);
    expect(s.l).toEqual(l0);
  });

  it('after 2000 committed moves Z and D still match L to 1e-9', () => {
    const s = new MetricDistances(x, n, d, l0, r);
    const rng = new Prng(3, 'moves');
    for (let k = 0; k < 2000; k++) {
      s.trial(rng.nextU32() % r, rng.nextU32() % d, rng.uniform(-0.5, 0.5));
      s.commit();
    }
    const z = project(x, n, d, s.l, r);
    const full = pairwiseSquared(z, n, r);
    for (let i = 0; i < n * r; i++) expect(Math.abs(s.z[i] - z[i])).toBeLessThan(1e-9);
    for (let i = 0; i < n * n; i++) expect(Math.abs(s.dist[i] - full[i])).toBeLessThan(1e-9 * Math.max(1, full[i]));
  });
});
