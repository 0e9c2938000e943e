// spec §7: NoPE causal GQA attention of a '*' layer on the WASM kernels.
//   1. q = W_q u (n_q·hd), k = W_k u, v = W_v u (n_kv·hd)        bf16/f32_matmul
//   2. append k, v to the cache at rows [position, position + T) (f32, or bf16: f32_to_bf16)
//   3. o = softmax(q·Kᵀ/√hd, causal) · V per query head           f32_attention / bf16_attention
//   4. out = W_o · o
// Error budget: the kernels' (see their headers).

import { ContextWindowExceededError } from '../../engine/core/errors.js';
import { freeAct, newAct, type WasmAct, type WasmContext } from './act.js';
import { linear } from './linear.js';
import type { WasmSequenceState } from './state.js';

/**
 * Attention of layer il on u (T, d) at the sequence's position, appending to its KV cache.
 * @example const y = attention(ctx, 5, u, seq);
 */
export function attention(ctx: WasmContext, il: number, u: WasmAct, seq: WasmSequenceState): WasmAct {
  const { nHeads, nKvHeads, headDim: hd } = ctx.config.attention!;
  const pre = `${ctx.config.layers[il].prefix}mixer.`;
  const T = u.rows;
  const pos = seq.position;
  if (pos + T > seq.maxTokens) throw new ContextWindowExceededError(pos + T, seq.maxTokens);

  // 1. projections: (T, d) → (T, n_q·hd), (T, n_kv·hd), (T, n_kv·hd)
  const q = linear(ctx, u, `${pre}q_proj.weight`);
  const k = linear(ctx, u, `${pre}k_proj.weight`);
  const v = linear(ctx, u, `${pre}v_proj.weight`);
  // 2. append to the cache (bf16: rounded to nearest even)
  const bf16 = seq.kvDtype === 'bf16';
  const width = nKvHeads * hd;
  const rowBytes = width * (bf16 ? 2 : 4);
  const cache = seq.kvLayer(il);
  seq.protectKv(pos);
  if (bf16) {
    ctx.kernels.f32_to_bf16(k.ptr, cache.k + pos * rowBytes, T * width);
    ctx.kernels.f32_to_bf16(v.ptr, cache.v + pos * rowBytes, T * width);
  } else {
    ctx.heap.copy(cache.k + pos * rowBytes, k.ptr, T * rowBytes);
    ctx.heap.copy(cache.v + pos * rowBytes, v.ptr, T * rowBytes);
  }
  freeAct(k);
  freeAct(v);

  // 3. causal softmax over rows 0..pos+t: (T, n_q·hd)
  const o = newAct(ctx, T, nHeads * hd);
  const scores = ctx.heap.alloc((pos + T) * 4);
  const attend = bf16 ? ctx.kernels.bf16_attention : ctx.kernels.f32_attention;
  attend(q.ptr, cache.k, cache.v, o.ptr, T, pos, nHeads, nKvHeads, hd, 1 / Math.sqrt(hd), scores);
  ctx.heap.free(scores);
  freeAct(q);

  // 4. out = W_o · o: (T, n_q·hd) → (T, d)
  const out = linear(ctx, o, `${pre}o_proj.weight`);
  freeAct(o);
  return out;
}
