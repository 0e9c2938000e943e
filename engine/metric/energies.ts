// Monte Carlo metric learning (docs/metric-learning.md): energies of a metric, computed from its
// squared distances D (n, n).
//   NCA:      p_ij = exp(−D_ij) / Σ_{k≠i} exp(−D_ik), p_ii = 0;  p_i = Σ_{j: y_j = y_i} p_ij;
//             E = −(1/n) Σ_i p_i  ∈ [−1, 0].
//   LOO k-NN: E = (1/n) · #{i : the k nearest j ≠ i vote a label ≠ y_i}  ∈ [0, 1].
// A row of the NCA softmax whose terms underflow (a stretched metric, large D) is shifted by its
// smallest off-diagonal distance before exp, so it neither becomes 0/0 nor loses its nearest
// neighbours.

import { nearest, vote } from './knn.js';

/** An energy of the labelled points whose squared distances are D (n, n). */
export type DistanceEnergy = (dist: Float64Array, y: Int32Array) => number;

/** Smallest value exp(−D_ij) may take in a row sum before that row is recomputed shifted. */
const ROW_UNDERFLOW = 1e-250;

/**
 * p_i of row i, by the softmax shifted by the row's smallest off-diagonal distance; with `pij`
 * it also stores the row's p_ij.
 */
function shiftedRow(dist: Float64Array, y: Int32Array, i: number, pij?: Float64Array): number {
  const n = y.length;
  const row = i * n;
  let m = Infinity;
  for (let j = 0; j < n; j++) if (j !== i && dist[row + j] < m) m = dist[row + j];
  let all = 0;
  let same = 0;
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    const w = Math.exp(m - dist[row + j]);
    all += w;
    if (y[j] === y[i]) same += w;
    if (pij) pij[row + j] = w;
  }
  if (pij) {
    pij[row + i] = 0;
    for (let j = 0; j < n; j++) pij[row + j] /= all;
  }
  return n > 1 ? same / all : 0;
}

/**
 * Σ_i p_i of NCA. exp(−D_ij) is symmetric, so it is computed once per pair; a row whose
 * terms all fall below 1e-250 (a stretched metric) is recomputed with its shift.
 * @example
 * const sum = ncaSum(dist, y); // E = −sum / n
 */
export function ncaSum(dist: Float64Array, y: Int32Array): number {
  const n = y.length;
  const all = new Float64Array(n);
  const same = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const yi = y[i];
    let ai = 0;
    let si = 0;
    for (let j = i + 1; j < n; j++) {
      const w = Math.exp(-dist[row + j]);
      ai += w;
      all[j] += w;
      if (y[j] === yi) {
        si += w;
        same[j] += w;
      }
    }
    all[i] += ai;
    same[i] += si;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += all[i] > ROW_UNDERFLOW ? same[i] / all[i] : shiftedRow(dist, y, i);
  return total;
}

/**
 * Every p_ij into `pij` (n, n) and every p_i into `pi` (n), for the gradient.
 * @example
 * ncaProbabilities(dist, y, pij, pi);
 */
export function ncaProbabilities(dist: Float64Array, y: Int32Array, pij: Float64Array, pi: Float64Array): void {
  for (let i = 0; i < y.length; i++) pi[i] = shiftedRow(dist, y, i, pij);
}

/**
 * The NCA energy E = −(1/n) Σ_i p_i.
 * @example
 * ncaEnergy(pairwiseSquared(z, n, r), y); // −1 when every point's neighbours share its label
 */
export const ncaEnergy: DistanceEnergy = (dist, y) => -ncaSum(dist, y) / y.length;

/**
 * The leave-one-out k-NN error rate as an energy (piecewise constant in L).
 * @example
 * const energy = looKnnEnergy(3);
 * energy(dist, y); // fraction of points their 3 nearest others misclassify
 */
export function looKnnEnergy(k: number): DistanceEnergy {
  return (dist, y) => {
    const n = y.length;
    const order = new Int32Array(k);
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      const neighbours = nearest(dist.subarray(i * n, i * n + n), k, i, order);
      if (vote(neighbours, y) !== y[i]) wrong++;
    }
    return wrong / n;
  };
}
