// docs/metric-learning.md: a k-NN classifier under a learned metric. Fit: z-score the raw rows,
// anneal L (monte-carlo.ts), keep the training rows mapped once, Z = ((X − μ)/σ) Lᵀ (n, r).
// Classify a row q: z_q = L((q − μ)/σ); its k nearest training rows vote (knn.ts); the score
// of a label is the NCA probability of that label, Σ_{j: y_j = c} e^{−D_qj} / Σ_j e^{−D_qj}.

import { nearest, rowDistances, vote } from './knn.js';
import { applyMetric, type LinearMetric } from './linear-metric.js';
import { fitMonteCarlo, type MonteCarloFit, type MonteCarloOptions } from './monte-carlo.js';
import { applyZScore, fitZScore } from './zscore.js';

/**
 * Standardise raw rows X (n, d) with their own statistics and anneal a metric on them.
 * @example
 * const { metric } = fitLinearMetric(x, n, d, y, { sweeps: 60, seed: 0 });
 */
export function fitLinearMetric(x: Float64Array, n: number, d: number, y: Int32Array, options: MonteCarloOptions = {}): { metric: LinearMetric; fit: MonteCarloFit } {
  const stats = fitZScore(x, n, d);
  const fit = fitMonteCarlo(applyZScore(x, n, stats), y, d, options);
  return { metric: { energy: options.energy ?? 'nca', d, r: fit.r, stats, l: fit.l }, fit };
}

/** One prediction: the label, its NCA probability, and the k nearest training rows. */
export interface Prediction {
  readonly label: number;
  readonly score: number;
  readonly neighbours: readonly { readonly index: number; readonly distance: number }[];
}

/**
 * Classify raw rows Q (m, d) against the training rows `train` (n, r, already mapped).
 * @example
 * const trainZ = applyMetric(metric, x, n);
 * const [p] = classifyRows(metric, trainZ, trainY, query, 1, 3); // p.label, p.score
 */
export function classifyRows(metric: LinearMetric, train: Float64Array, trainY: Int32Array, query: Float64Array, m: number, k: number): Prediction[] {
  const z = applyMetric(metric, query, m);
  const n = trainY.length;
  const dist = new Float64Array(n);
  const out: Prediction[] = [];
  for (let i = 0; i < m; i++) {
    rowDistances(z, i, train, n, metric.r, dist);
    const order = nearest(dist, k);
    const label = vote(order, trainY);
    const shift = dist[order[0]];
    let all = 0;
    let same = 0;
    for (let j = 0; j < n; j++) {
      const w = Math.exp(shift - dist[j]);
      all += w;
      if (trainY[j] === label) same += w;
    }
    out.push({ label, score: same / all, neighbours: [...order].map((index) => ({ index, distance: dist[index] })) });
  }
  return out;
}
