// Linear layer, the one primitive under every projection: Y = X · Wᵀ.
//   Y[t, o] = Σ_i X[t, i] · W[o, i]      X (T, in), W (out, in) raw f32/f16/bf16, Y (T, out)
// Each weight row is decoded exactly to f64 once per call, then dotted with every row of X in
// f64. Error budget: f64 rounding only, ≲ in · 2^−53 · Σ|X·W| relative; the oracle for all backends.

import { decodeInto } from '../dtype.js';
import { RefAct } from './act.js';
import type { RawTensor } from './tensors.js';

/**
 * Y = X · Wᵀ with f64 accumulation: (T, in) → (T, out).
 * @example const logits = matmul(h, cache.get('lm_head.weight')); // (T, d) → (T, V)
 */
export function matmul(x: RefAct, w: RawTensor): RefAct {
  const { rows: nOut, cols: nIn } = w;
  const T = x.rows;
  const y = RefAct.zeros(T, nOut); // (T, out)
  const wRow = new Float64Array(nIn); // (in)
  for (let o = 0; o < nOut; o++) {
    decodeInto(w.dtype, w.bytes, o * nIn, nIn, wRow, 0, w.name);
    for (let t = 0; t < T; t++) {
      const xOff = t * nIn;
      let acc = 0;
      for (let i = 0; i < nIn; i++) acc += x.data[xOff + i] * wRow[i];
      y.data[t * nOut + o] = acc;
    }
  }
  return y;
}
