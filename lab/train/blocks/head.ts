// spec §4.4 and the training objective: logits = h·W_lmᵀ (R, V) and the mean softmax cross-entropy
//   L = (1/R) Σ_t [logsumexp(logits_t) − logits_t[y_t]]
// backward (fused, one chunk of rows at a time so the (R, V) logits never sit whole in memory):
//   ∂logits = scale·(softmax(logits) − onehot(y)) / R,  ∂h = ∂logits·W_lm,  ∂W_lm += ∂logitsᵀ·h

import { addMatmulAtB, matmulAB, matmulABt } from '../linalg.js';

/** Rows per chunk of the head (1024 × V f32 logits at a time). */
const HEAD_CHUNK_ROWS = 1024;

/**
 * Mean cross-entropy (nats) of the head on h (R, d) against targets (R), and ∂(scale·L)/∂h;
 * adds ∂(scale·L)/∂W into dW (V, d) when given.
 * @example const { loss, dh } = headLoss(params.get('lm_head.weight')!, h, targets, d, grads.get('lm_head.weight')!, 1);
 */
export function headLoss(
  W: Float32Array,
  h: Float32Array,
  targets: Int32Array,
  d: number,
  dW: Float32Array | null,
  scale: number,
): { loss: number; dh: Float32Array } {
  const V = W.length / d;
  const R = targets.length;
  const dh = new Float32Array(R * d);
  let loss = 0;
  for (let r0 = 0; r0 < R; r0 += HEAD_CHUNK_ROWS) {
    const n = Math.min(HEAD_CHUNK_ROWS, R - r0);
    const hc = h.subarray(r0 * d, (r0 + n) * d);
    const logits = matmulABt(hc, W, n, d, V); // (n, d) → (n, V), becomes ∂logits in place
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * V, (i + 1) * V);
      let max = -Infinity;
      for (let v = 0; v < V; v++) if (row[v] > max) max = row[v];
      const y = targets[r0 + i];
      const target = row[y];
      let sum = 0;
      for (let v = 0; v < V; v++) sum += row[v] = Math.exp(row[v] - max);
      loss += max + Math.log(sum) - target;
      const g = scale / R / sum;
      for (let v = 0; v < V; v++) row[v] *= g;
      row[y] -= scale / R;
    }
    dh.set(matmulAB(logits, W, n, V, d), r0 * d);
    if (dW) addMatmulAtB(dW, logits, hc, n, V, d);
  }
  return { loss: loss / R, dh };
}
