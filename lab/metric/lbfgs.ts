// The UCI comparison (docs/metric-learning.md): the optimiser of the gradient-NCA baseline (as
// scikit-learn's NCA uses L-BFGS). Limited-memory BFGS (Nocedal & Wright, Alg. 7.4 two-loop
// recursion) with a backtracking Armijo line search, f(x + αp) ≤ f(x) + c₁·α·∇fᵀp, c₁ = 1e-4, α
// halved.

/** f(x) and ∇f(x) at x. */
export type Objective = (x: Float64Array) => { value: number; grad: Float64Array };

export interface LbfgsOptions {
  readonly maxIter?: number; // default 100
  readonly memory?: number; // correction pairs kept (default 10)
  readonly gradTol?: number; // stop when max |∇f| ≤ gradTol (default 1e-5)
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
}

const C1 = 1e-4;
const MAX_HALVINGS = 40;

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

/**
 * Minimise `f` from `x0`.
 * @example
 * lbfgs((x) => ({ value: x[0] ** 2, grad: Float64Array.of(2 * x[0]) }), Float64Array.of(3)).x; // ≈ [0]
 */
export function lbfgs(f: Objective, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const maxIter = options.maxIter ?? 100;
  const memory = options.memory ?? 10;
  const gradTol = options.gradTol ?? 1e-5;
  let x = Float64Array.from(x0);
  let { value, grad } = f(x);
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  let it = 0;
  for (; it < maxIter; it++) {
    if (grad.reduce((m, g) => Math.max(m, Math.abs(g)), 0) <= gradTol) break;
    // 1. p = −H∇f by the two-loop recursion
    const q = Float64Array.from(grad);
    const alphas: number[] = [];
    for (let k = ss.length - 1; k >= 0; k--) {
      const a = dot(ss[k], q) / dot(ys[k], ss[k]);
      alphas[k] = a;
      for (let i = 0; i < q.length; i++) q[i] -= a * ys[k][i];
    }
    const last = ss.length - 1;
    const gamma = last >= 0 ? dot(ss[last], ys[last]) / dot(ys[last], ys[last]) : 1 / Math.sqrt(dot(grad, grad));
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
    for (let k = 0; k < ss.length; k++) {
      const b = dot(ys[k], q) / dot(ys[k], ss[k]);
      for (let i = 0; i < q.length; i++) q[i] += ss[k][i] * (alphas[k] - b);
    }
    const p = q.map((v) => -v);
    let slope = dot(grad, p);
    if (!(slope < 0)) {
      // not a descent direction: forget the curvature pairs and take steepest descent
      ss.length = 0;
      ys.length = 0;
      p.set(grad.map((g) => -g / Math.sqrt(dot(grad, grad))));
      slope = dot(grad, p);
    }
    // 2. backtracking line search
    let alpha = 1;
    let next = x.map((v, i) => v + alpha * p[i]);
    let trial = f(next);
    for (let h = 0; h < MAX_HALVINGS && !(trial.value <= value + C1 * alpha * slope); h++) {
      alpha /= 2;
      next = x.map((v, i) => v + alpha * p[i]);
      trial = f(next);
    }
    if (!(trial.value <= value + C1 * alpha * slope)) break; // no decrease found
    // 3. keep the correction pair (s, y) when it has positive curvature
    const s = next.map((v, i) => v - x[i]);
    const yv = trial.grad.map((g, i) => g - grad[i]);
    if (dot(s, yv) > 1e-12) {
      ss.push(s);
      ys.push(yv);
      if (ss.length > memory) {
        ss.shift();
        ys.shift();
      }
    }
    x = next;
    value = trial.value;
    grad = trial.grad;
  }
  return { x, value, iterations: it };
}
