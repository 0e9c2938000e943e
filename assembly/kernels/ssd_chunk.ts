// spec §6.6: chunked SSD prefill, the same result as T steps of §6.5 (ssd_step.ts) up to rounding.
// Tokens are cut into chunks of Q (the last chunk is shorter: its zero padding would have a = 0
// and Δ·x = 0, which adds nothing and decays nothing, so the short chunk is computed directly).
// Per chunk, group g (CB shared by its heads) and head h, local index i = 0..L−1:
//   a_i = Δ_i·A_h, Ac_i = Σ_{j≤i} a_j (f64), CB = C·Bᵀ (L, L),
//   1. Y_diag = M·X with M_ij = exp(Ac_i − Ac_j)·CB_ij·Δ_j for j ≤ i, 0 above the diagonal
//   4. Y_off_i = exp(Ac_i)·(C·S_inᵀ)_i,   y_i = Y_diag_i + Y_off_i + D_h·x_i
//   2–3. S_out = exp(Ac_{L−1})·S_in + (X·diag(c))ᵀ·B with c_j = exp(Ac_{L−1} − Ac_j)·Δ_j
// S_in of the first chunk is the cached state; the final state is written back in place.
// The four products (CB, C·Sᵀ, M·X, Xcᵀ·B) run on the strided matmul micro-kernel (gemmF32:
// 4 rows × 2 columns of f32x4 accumulators over the reduction axis, which must be contiguous, so
// X and B are first transposed into scratch). Exps, scaling and transposes are scalar.
// Error budget (u = 2⁻²⁴): Ac in f64; exp(Ac_i − Ac_j) = Mathf.exp of the f32-rounded difference
// d ≤ 0, off by ≤ u·|d|·e^d + u ≤ 1.4u absolute (max of x·e⁻ˣ is 1/e); each output sums
// ≤ Q + N scaled terms, ≤ (Q + N/4 + 8)·u·(Σ_j |M_ij x_j| + |exp(Ac_i)|·Σ_n |C_n S_n|), ~√Q·u typ.

import { axpy } from './eltwise';
import { f4 } from './lanes';
import { gemmF32 } from './matmul';
import { softplus } from './ssd_step';

/**
 * Scratch bytes f32_ssd_chunked needs: Ac (Q f64), Δ, coef (Q each), CB, M (Q² each), Xᵀ, Xcᵀ
 * (P·Q each), Bᵀ (N·Q), and a product buffer of max(Q·P, P·N).
 */
export function f32_ssd_chunked_scratch_bytes(Q: i32, P: i32, N: i32): i32 {
  return 8 * Q + 4 * (2 * Q + 2 * Q * Q + 2 * P * Q + N * Q + max(Q * P, P * N));
}

/** dst(cols, rows) with leading dimension ld ← src(rows, cols) rows of stride srcStride bytes. */
@inline function transpose(src: usize, srcStride: usize, rows: i32, cols: i32, dst: usize, ld: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(dst + f4(c * ld + r), load<f32>(src + <usize>r * srcStride + f4(c)));
  }
}

