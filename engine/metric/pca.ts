// Monte Carlo metric learning (docs/metric-learning.md): the starting map when r < d (as NCA's
// usual "pca" init): the top-r principal directions of the centred rows, by orthogonal (subspace)
// iteration
//   W ← Cᵀ V = Xcᵀ (Xc V) / n,  V ← Gram–Schmidt(W),
// which never forms the (d, d) covariance: each iteration costs O(n·d·r).

import { Prng } from '../decode/prng.js';
import { identity } from './distances.js';

const ITERATIONS = 100;

/**
 * An (r, d) map whose rows are orthonormal top-r principal directions of X (n, d).
 * @example
 * const l = pcaMap(x, n, 768, 16); // project 768-wide embeddings onto 16 directions
 */
export function pcaMap(x: Float64Array, n: number, d: number, r: number, seed = 0): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let b = 0; b < d; b++) mean[b] += x[i * d + b] / n;
  const rng = new Prng(seed, 'pca');
  let v: Float64Array = Float64Array.from({ length: r * d }, () => rng.uniform(-1, 1)); // (r, d)
  orthonormalRows(v, r, d);
  const proj = new Float64Array(n * r); // (n, r) = Xc Vᵀ
  for (let it = 0; it < ITERATIONS; it++) {
    proj.fill(0);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < r; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += (x[i * d + b] - mean[b]) * v[a * d + b];
        proj[i * r + a] = s;
      }
    }
    const w = new Float64Array(r * d); // (r, d) = (Xcᵀ proj)ᵀ
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < r; a++) {
        const p = proj[i * r + a];
        for (let b = 0; b < d; b++) w[a * d + b] += p * (x[i * d + b] - mean[b]);
      }
    }
    orthonormalRows(w, r, d);
    v = w;
  }
  return v;
}

/**
 * The starting map of a fit: the identity when r = d, else the top-r PCA map.
 * @example
 * const l0 = startingMap(x, n, d, r);
 */
export function startingMap(x: Float64Array, n: number, d: number, r: number): Float64Array {
  return r === d ? identity(d) : pcaMap(x, n, d, r);
}

/** Modified Gram–Schmidt on the rows of M (r, d), in place; a row the data cannot fill (r > rank) becomes zero. */
function orthonormalRows(m: Float64Array, r: number, d: number): void {
  for (let a = 0; a < r; a++) {
    const row = m.subarray(a * d, a * d + d);
    for (let p = 0; p < a; p++) {
      const prev = m.subarray(p * d, p * d + d);
      let dot = 0;
      for (let b = 0; b < d; b++) dot += row[b] * prev[b];
      for (let b = 0; b < d; b++) row[b] -= dot * prev[b];
    }
    let norm = 0;
    for (let b = 0; b < d; b++) norm += row[b] * row[b];
    norm = Math.sqrt(norm);
    if (norm > 1e-12) for (let b = 0; b < d; b++) row[b] /= norm;
    else row.fill(0);
  }
}
