// Monte Carlo metric learning (docs/metric-learning.md): the distances of a linear metric and their
// O(n²) single-entry update.
//   Z = X Lᵀ (n, r);  D_ij = ||z_i − z_j||² (n, n).
// A move L[a,b] += δ changes only column a of Z: z'_ia = z_ia + δ·x_ib, so with
// e = z_ia − z_ja and c = x_ib − x_jb,  D'_ij = D_ij − e² + (e + δc)² = D_ij + δc·(2e + δc).
// That is O(n²) per move instead of O(n²·r). Rounding: each update adds a few ulps of D_ij;
// `resync` recomputes D from scratch (O(n²·r)) to drop the drift.

/**
 * Z = X Lᵀ: each row of X (n, d) mapped by L (r, d).
 * @example
 * const z = project(x, n, d, identity(d), d); // a copy of x
 */
export function project(x: Float64Array, n: number, d: number, l: Float64Array, r: number): Float64Array {
  const z = new Float64Array(n * r);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < r; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += l[a * d + b] * x[i * d + b];
      z[i * r + a] = s;
    }
  }
  return z;
}

/**
 * All squared distances between the rows of Z (n, r): D (n, n), symmetric, zero diagonal.
 * @example
 * const dist = pairwiseSquared(z, n, r);
 */
export function pairwiseSquared(z: Float64Array, n: number, r: number, out: Float64Array = new Float64Array(n * n)): Float64Array {
  for (let i = 0; i < n; i++) {
    out[i * n + i] = 0;
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let a = 0; a < r; a++) {
        const e = z[i * r + a] - z[j * r + a];
        s += e * e;
      }
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/**
 * The (r, d) identity-like map: ones on the diagonal, zeros elsewhere.
 * @example
 * identity(2, 3); // [1,0,0, 0,1,0]
 */
export function identity(d: number, r = d): Float64Array {
  const l = new Float64Array(r * d);
  for (let a = 0; a < Math.min(r, d); a++) l[a * d + a] = 1;
  return l;
}

/**
 * The metric state of one fit: X (n, d) fixed, L (r, d), Z (n, r) and D (n, n) kept in step.
 * `trial` computes the distances after a single-entry move into a scratch matrix without
 * changing the state; `commit` makes that trial the state.
 * @example
 * const s = new MetricDistances(x, n, d, identity(d), d);
 * const dTrial = s.trial(0, 1, 0.1); // D after L[0,1] += 0.1
 * s.commit();
 */
export class MetricDistances {
  readonly l: Float64Array; // (r, d)
  z: Float64Array; // (n, r)
  dist: Float64Array; // (n, n)
  private scratch: Float64Array; // (n, n): the trial distances
  private pending: { a: number; b: number; delta: number } | null = null;

  constructor(
    readonly x: Float64Array,
    readonly n: number,
    readonly d: number,
    l: Float64Array,
    readonly r: number,
  ) {
    this.l = Float64Array.from(l);
    this.z = project(x, n, d, this.l, r);
    this.dist = pairwiseSquared(this.z, n, r);
    this.scratch = new Float64Array(n * n);
  }

  /** D after L[a,b] += delta, into a scratch (n, n) that stays valid until the next trial. */
  trial(a: number, b: number, delta: number): Float64Array {
    const { n, d, r, x, z, dist, scratch } = this;
    for (let i = 0; i < n; i++) {
      const zi = z[i * r + a];
      const xi = x[i * d + b];
      scratch[i * n + i] = 0;
      for (let j = i + 1; j < n; j++) {
        const dc = delta * (xi - x[j * d + b]);
        const v = dist[i * n + j] + dc * (2 * (zi - z[j * r + a]) + dc);
        scratch[i * n + j] = v;
        scratch[j * n + i] = v;
      }
    }
    this.pending = { a, b, delta };
    return scratch;
  }

  /** Make the last trial the state: L, column a of Z, and D. */
  commit(): void {
    if (!this.pending) return;
    const { a, b, delta } = this.pending;
    const { n, d, r, x, z } = this;
    this.l[a * d + b] += delta;
    for (let i = 0; i < n; i++) z[i * r + a] += delta * x[i * d + b];
    [this.dist, this.scratch] = [this.scratch, this.dist];
    this.pending = null;
  }

  /** Replace L and recompute Z and D from scratch. */
  reset(l: Float64Array): void {
    this.l.set(l);
    this.resync();
  }

  /** Recompute Z and D from L (drops the rounding drift of many commits). */
  resync(): void {
    this.z = project(this.x, this.n, this.d, this.l, this.r);
    pairwiseSquared(this.z, this.n, this.r, this.dist);
    this.pending = null;
  }
}
