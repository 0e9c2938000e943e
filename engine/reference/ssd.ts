// spec §6.5–6.6: the Mamba-2 selective state-space scan (SSD), two ways, in f64.
//
// §6.5 sequential (decode, and the oracle), per head h and token t, g = ⌊h / (H/G)⌋:
//   α = exp(Δ_t,h · A_h);  S_h[p,n] ← α·S_h[p,n] + Δ_t,h · B_t[g,n] · x_t[h·P+p]
//   y_t[h·P+p] = Σ_n C_t[g,n] · S_h[p,n] + D_h · x_t[h·P+p]
// §6.6 chunked (prefill): chunks of Q tokens (the last one zero-padded), per head
//   a_i = Δ_i·A;  A^c_i = Σ_{j≤i} a_j;  X̃_i = Δ_i·x_i
//   1. Y_diag_i = Σ_{j≤i} exp(A^c_i − A^c_j) ⟨C_i, B_j⟩ X̃_j
//   2. U = Σ_j exp(A^c_Q − A^c_j) X̃_j ⊗ B_j
//   3. S_out = exp(A^c_Q) · S_in + U      (S_in of the first chunk = the cached state S_0)
//   4. Y_off_i = exp(A^c_i) · Σ_n C_i[n] S_in[:, n]
//   5. y_i = Y_diag_i + Y_off_i + D·x_i
// Both forms compute the same sums; in f64 they agree to ~1e-15 relative to the output scale.
// Padded positions have Δ = 0, so a = 0 (no decay) and X̃ = 0 (no contribution).

/** Inputs of one SSD call over T tokens (Δ already softplus'ed, A already −exp(A_log)). */
export interface SsdInputs {
  readonly T: number;
  readonly nHeads: number; // H
  readonly headDim: number; // P
  readonly nGroups: number; // G
  readonly dState: number; // N
  readonly x: Float64Array; // (T, H·P)   x' after the conv
  readonly dt: Float64Array; // (T, H)    Δ
  readonly A: Float64Array; // (H)
  readonly B: Float64Array; // (T, G·N)
  readonly C: Float64Array; // (T, G·N)
  readonly D: Float64Array; // (H)
}

/**
 * spec §6.5: run the recurrence token by token. Updates `state` (H, P, N) in place and returns
 * y (T, H·P).
 * @example const y = ssdSequential(inputs, layerState.ssm);
 */
export function ssdSequential(p: SsdInputs, state: Float64Array): Float64Array {
  const { T, nHeads: H, headDim: P, nGroups: G, dState: N } = p;
  const dInner = H * P;
  const headsPerGroup = H / G;
  const y = new Float64Array(T * dInner); // (T, H·P)
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / headsPerGroup);
      const delta = p.dt[t * H + h];
      const alpha = Math.exp(delta * p.A[h]);
      const bOff = t * G * N + g * N;
      for (let pi = 0; pi < P; pi++) {
        const xv = p.x[t * dInner + h * P + pi];
        const sOff = (h * P + pi) * N;
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const s = alpha * state[sOff + n] + delta * p.B[bOff + n] * xv;
          state[sOff + n] = s;
          acc += p.C[bOff + n] * s;
        }
        y[t * dInner + h * P + pi] = acc + p.D[h] * xv;
      }
    }
  }
  return y;
}

/**
 * spec §6.6: the chunked SSD with chunk length Q, starting from `state` (H, P, N) and writing
 * the final state back into it. Returns y (T, H·P), equal to `ssdSequential` up to rounding.
 * @example const y = ssdChunked(inputs, layerState.ssm, config.mamba.chunkSize);
 */
export function ssdChunked(p: SsdInputs, state: Float64Array, Q: number): Float64Array {
  const { T, nHeads: H, headDim: P, nGroups: G, dState: N } = p;
  const dInner = H * P;
  const headsPerGroup = H / G;
  const y = new Float64Array(T * dInner); // (T, H·P)
  const a = new Float64Array(Q); // (Q)      a_i = Δ_i·A, 0 on padding
  const Ac = new Float64Array(Q); // (Q)     A^c_i
  const Xt = new Float64Array(Q * P); // (Q, P)  X̃_i = Δ_i·x_i, 0 on padding
  const Bc = new Float64Array(Q * N); // (Q, N)  B_i of the head's group, 0 on padding
  const Cc = new Float64Array(Q * N); // (Q, N)  C_i of the head's group, 0 on padding
  const CB = new Float64Array(Q * Q); // (Q, Q)  ⟨C_i, B_j⟩
  const U = new Float64Array(P * N); // (P, N)
  for (let t0 = 0; t0 < T; t0 += Q) {
    const len = Math.min(Q, T - t0); // real tokens in this chunk; rows len..Q−1 are padding
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / headsPerGroup);
      const S = state.subarray(h * P * N, (h + 1) * P * N); // (P, N) S_in, then S_out
      // gather the zero-padded chunk of this head
      a.fill(0);
      Xt.fill(0);
      Bc.fill(0);
      Cc.fill(0);
      for (let i = 0; i < len; i++) {
        const t = t0 + i;
        const delta = p.dt[t * H + h];
        a[i] = delta * p.A[h];
        for (let pi = 0; pi < P; pi++) Xt[i * P + pi] = delta * p.x[t * dInner + h * P + pi];
        for (let n = 0; n < N; n++) {
          Bc[i * N + n] = p.B[t * G * N + g * N + n];
          Cc[i * N + n] = p.C[t * G * N + g * N + n];
        }
      }
      let run = 0;
      for (let i = 0; i < Q; i++) Ac[i] = run += a[i];
      for (let i = 0; i < Q; i++) {
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let n = 0; n < N; n++) dot += Cc[i * N + n] * Bc[j * N + n];
          CB[i * Q + j] = dot;
        }
      }
      for (let i = 0; i < len; i++) {
        const t = t0 + i;
        for (let pi = 0; pi < P; pi++) {
          // 1. Y_diag_i = Σ_{j≤i} L_ij ⟨C_i, B_j⟩ X̃_j, L_ij = exp(A^c_i − A^c_j)
          let diag = 0;
          for (let j = 0; j <= i; j++) diag += Math.exp(Ac[i] - Ac[j]) * CB[i * Q + j] * Xt[j * P + pi];
          // 4. Y_off_i = exp(A^c_i) Σ_n C_i[n] S_in[p, n]
          let off = 0;
          for (let n = 0; n < N; n++) off += Cc[i * N + n] * S[pi * N + n];
          off *= Math.exp(Ac[i]);
          // 5. y_i = Y_diag_i + Y_off_i + D·x_i
          y[t * dInner + h * P + pi] = diag + off + p.D[h] * p.x[t * dInner + h * P + pi];
        }
      }
      // 2. U = Σ_j exp(A^c_Q − A^c_j) X̃_j ⊗ B_j
      U.fill(0);
      for (let j = 0; j < Q; j++) {
        const decay = Math.exp(Ac[Q - 1] - Ac[j]);
        for (let pi = 0; pi < P; pi++) {
          const w = decay * Xt[j * P + pi];
          for (let n = 0; n < N; n++) U[pi * N + n] += w * Bc[j * N + n];
        }
      }
      // 3. S_out = exp(A^c_Q) S_in + U
      const chunkDecay = Math.exp(Ac[Q - 1]);
      for (let k = 0; k < P * N; k++) S[k] = chunkDecay * S[k] + U[k];
    }
  }
  return y;
}
