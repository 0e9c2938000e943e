// spec §6.6: chunked SSD prefill, the same result as T steps of §6.5 (ssd_step.ts) up to rounding.
// Tokens are cut into chunks of Q (the last chunk is shorter: its zero padding would have a = 0
// and Δ·x = 0, which adds nothing and decays nothing, so the short chunk is computed directly).
// Per chunk, group g (CB shared by its heads) and head h, local index i = 0..L−1:
//   a_i = Δ_i·A_h, Ac_i = Σ_{j≤i} a_j (f64), CB_ij = ⟨C_i, B_j⟩ for j ≤ i,
//   1. Y_diag_i = Σ_{j≤i} exp(Ac_i − Ac_j)·CB_ij·Δ_j·x_j
//   4. Y_off_i[p] = exp(Ac_i)·⟨C_i, S_in[p, :]⟩,   y_i = Y_diag_i + Y_off_i + D_h·x_i
//   2–3. S_out[p, :] = exp(Ac_{L−1})·S_in[p, :] + Σ_j exp(Ac_{L−1} − Ac_j)·Δ_j·x_j[p]·B_j
// S_in of the first chunk is the cached state; the final state is written back in place.
// Lanes: ⟨·,·⟩ over N and the state update over N use dotF32 / axpy (n in lane n mod 4, unrolled
// 16, ×4, tail); Y_diag accumulates over P the same way.
// Error budget (u = 2⁻²⁴): Ac in f64 so exp(Ac_i − Ac_j) is good to ~2u; each y_i sums ≤ Q + 1
// scaled terms, ≤ (Q + N/4 + 8)·u·(Σ_j |m_ij x_j| + |exp(Ac_i)|·Σ_n |C_n S_n|), typically √Q·u.

import { axpy } from './eltwise';
import { f4 } from './lanes';
import { dotF32 } from './matmul';
import { softplus } from './ssd_step';

/** Scratch bytes f32_ssd_chunked needs for chunk length Q: Ac (Q f64), Δ (Q), coef (Q), CB (Q²). */
export function f32_ssd_chunked_scratch_bytes(Q: i32): i32 {
  return 16 * Q + 4 * Q * Q;
}

function ssdChunked(
  simd: bool, x: usize, B: usize, C: usize, xStride: i32, dt: usize, dtStride: i32, dtBias: usize, A: usize,
  D: usize, state: usize, y: usize, T: i32, H: i32, P: i32, G: i32, N: i32, Q: i32, scratch: usize,
): void {
  const ac = scratch; // (Q) f64
  const delta = ac + (<usize>Q << 3); // (Q) f32
  const coef = delta + f4(Q); // (Q) f32
  const cb = coef + f4(Q); // (Q, Q) f32, lower triangle
  const headsPerGroup = H / G;
  const xs = f4(xStride);
  const ys = f4(H * P);
  for (let t0 = 0; t0 < T; t0 += Q) {
    const L = min(Q, T - t0);
    for (let g = 0; g < G; g++) {
      const goff = f4(g * N);
      for (let i = 0; i < L; i++) {
        const Ci = C + <usize>(t0 + i) * xs + goff;
        for (let j = 0; j <= i; j++) {
          store<f32>(cb + f4(i * Q + j), dotF32(simd, Ci, B + <usize>(t0 + j) * xs + goff, N));
        }
      }
      for (let h = g * headsPerGroup; h < (g + 1) * headsPerGroup; h++) {
        const Ah = <f64>load<f32>(A + f4(h));
        const bias = <f64>load<f32>(dtBias + f4(h));
        const Dh = load<f32>(D + f4(h));
        const hoff = f4(h * P);
        const S = state + <usize>h * f4(P * N);
        let cum: f64 = 0;
        for (let i = 0; i < L; i++) {
          const d = softplus(<f64>load<f32>(dt + <usize>(t0 + i) * f4(dtStride) + f4(h)) + bias);
          store<f32>(delta + f4(i), <f32>d);
          cum += <f64>(<f32>d) * Ah;
          store<f64>(ac + (<usize>i << 3), cum);
        }
        for (let i = 0; i < L; i++) {
          const xi = x + <usize>(t0 + i) * xs + hoff;
          const yi = y + <usize>(t0 + i) * ys + hoff;
          const Ci = C + <usize>(t0 + i) * xs + goff;
          const aci = load<f64>(ac + (<usize>i << 3));
          // 4. off-diagonal term from the incoming state, plus the D skip
          const e = <f32>Math.exp(aci);
          for (let p = 0; p < P; p++) {
            store<f32>(yi + f4(p), e * dotF32(simd, Ci, S + <usize>p * f4(N), N) + Dh * load<f32>(xi + f4(p)));
          }
          // 1. intra-chunk (diagonal) term
          for (let j = 0; j <= i; j++) {
            const m = <f32>Math.exp(aci - load<f64>(ac + (<usize>j << 3))) * load<f32>(cb + f4(i * Q + j)) * load<f32>(delta + f4(j));
            axpy(simd, m, x + <usize>(t0 + j) * xs + hoff, yi, P);
          }
        }
        // 2–3. chunk-end state: decay the incoming state, add each token's Δ·x ⊗ B
        const acL = load<f64>(ac + (<usize>(L - 1) << 3));
        const decay = <f32>Math.exp(acL);
        for (let j = 0; j < L; j++) {
          store<f32>(coef + f4(j), <f32>Math.exp(acL - load<f64>(ac + (<usize>j << 3))) * load<f32>(delta + f4(j)));
        }
        for (let p = 0; p < P; p++) {
          const Sp = S + <usize>p * f4(N);
          for (let n = 0; n < N; n++) store<f32>(Sp + f4(n), decay * load<f32>(Sp + f4(n)));
          for (let j = 0; j < L; j++) {
            const c = load<f32>(coef + f4(j)) * load<f32>(x + <usize>(t0 + j) * xs + hoff + f4(p));
            axpy(simd, c, B + <usize>(t0 + j) * xs + goff, Sp, N);
          }
        }
      }
    }
  }
}

/**
 * Chunked SSD over T tokens: x (T, H·P), B, C (T, G·N) rows with stride xStride floats; raw dt
 * rows with stride dtStride; dtBias, A = −exp(A_log), D (H); state (H, P, N) in/out; y (T, H·P);
 * chunk length Q; scratch of f32_ssd_chunked_scratch_bytes(Q) bytes.
 */
export function f32_ssd_chunked(
  x: usize, B: usize, C: usize, xStride: i32, dt: usize, dtStride: i32, dtBias: usize, A: usize, D: usize,
  state: usize, y: usize, T: i32, H: i32, P: i32, G: i32, N: i32, Q: i32, scratch: usize,
): void {
  ssdChunked(true, x, B, C, xStride, dt, dtStride, dtBias, A, D, state, y, T, H, P, G, N, Q, scratch);
}

export function f32_ssd_chunked_scalar(
  x: usize, B: usize, C: usize, xStride: i32, dt: usize, dtStride: i32, dtBias: usize, A: usize, D: usize,
  state: usize, y: usize, T: i32, H: i32, P: i32, G: i32, N: i32, Q: i32, scratch: usize,
): void {
  ssdChunked(false, x, B, C, xStride, dt, dtStride, dtBias, A, D, state, y, T, H, P, G, N, Q, scratch);
}
