// spec §6: the Mamba-2 mixer of an 'M' layer, in f64.
//   1. p = W_in · u, split z (dInner) | xBC (convDim) | dt (H)                      (§6.1)
//   2. v_t[c] = SiLU(b[c] + Σ_{k<K} W[c,k] · xBC_{t−K+1+k}[c]), earlier rows from the window (§6.2)
//      split v into x' (dInner) | B (G·N) | C (G·N)
//   3. Δ = softplus(dt + dt_bias) (no clamp, §6.4);  A = −exp(A_log)               (§6.3)
//   4. y = SSD(x', Δ, A, B, C) + D·x' from the cached state: chunked for T > 1, one step for T = 1
//   5. ŷ = GroupRMSNorm(y ⊙ SiLU(z));  out = W_out · ŷ                            (§6.7)
// Error budget: f64 rounding only.

import type { ModelConfig } from '../core/config.js';
import { RefAct } from './act.js';
import { silu, softplus } from './activations.js';
import { matmul } from './matmul.js';
import { gatedGroupRmsnorm } from './norm.js';
import { ssdChunked, ssdSequential, type SsdInputs } from './ssd.js';
import type { MambaLayerState } from './state.js';
import type { TensorCache } from './tensors.js';

/**
 * spec §6.2: causal depthwise conv over the window + T new rows, then SiLU.
 * xBC (T, convDim) pre-activation; window (K−1, convDim), oldest row first, is updated to the
 * last K−1 pre-activation rows; W (convDim, K) with W[c, K−1] on the current token; bias (convDim)
 * or null. Returns v (T, convDim).
 * @example const v = causalConv(xBC, state.conv, convWeight, convBias, 4);
 */
export function causalConv(
  xBC: RefAct,
  window: Float64Array,
  W: Float64Array,
  bias: Float64Array | null,
  K: number,
): RefAct {
  const { rows: T, cols: C } = xBC;
  const past = K - 1;
  // row τ of the stream [window; xBC], τ ∈ [0, K−1+T)
  const streamRow = (tau: number) => (tau < past ? window.subarray(tau * C, (tau + 1) * C) : xBC.row(tau - past));
  const v = RefAct.zeros(T, C); // (T, convDim)
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      const src = streamRow(t + k); // xBC_{t−K+1+k}
      for (let c = 0; c < C; c++) v.data[t * C + c] += W[c * K + k] * src[c];
    }
    for (let c = 0; c < C; c++) v.data[t * C + c] = silu((bias ? bias[c] : 0) + v.data[t * C + c]);
  }
  // keep the last K−1 rows of the stream as the new window
  const next = new Float64Array(past * C); // (K−1, convDim)
  for (let r = 0; r < past; r++) next.set(streamRow(T + r), r * C);
  window.set(next);
  return v;
}

/**
 * The whole Mamba-2 mixer of layer il on u (T, d), advancing `st` (conv window and SSM state).
 * @example const out = mamba2(config, cache, il, u, seq.mambaLayer(il)); // (T, d)
 */
export function mamba2(config: ModelConfig, cache: TensorCache, il: number, u: RefAct, st: MambaLayerState): RefAct {
  const m = config.mamba!;
  const pre = `${config.layers[il].prefix}mixer.`;
  const { nHeads: H, headDim: P, nGroups: G, dState: N, dInner, convDim } = m;
  const T = u.rows;

  // 1. in_proj and split: (T, d) → (T, 2·dInner + 2·G·N + H) = z | xBC | dt
  const proj = matmul(u, cache.linear(`${pre}in_proj.weight`), cache.tap);
  const z = RefAct.zeros(T, dInner); // (T, dInner)
  const xBC = RefAct.zeros(T, convDim); // (T, dInner + 2·G·N)
  const dtRaw = new Float64Array(T * H); // (T, H)
  for (let t = 0; t < T; t++) {
    const row = proj.row(t);
    z.data.set(row.subarray(0, dInner), t * dInner);
    xBC.data.set(row.subarray(dInner, dInner + convDim), t * convDim);
    dtRaw.set(row.subarray(dInner + convDim, dInner + convDim + H), t * H);
  }

  // 2. causal conv + SiLU, then split v into x' | B | C
  const convW = cache.vector(`${pre}conv1d.weight`); // (convDim, K): [convDim, 1, K] has the same bytes
  const convB = m.useConvBias ? cache.vector(`${pre}conv1d.bias`) : null; // (convDim)
  const v = causalConv(xBC, st.conv, convW, convB, m.convKernel);
  const x = new Float64Array(T * dInner); // (T, H·P)
  const B = new Float64Array(T * G * N); // (T, G·N)
  const C = new Float64Array(T * G * N); // (T, G·N)
  for (let t = 0; t < T; t++) {
    const row = v.row(t);
    x.set(row.subarray(0, dInner), t * dInner);
    B.set(row.subarray(dInner, dInner + G * N), t * G * N);
    C.set(row.subarray(dInner + G * N, convDim), t * G * N);
  }

  // 3. Δ = softplus(dt + dt_bias), A = −exp(A_log)
  const dtBias = cache.vector(`${pre}dt_bias`); // (H)
  const dt = new Float64Array(T * H); // (T, H)
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) dt[t * H + h] = softplus(dtRaw[t * H + h] + dtBias[h]);
  const A = cache.vector(`${pre}A_log`).map((l) => -Math.exp(l)); // (H)

  // 4. SSD with D skip, from and back into the cached state
  const inputs: SsdInputs = { T, nHeads: H, headDim: P, nGroups: G, dState: N, x, dt, A, B, C, D: cache.vector(`${pre}D`) };
  const y = new RefAct(T === 1 ? ssdSequential(inputs, st.ssm) : ssdChunked(inputs, st.ssm, m.chunkSize), T, dInner);

  // 5. gated group RMSNorm, out_proj: (T, dInner) → (T, d)
  const yNorm = gatedGroupRmsnorm(y, z, cache.vector(`${pre}norm.weight`), G, config.normEps);
  return matmul(yNorm, cache.linear(`${pre}out_proj.weight`), cache.tap);
}
