// The UCI comparison (docs/metric-learning.md): features are z-scored with training statistics,
// x'_j = (x_j − μ_j) / σ_j, μ and σ (population standard deviation) from the training rows only; a
// constant feature (σ = 0) is centred and left unscaled (σ taken as 1), as scikit-learn's
// StandardScaler does.

/** Per-feature statistics of a training set. */
export interface ZScore {
  readonly mean: Float64Array; // (d)
  readonly std: Float64Array; // (d), never 0
}

/**
 * Mean and standard deviation of each column of X (n, d).
 * @example
 * const stats = fitZScore(train.x, train.n, train.d);
 */
export function fitZScore(x: Float64Array, n: number, d: number): ZScore {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const c = x[i * d + j] - mean[j];
      std[j] += c * c;
    }
  }
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j] / n) || 1;
  return { mean, std };
}

/**
 * (x − μ) / σ for every row of X (n, d); a new array.
 * @example
 * const z = applyZScore(test.x, test.n, stats);
 */
export function applyZScore(x: Float64Array, n: number, stats: ZScore): Float64Array {
  const d = stats.mean.length;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (x[i * d + j] - stats.mean[j]) / stats.std[j];
  return out;
}
