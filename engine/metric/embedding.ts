// docs/metric-learning.md: a text's embedding for metric learning: the mean over its tokens of the
// model's final-normed hidden state (spec §4 step 3, before the head),
//   e = (1/T) Σ_t RMSNorm_f(x_t)   (d),
// each text in its own fresh sequence, so embeddings do not depend on batch or order.

import type { Model } from '../core/model.js';

/**
 * The mean-pooled final hidden state of `tokens` (T ≥ 1): (d) floats.
 * @example
 * const e = meanPooledEmbedding(session.model, text.encode('vpn will not connect')); // (d)
 */
export function meanPooledEmbedding(model: Model, tokens: Int32Array): Float64Array {
  const d = model.config.dModel;
  const seq = model.newSequence(tokens.length);
  try {
    const h = model.hidden(seq, tokens); // (T, d)
    const e = new Float64Array(d);
    for (let t = 0; t < tokens.length; t++) for (let c = 0; c < d; c++) e[c] += h[t * d + c];
    for (let c = 0; c < d; c++) e[c] /= tokens.length;
    return e;
  } finally {
    seq.free();
  }
}
