// spec §6.5: the Mamba-2 selective scan for training, forward and backward, run sequentially.
// Per sequence b, head h (group g = ⌊h / (H/G)⌋) and token t, from S = 0:
//   α_t = exp(Δ_t·A_h);  S_t[p,n] = α_t·S_{t−1}[p,n] + Δ_t·B_t[g,n]·x_t[h·P+p]
//   y_t[h·P+p] = Σ_n C_t[g,n]·S_t[p,n] + D_h·x_t[h·P+p]
// Backward runs the recurrence in reverse with dS_t = ∂L/∂S_t (P×N), dS_T = 0:
//   dS_t += dy_t ⊗ C_t;  dC_t[n] += Σ_p dy_t[p]·S_t[p,n]
//   dα_t·α_t = Σ dS_t ⊙ α_t·S_{t−1} = Σ dS_t ⊙ S_t − Δ_t·Σ_p x_t[p]·(dS_t·B_t)[p]   (S_t alone, no ÷α)
//   dΔ_t = Σ_n B_t[n]·(Σ_p dS_t[p,n]·x_t[p]) + dα_t·α_t·A
//   dx_t[p] += Δ_t·Σ_n dS_t[p,n]·B_t[n] + D·dy_t[p];  dB_t[n] += Δ_t·Σ_p dS_t[p,n]·x_t[p]
//   dA += dα_t·α_t·Δ_t;  dD += Σ_p dy_t[p]·x_t[p];  dS_{t−1} = α_t·dS_t
// Memory: the forward keeps S only at the start of every Q-token segment; the backward recomputes
// the Q states of one segment from it (the whole history would be B·T·H·P·N values).
// Error budget: f64 state and sums over f32 inputs; equals engine/reference/ssd.ts to ~1e-6 relative.
// Layout: v is the conv output (B·T, convDim) = x' (H·P) | B (G·N) | C (G·N) per row (spec §6.2).

/** Sizes of one scan: B sequences of T tokens, H heads of P channels, G groups of N states, segment Q. */
export interface ScanDims {
  readonly B: number;
  readonly T: number;
  readonly H: number;
  readonly P: number;
  readonly G: number;
  readonly N: number;
  readonly Q: number;
}

/** Number of Q-token segments of a sequence (each has one saved state). */
export const segments = (s: ScanDims): number => Math.ceil(s.T / s.Q);

/** Offsets of head h's x' block and of its group's B and C blocks within a row of v. */
function headOffsets(s: ScanDims, h: number): { xo: number; bo: number; co: number; stride: number } {
  const g = Math.floor(h / (s.H / s.G));
  const dInner = s.H * s.P;
  return { xo: h * s.P, bo: dInner + g * s.N, co: dInner + s.G * s.N + g * s.N, stride: dInner + 2 * s.G * s.N };
}

/**
 * Forward scan. v (B·T, convDim), dt = Δ (B·T, H), A and D (H). Writes y (B·T, H·P) and the
 * state at the start of every segment into `starts` (B, ⌈T/Q⌉, H, P, N).
 * @example scanForward(dims, v, delta, A, D, y, starts);
 */
export function scanForward(s: ScanDims, v: Float32Array, dt: Float32Array, A: Float64Array, D: Float32Array, y: Float32Array, starts: Float64Array): void {
  const { B, T, H, P, N, Q } = s;
  const PN = P * N;
  const nSeg = segments(s);
  const S = new Float64Array((P + (P % 2)) * N); // (P, N) with P rounded up to even, for the row pairs below
  const bt = new Float64Array(N); // (N) B_t of the head's group
  const ct = new Float64Array(N); // (N) C_t of the head's group
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const { xo, bo, co, stride } = headOffsets(s, h);
      const Dh = D[h];
      S.fill(0);
      for (let t = 0; t < T; t++) {
        if (t % Q === 0) starts.set(S.subarray(0, PN), ((b * nSeg + t / Q) * H + h) * PN);
        const row = b * T + t;
        const delta = dt[row * H + h];
        const alpha = Math.exp(delta * A[h]);
        const vr = row * stride;
        for (let n = 0; n < N; n++) {
          bt[n] = v[vr + bo + n];
          ct[n] = v[vr + co + n];
        }
        const yr = row * H * P + h * P;
        // two rows at a time; an odd P's last pair has a zero row (x = 0 keeps its state at 0)
        for (let p = 0; p < P; p += 2) {
          const odd = p + 1 < P;
          const x0 = v[vr + xo + p];
          const x1 = odd ? v[vr + xo + p + 1] : 0;
          const dx0 = delta * x0;
          const dx1 = delta * x1;
          const k0 = p * N;
          const k1 = k0 + N;
          let acc0 = 0;
          let acc1 = 0;
          for (let n = 0; n < N; n++) {
            const s0 = alpha * S[k0 + n] + dx0 * bt[n];
            const s1 = alpha * S[k1 + n] + dx1 * bt[n];
            S[k0 + n] = s0;
            S[k1 + n] = s1;
            acc0 += ct[n] * s0;
            acc1 += ct[n] * s1;
          }
          y[yr + p] = acc0 + Dh * x0;
          if (odd) y[yr + p + 1] = acc1 + Dh * x1;
        }
      }
    }
  }
}