function ssdChunked(
  simd: bool, x: usize, B: usize, C: usize, xStride: i32, dt: usize, dtStride: i32, dtBias: usize, A: usize,
  D: usize, state: usize, y: usize, T: i32, H: i32, P: i32, G: i32, N: i32, Q: i32, scratch: usize,
): void {
  const ac = scratch; // (Q) f64
  const delta = ac + (<usize>Q << 3); // (Q)
  const coef = delta + f4(Q); // (Q)
  const cb = coef + f4(Q); // (Q, Q) C·Bᵀ of the group
  const M = cb + f4(Q * Q); // (Q, Q) masked, decayed, Δ-scaled CB of the head
  const xT = M + f4(Q * Q); // (P, Q) x of the head, transposed
  const xcT = xT + f4(P * Q); // (P, Q) xT scaled by coef per column
  const bT = xcT + f4(P * Q); // (N, Q) B of the group, transposed
  const tmp = bT + f4(N * Q); // (Q, P) or (P, N) product
  const headsPerGroup = H / G;
  const xs = f4(xStride);
  const ys = f4(H * P);
  const qs = f4(Q);
  for (let t0 = 0; t0 < T; t0 += Q) {
    const L = min(Q, T - t0);
    for (let g = 0; g < G; g++) {
      const Bg = B + <usize>t0 * xs + f4(g * N); // (L, N), row stride xs
      const Cg = C + <usize>t0 * xs + f4(g * N); // (L, N), row stride xs
      // CB (L, L), lower triangle: rows i0..i0+3 need columns j ≤ i0 + 3 only
      for (let i0 = 0; i0 < L; i0 += 4) gemmF32(simd, Cg + <usize>i0 * xs, xs, Bg, xs, cb + f4(i0 * Q), qs, min(4, L - i0), N, min(L, i0 + 4));
      transpose(Bg, xs, L, N, bT, Q);
      for (let h = g * headsPerGroup; h < (g + 1) * headsPerGroup; h++) {
        const Ah = <f64>load<f32>(A + f4(h));
        const bias = <f64>load<f32>(dtBias + f4(h));
        const Dh = load<f32>(D + f4(h));
        const xh = x + <usize>t0 * xs + f4(h * P); // (L, P), row stride xs
        const yh = y + <usize>t0 * ys + f4(h * P); // (L, P), row stride ys
        const S = state + <usize>h * f4(P * N); // (P, N)
        let cum: f64 = 0;
        for (let i = 0; i < L; i++) {
          const d = softplus(<f64>load<f32>(dt + <usize>(t0 + i) * f4(dtStride) + f4(h)) + bias);
          store<f32>(delta + f4(i), <f32>d);
          cum += <f64>(<f32>d) * Ah;
          store<f64>(ac + (<usize>i << 3), cum);
        }
        const acL = load<f64>(ac + (<usize>(L - 1) << 3));
        for (let j = 0; j < L; j++) {
          store<f32>(coef + f4(j), <f32>Math.exp(acL - load<f64>(ac + (<usize>j << 3))) * load<f32>(delta + f4(j)));
        }
        transpose(xh, xs, L, P, xT, Q);
        for (let p = 0; p < P; p++) {
          for (let j = 0; j < L; j++) store<f32>(xcT + f4(p * Q + j), load<f32>(xT + f4(p * Q + j)) * load<f32>(coef + f4(j)));
        }
        for (let i = 0; i < L; i++) {
          const aci = load<f64>(ac + (<usize>i << 3));
          for (let j = 0; j <= i; j++) {
            const decay = Mathf.exp(<f32>(aci - load<f64>(ac + (<usize>j << 3)))); // |error| ≤ u/e absolute
            store<f32>(M + f4(i * Q + j), decay * load<f32>(cb + f4(i * Q + j)) * load<f32>(delta + f4(j)));
          }
          memory.fill(M + f4(i * Q + i + 1), 0, f4(L - i - 1));
        }
        // 4. off-diagonal term from the incoming state, plus the D skip: (L, N)·(P, N)ᵀ → (L, P)
        gemmF32(simd, Cg, xs, S, f4(N), tmp, f4(P), L, N, P);
        for (let i = 0; i < L; i++) {
          const e = <f32>Math.exp(load<f64>(ac + (<usize>i << 3)));
          for (let p = 0; p < P; p++) {
            const at = <usize>i * ys + f4(p);
            store<f32>(yh + at, e * load<f32>(tmp + f4(i * P + p)) + Dh * load<f32>(xh + <usize>i * xs + f4(p)));
          }
        }
        // 1. intra-chunk (diagonal) term: (L, L)·(P, L)ᵀ → (L, P); M is 0 past column i0 + 3 of
        //    rows i0..i0+3, so each 4-row block reduces over j < i0 + 4 only
        for (let i0 = 0; i0 < L; i0 += 4) gemmF32(simd, M + f4(i0 * Q), qs, xT, qs, tmp + f4(i0 * P), f4(P), min(4, L - i0), min(L, i0 + 4), P);
        for (let i = 0; i < L; i++) axpy(simd, 1, tmp + f4(i * P), yh + <usize>i * ys, P);
        // 2–3. chunk-end state: (P, L)·(N, L)ᵀ → (P, N), added to the decayed incoming state
        gemmF32(simd, xcT, qs, bT, qs, tmp, f4(N), P, L, N);
        const decay = <f32>Math.exp(acL);
        for (let e = 0; e < P * N; e++) store<f32>(S + f4(e), decay * load<f32>(S + f4(e)) + load<f32>(tmp + f4(e)));
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
