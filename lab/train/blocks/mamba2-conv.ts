// spec §6.2: the causal depthwise conv of the Mamba-2 mixer for training, forward and backward.
//   a_t[c] = b[c] + Σ_{k<K} W[c,k]·xBC_{t−K+1+k}[c]   (xBC_τ = 0 before the sequence starts)
//   v_t[c] = SiLU(a_t[c])
// Backward, with da = dv ⊙ SiLU'(a), SiLU'(a) = σ(a)·(1 + a·(1 − σ(a))):
//   db[c] += Σ_t da_t[c];  dW[c,k] += Σ_t da_t[c]·xBC_{t−K+1+k}[c];  dxBC_τ[c] += Σ_k W[c,k]·da_{τ+K−1−k}[c]
// xBC is read in place from the in_proj output: row r of `src` at column `off`, row stride `stride`.
// Error budget: f32 storage, f64 sums of K terms.

import { sigmoid, silu } from '../../../engine/reference/activations.js';

/** SiLU'(a) = σ(a)·(1 + a·(1 − σ(a))), the derivative of a·σ(a). */
function siluGrad(a: number): number {
  const sg = sigmoid(a);
  return sg * (1 + a * (1 - sg));
}

/** Where xBC sits: B sequences of T rows, C channels at column `off` of rows `stride` wide. */
export interface ConvLayout {
  readonly B: number;
  readonly T: number;
  readonly C: number; // convDim
  readonly K: number; // conv width
  readonly off: number;
  readonly stride: number;
}

/**
 * Forward: returns the pre-activation a (B·T, C) and v = SiLU(a) (B·T, C).
 * W (C, K) with W[c, K−1] on the current token; bias (C) or null.
 * @example const { a, v } = convForward(layout, proj, convW, convB);
 */
export function convForward(l: ConvLayout, src: Float32Array, W: Float32Array, bias: Float32Array | null): { a: Float32Array; v: Float32Array } {
  const { B, T, C, K, off, stride } = l;
  const a = new Float32Array(B * T * C); // (B·T, C)
  const v = new Float32Array(B * T * C); // (B·T, C)
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = b * T + t;
      for (let c = 0; c < C; c++) {
        let acc = bias ? bias[c] : 0;
        for (let k = Math.max(0, K - 1 - t); k < K; k++) acc += W[c * K + k] * src[(row - K + 1 + k) * stride + off + c];
        a[row * C + c] = acc;
        v[row * C + c] = silu(acc);
      }
    }
  }
  return { a, v };
}

/**
 * Backward: given dv (B·T, C) and the forward's a, adds ∂L/∂xBC into `dsrc` (same layout as
 * `src`), and ∂L/∂W (C, K), ∂L/∂bias (C) into dW and dBias (dBias null when there is no bias).
 * @example convBackward(layout, proj, convW, a, dv, dProj, dConvW, dConvB);
 */
export function convBackward(
  l: ConvLayout,
  src: Float32Array,
  W: Float32Array,
  a: Float32Array,
  dv: Float32Array,
  dsrc: Float32Array,
  dW: Float32Array,
  dBias: Float32Array | null,
): void {
  const { B, T, C, K, off, stride } = l;
  const dWacc = new Float64Array(C * K); // (C, K)
  const dBacc = new Float64Array(C); // (C)
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = b * T + t;
      for (let c = 0; c < C; c++) {
        const da = dv[row * C + c] * siluGrad(a[row * C + c]);
        dBacc[c] += da;
        for (let k = Math.max(0, K - 1 - t); k < K; k++) {
          const si = (row - K + 1 + k) * stride + off + c;
          dWacc[c * K + k] += da * src[si];
          dsrc[si] += W[c * K + k] * da;
        }
      }
    }
  }
  for (let i = 0; i < C * K; i++) dW[i] += dWacc[i];
  if (dBias) for (let c = 0; c < C; c++) dBias[c] += dBacc[c];
}
