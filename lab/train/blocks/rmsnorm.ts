// spec §5: RMSNorm's training pass, in f32. Per row of x (R, d):
//   r = 1 / sqrt(mean_j x_j² + ε),   y_i = w_i · x_i · r
// backward, with g_i = w_i · ∂L/∂y_i:
//   ∂L/∂x_i = r · g_i − r³ · x_i · (Σ_j g_j x_j) / d,    ∂L/∂w_i += Σ_rows ∂L/∂y_i · x_i · r

/** What the forward saved: the input and each row's r (R). */
export interface RmsnormCache {
  readonly x: Float32Array; // (R, d)
  readonly rstd: Float32Array; // (R)
}

/**
 * y = RMSNorm(x) with weight w (d): (R, d) → (R, d).
 * @example const { y, cache } = rmsnormForward(x, w, 1e-5);
 */
export function rmsnormForward(x: Float32Array, w: Float32Array, eps: number): { y: Float32Array; cache: RmsnormCache } {
  const d = w.length;
  const R = x.length / d;
  const y = new Float32Array(x.length);
  const rstd = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    const off = r * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[off + i] * x[off + i];
    const inv = 1 / Math.sqrt(ss / d + eps);
    rstd[r] = inv;
    for (let i = 0; i < d; i++) y[off + i] = w[i] * x[off + i] * inv;
  }
  return { y, cache: { x, rstd } };
}

/**
 * ∂L/∂x from ∂L/∂y (R, d); adds ∂L/∂w into dw (d).
 * @example const dx = rmsnormBackward(w, dw, cache, dy);
 */
export function rmsnormBackward(w: Float32Array, dw: Float32Array, cache: RmsnormCache, dy: Float32Array): Float32Array {
  const { x, rstd } = cache;
  const d = w.length;
  const dx = new Float32Array(x.length);
  for (let r = 0; r < rstd.length; r++) {
    const off = r * d;
    const inv = rstd[r];
    let dot = 0; // Σ_j w_j dy_j x_j
    for (let i = 0; i < d; i++) {
      const g = w[i] * dy[off + i];
      dot += g * x[off + i];
      dw[i] += dy[off + i] * x[off + i] * inv;
    }
    const c = (inv * inv * inv * dot) / d;
    for (let i = 0; i < d; i++) dx[off + i] = inv * w[i] * dy[off + i] - c * x[off + i];
  }
  return dx;
}
