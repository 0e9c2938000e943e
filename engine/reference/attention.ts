// spec §7: NoPE causal grouped-query attention of a '*' layer, in f64.
//   q = W_q u (n_q·hd), k = W_k u, v = W_v u (n_kv·hd); no positional encoding, no QK-norm
//   query head i reads kv head ⌊i / (n_q/n_kv)⌋
//   score_ij = q_i · k_j / √hd over the cached keys and the new ones, j ≤ i (causal)
//   o_i = Σ_j softmax_j(score_ij) v_j;  out = W_o · concat_heads(o)
// The T new k/v rows are appended to the cache at rows [position, position + T).
// Error budget: f64 rounding only (softmax with the row maximum subtracted).

import type { ModelConfig } from '../core/config.js';
import { ContextWindowExceededError } from '../core/errors.js';
import { RefAct } from './act.js';
import { matmul } from './matmul.js';
import type { KvLayerState } from './state.js';
import type { TensorCache } from './tensors.js';

/**
 * Attention of layer il on u (T, d) at sequence position `position`, appending to `kv`
 * (capacity `maxTokens` rows). Returns (T, d).
 * @example const out = attention(config, cache, il, u, seq.kvLayer(il), seq.position, seq.maxTokens);
 */
export function attention(
  config: ModelConfig,
  cache: TensorCache,
  il: number,
  u: RefAct,
  kv: KvLayerState,
  position: number,
  maxTokens: number,
): RefAct {
  const { nHeads, nKvHeads, headDim: hd } = config.attention!;
  const pre = `${config.layers[il].prefix}mixer.`;
  const T = u.rows;
  if (position + T > maxTokens) throw new ContextWindowExceededError(position + T, maxTokens);
  const qWidth = nHeads * hd;
  const kvWidth = nKvHeads * hd;
  const groupSize = nHeads / nKvHeads; // query heads per kv head
  const scale = 1 / Math.sqrt(hd);

  // 1. projections: (T, d) → (T, n_q·hd), (T, n_kv·hd), (T, n_kv·hd)
  const q = matmul(u, cache.linear(`${pre}q_proj.weight`), cache.tap);
  const k = matmul(u, cache.linear(`${pre}k_proj.weight`), cache.tap);
  const v = matmul(u, cache.linear(`${pre}v_proj.weight`), cache.tap);
  // 2. append the new keys and values to the cache
  kv.k.set(k.data, position * kvWidth);
  kv.v.set(v.data, position * kvWidth);

  // 3. per token and query head: causal softmax over cache rows 0..position+t
  const o = RefAct.zeros(T, qWidth); // (T, n_q·hd)
  const scores = new Float64Array(position + T); // (position + T)
  for (let t = 0; t < T; t++) {
    const nKeys = position + t + 1;
    for (let i = 0; i < nHeads; i++) {
      const j = Math.floor(i / groupSize); // kv head
      const qOff = t * qWidth + i * hd;
      let max = -Infinity;
      for (let s = 0; s < nKeys; s++) {
        const kOff = s * kvWidth + j * hd;
        let dot = 0;
        for (let e = 0; e < hd; e++) dot += q.data[qOff + e] * kv.k[kOff + e];
        scores[s] = dot * scale;
        if (scores[s] > max) max = scores[s];
      }
      let sum = 0;
      for (let s = 0; s < nKeys; s++) sum += scores[s] = Math.exp(scores[s] - max);
      for (let s = 0; s < nKeys; s++) {
        const p = scores[s] / sum;
        const vOff = s * kvWidth + j * hd;
        for (let e = 0; e < hd; e++) o.data[qOff + e] += p * kv.v[vOff + e];
      }
    }
  }
  // 4. out = W_o · o: (T, n_q·hd) → (T, d)
  return matmul(o, cache.linear(`${pre}o_proj.weight`), cache.tap);
}
