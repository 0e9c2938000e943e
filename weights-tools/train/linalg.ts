// Dense f32 products for training (forward y = x·Wᵀ and its two backward products). Row-major.
// Shapes: x (M×K), W (N×K) as stored by HF linear layers ([out, in]).

/** y (M×N) = a (M×K) · bᵀ with b (N×K): a linear layer's forward. */
export function matmulABt(a: Float32Array, b: Float32Array, M: number, K: number, N: number, out = new Float32Array(M * N)): Float32Array {
  for (let m = 0; m < M; m++) {
    const ar = m * K;
    for (let n = 0; n < N; n++) {
      const br = n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ar + k] * b[br + k];
      out[m * N + n] = s;
    }
  }
  return out;
}

/** y (M×N) = a (M×K) · b (K×N): ∂L/∂x = ∂L/∂y · W. */
export function matmulAB(a: Float32Array, b: Float32Array, M: number, K: number, N: number, out = new Float32Array(M * N)): Float32Array {
  out.fill(0, 0, M * N);
  for (let m = 0; m < M; m++) {
    const orow = m * N;
    for (let k = 0; k < K; k++) {
      const av = a[m * K + k];
      if (av === 0) continue;
      const br = k * N;
      for (let n = 0; n < N; n++) out[orow + n] += av * b[br + n];
    }
  }
  return out;
}

/** acc (M×N) += aᵀ · b with a (R×M), b (R×N): ∂L/∂W += ∂L/∂yᵀ · x. */
export function addMatmulAtB(acc: Float32Array, a: Float32Array, b: Float32Array, R: number, M: number, N: number): Float32Array {
  for (let r = 0; r < R; r++) {
    const ar = r * M;
    const br = r * N;
    for (let m = 0; m < M; m++) {
      const av = a[ar + m];
      if (av === 0) continue;
      const orow = m * N;
      for (let n = 0; n < N; n++) acc[orow + n] += av * b[br + n];
    }
  }
  return acc;
}
