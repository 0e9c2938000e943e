import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UCI } from '../../helpers/fixtures.js';
import { anneal } from '../../../engine/metric/anneal.js';
import { parseUciCsv, stratifiedSplit, subset } from '../../../lab/metric/dataset.js';
import { identity, pairwiseSquared, project } from '../../../engine/metric/distances.js';
import { looKnnEnergy, ncaEnergy, type DistanceEnergy } from '../../../engine/metric/energies.js';
import { MetricSearch, fitMonteCarlo } from '../../../engine/metric/monte-carlo.js';
import { applyZScore, fitZScore } from '../../../engine/metric/zscore.js';
import { Prng } from '../../../engine/decode/prng.js';

const iris = parseUciCsv(readFileSync(`${UCI}iris.csv`, 'utf8'), 'iris.csv');
const { train, test } = stratifiedSplit(iris.y, 0.3, 0);
const tr = subset(iris, train);
const te = subset(iris, test);
const stats = fitZScore(tr.x, tr.n, tr.d);
const xTrain = applyZScore(tr.x, tr.n, stats);
const xTest = applyZScore(te.x, te.n, stats);
const d = tr.d;

/** The energy of L computed from scratch: project, all distances, energy. */
const fullEnergy = (energy: DistanceEnergy, l: Float64Array, r: number) => energy(pairwiseSquared(project(xTrain, tr.n, d, l, r), tr.n, r), tr.y);

describe('MetricSearch', () => {
  it.each([
    ['nca', ncaEnergy],
    ['loo-knn (k = 3)', looKnnEnergy(3)],
  ] as const)('incremental ΔE (%s) equals a full recomputation to 1e-9, along a chain of accepted moves', (_, energy) => {
    const r = 3;
    const rng = new Prng(11, 'moves');
    const l0 = Float64Array.from({ length: r * d }, () => rng.uniform(-1, 1));
    const search = new MetricSearch(xTrain, tr.y, d, l0, r, energy);
    for (let k = 0; k < 300; k++) {
      const move = search.propose(rng, 0.5);
      const before = fullEnergy(energy, search.state.l, r);
      const dE = search.delta(move);
      const l1 = Float64Array.from(search.state.l);
      l1[move.a * d + move.b] += move.delta;
      expect(Math.abs(dE - (fullEnergy(energy, l1, r) - before))).toBeLessThan(1e-9);
      if (k % 2 === 0) search.accept();
    }
    expect(Math.abs(search.energy() - fullEnergy(energy, search.state.l, r))).toBeLessThan(1e-9);
  });
});

describe('fitMonteCarlo', () => {
  const options = { sweeps: 6, seed: 3 };

  it('is deterministic: the same seed gives the same L, another seed another L', () => {
    const a = fitMonteCarlo(xTrain, tr.y, d, options);
    const b = fitMonteCarlo(xTrain, tr.y, d, options);
    expect([...b.l]).toEqual([...a.l]);
    expect([...fitMonteCarlo(xTrain, tr.y, d, { ...options, seed: 4 }).l]).not.toEqual([...a.l]);
  });

  it('at zero temperature an accepted move never raises the (recomputed) energy', () => {
    const search = new MetricSearch(xTrain, tr.y, d, identity(d), d, ncaEnergy);
    const accept = search.accept.bind(search);
    let accepted = 0;
    search.accept = () => {
      const before = fullEnergy(ncaEnergy, search.state.l, d);
      accept();
      expect(fullEnergy(ncaEnergy, search.state.l, d)).toBeLessThanOrEqual(before + 1e-12);
      accepted++;
    };
    anneal(search, { sweeps: 3, movesPerSweep: d * d, step: 0.3, t0: 0, seed: 1 });
    expect(accepted).toBeGreaterThan(10);
  });

  it('returns the best L seen; its energy is the recomputed energy of that L', () => {
    const fit = fitMonteCarlo(xTrain, tr.y, d, options);
    expect(fit.run.bestEnergy).toBeLessThan(fit.run.initialEnergy);
    expect(Math.abs(fit.run.bestEnergy - fullEnergy(ncaEnergy, fit.l, d))).toBeLessThan(1e-9);
    expect(fit.run.proposals).toBe(6 * d * d);
  });

  it('a reduced map (r < d) starts from PCA and keeps its shape', () => {
    const fit = fitMonteCarlo(xTrain, tr.y, d, { ...options, dim: 2 });
    expect(fit.r).toBe(2);
    expect(fit.l.length).toBe(2 * d);
    expect(fit.run.bestEnergy).toBeLessThanOrEqual(fit.run.initialEnergy);
  });
});