/** Gradients of the scan's inputs, all accumulated into. */
export interface ScanGrads {
  readonly dv: Float32Array; // (B·T, convDim), accumulated
  readonly dDelta: Float32Array; // (B·T, H), accumulated
  readonly dA: Float64Array; // (H), accumulated
  readonly dD: Float64Array; // (H), accumulated
}

/**
 * Backward scan: adds ∂L/∂v, ∂L/∂Δ, ∂L/∂A and ∂L/∂D for dy = ∂L/∂y (B·T, H·P) into `g`,
 * recomputing each segment's states from `starts` (scanForward's).
 * @example scanBackward(dims, v, delta, A, D, starts, dy, grads);
 */
export function scanBackward(
  s: ScanDims,
  v: Float32Array,
  dt: Float32Array,
  A: Float64Array,
  D: Float32Array,
  starts: Float64Array,
  dy: Float32Array,
  g: ScanGrads,
): void {
  const { B, T, H, P, N, Q } = s;
  const PN = P * N;
  const PN2 = (P + (P % 2)) * N; // P rounded up to even, for the row pairs below
  const nSeg = segments(s);
  const { dv, dDelta } = g;
  const states = new Float64Array((Q + 1) * PN2); // (Q+1, P, N) with P even: S before the segment, then after each token
  const dS = new Float64Array(PN2); // (P, N) ∂L/∂S_t, P even
  const bt = new Float64Array(N); // (N) B_t of the head's group
  const ct = new Float64Array(N); // (N) C_t of the head's group
  const dBx = new Float64Array(N); // (N) Σ_p dS[p,n]·x[p]
  const dC = new Float64Array(N); // (N) Σ_p dy[p]·S_t[p,n]
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const { xo, bo, co, stride } = headOffsets(s, h);
      const Ah = A[h];
      const Dh = D[h];
      let dA = 0;
      let dD = 0;
      dS.fill(0);
      for (let seg = nSeg - 1; seg >= 0; seg--) {
        const t0 = seg * Q;
        const len = Math.min(Q, T - t0);
        const start = ((b * nSeg + seg) * H + h) * PN;
        states.set(starts.subarray(start, start + PN));
        for (let i = 0; i < len; i++) {
          const row = b * T + t0 + i;
          const delta = dt[row * H + h];
          const alpha = Math.exp(delta * Ah);
          const vr = row * stride;
          for (let n = 0; n < N; n++) bt[n] = v[vr + bo + n];
          const prev = i * PN2;
          const cur = prev + PN2;
          for (let p = 0; p < P; p++) {
            const dx = delta * v[vr + xo + p];
            const so = p * N;
            for (let n = 0; n < N; n++) states[cur + so + n] = alpha * states[prev + so + n] + dx * bt[n];
          }
        }
        for (let i = len - 1; i >= 0; i--) {
          const row = b * T + t0 + i;
          const delta = dt[row * H + h];
          const alpha = Math.exp(delta * Ah);
          const vr = row * stride;
          const yr = row * H * P + h * P;
          for (let n = 0; n < N; n++) {
            bt[n] = v[vr + bo + n];
            ct[n] = v[vr + co + n];
          }
          const cur = (i + 1) * PN2;
          let gS = 0; // ⟨dS_t, S_t⟩
          let xGB = 0; // Σ_p x_t[p]·(dS_t·B_t)[p]
          dBx.fill(0);
          dC.fill(0);
          // two rows of the state at a time (halves the dC/dBx updates); an odd P's last pair
          // has a zero row (dy = x = 0 keeps its dS and its state at 0)
          for (let p = 0; p < P; p += 2) {
            const odd = p + 1 < P;
            const dy0 = dy[yr + p];
            const dy1 = odd ? dy[yr + p + 1] : 0;
            const x0 = v[vr + xo + p];
            const x1 = odd ? v[vr + xo + p + 1] : 0;
            dD += dy0 * x0 + dy1 * x1;
            let dx0 = 0;
            let dx1 = 0;
            const k0 = p * N;
            const k1 = k0 + N;
            for (let n = 0; n < N; n++) {
              const cn = ct[n];
              const bn = bt[n];
              const g0 = dS[k0 + n] + dy0 * cn;
              const g1 = dS[k1 + n] + dy1 * cn;
              const s0 = states[cur + k0 + n];
              const s1 = states[cur + k1 + n];
              dC[n] += dy0 * s0 + dy1 * s1;
              gS += g0 * s0 + g1 * s1;
              dBx[n] += g0 * x0 + g1 * x1;
              dx0 += g0 * bn;
              dx1 += g1 * bn;
              dS[k0 + n] = alpha * g0;
              dS[k1 + n] = alpha * g1;
            }
            xGB += x0 * dx0 + x1 * dx1;
            dv[vr + xo + p] += delta * dx0 + Dh * dy0;
            if (odd) dv[vr + xo + p + 1] += delta * dx1 + Dh * dy1;
          }
          const dAlphaA = gS - delta * xGB; // dα_t·α_t = ⟨dS_t, α_t·S_{t−1}⟩
          let dDt = dAlphaA * Ah;
          for (let n = 0; n < N; n++) {
            dv[vr + bo + n] += delta * dBx[n];
            dv[vr + co + n] += dC[n];
            dDt += bt[n] * dBx[n];
          }
          dDelta[row * H + h] += dDt;
          dA += dAlphaA * delta;
        }
      }
      g.dA[h] += dA;
      g.dD[h] += dD;
    }
  }
}
