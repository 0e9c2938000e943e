// The UCI comparison (docs/metric-learning.md): the gradient NCA baseline (Goldberger et al. 2004),
// minimised by L-BFGS from the identity (or a given map), as scikit-learn's
// NeighborhoodComponentsAnalysis.
//   E(L) = −(1/n) Σ_i p_i  (engine/metric/energies.ts),  x_ij = x_i − x_j,  z = L x,
//   ∂E/∂L = −(2/n) Σ_i Σ_j W_ij z_ij x_ijᵀ,  W_ij = p_i p_ij − [y_j = y_i] p_ij
//         = −(2/n) Zᵀ (diag(S·1) − S) X,   S = W + Wᵀ.
// Cost per evaluation O(n²·(r + d)).

import { pairwiseSquared, project } from '../../engine/metric/distances.js';
import { ncaProbabilities } from '../../engine/metric/energies.js';
import { startingMap } from '../../engine/metric/pca.js';
import { lbfgs } from './lbfgs.js';

/**
 * E(L) and ∂E/∂L (r, d) of NCA on z-scored rows X (n, d) with labels y.
 * @example
 * const { value, grad } = ncaObjective(x, y, d, l, r);
 */
export function ncaObjective(x: Float64Array, y: Int32Array, d: number, l: Float64Array, r: number): { value: number; grad: Float64Array } {
  const n = y.length;
  const z = project(x, n, d, l, r);
  const pij = new Float64Array(n * n);
  const pi = new Float64Array(n);
  ncaProbabilities(pairwiseSquared(z, n, r), y, pij, pi);
  const value = -pi.reduce((a, b) => a + b, 0) / n;
  // A = diag(S·1) − S with S = W + Wᵀ  (n, n)
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i * n + j] = pi[i] * pij[i * n + j] - (y[i] === y[j] ? pij[i * n + j] : 0);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    for (let j = 0; j < n; j++) {
      const s = w[i * n + j] + w[j * n + i];
      a[i * n + j] = -s;
      rowSum += s;
    }
    a[i * n + i] += rowSum;
  }
  // G = −(2/n) Zᵀ (A X)   (r, d)
  const ax = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const c = a[i * n + j];
      if (c === 0) continue;
      for (let b = 0; b < d; b++) ax[i * d + b] += c * x[j * d + b];
    }
  }
  const grad = new Float64Array(r * d);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < r; p++) {
      const zp = (-2 / n) * z[i * r + p];
      for (let b = 0; b < d; b++) grad[p * d + b] += zp * ax[i * d + b];
    }
  }
  return { value, grad };
}

/**
 * Fit L (r, d) by L-BFGS on the NCA energy (default: identity start, or PCA when r < d; 100 iterations).
 * @example
 * const { l, energy } = fitGradientNca(trainZ, train.y, train.d);
 */
export function fitGradientNca(
  x: Float64Array,
  y: Int32Array,
  d: number,
  options: { readonly init?: Float64Array; readonly dim?: number; readonly maxIter?: number } = {},
): { l: Float64Array; r: number; energy: number; iterations: number } {
  const r = options.dim ?? d;
  const init = options.init ?? startingMap(x, y.length, d, r);
  const result = lbfgs((l) => ncaObjective(x, y, d, l, r), init, { maxIter: options.maxIter ?? 100 });
  return { l: result.x, r, energy: result.value, iterations: result.iterations };
}
