// spec §7: NoPE causal GQA attention of a '*' layer on the WASM kernels.
//   1. q = W_q u (n_q·hd), k = W_k u, v = W_v u (n_kv·hd)        bf16/f32_matmul
//   2. append k, v to the cache at rows [position, position + T) (f32, or bf16: f32_to_bf16)
//   3. o = softmax(q·Kᵀ/√hd, causal) · V per query head           f32_attention / bf16_attention
//      (with kernel threads, a prefill's query rows in parts of about equal key counts)
//   4. out = W_o · o
// Error budget: the kernels' (see their headers).

import { ContextWindowExceededError } from '../../engine/core/errors.js';
import { freeAct, newAct, type WasmAct, type WasmContext } from './act.js';
import { linear } from './linear.js';
import type { KernelExports } from './instantiate.js';
import type { WasmSequenceState } from './state.js';
import { threadParts, type KernelPart } from './threads.js';

/**
 * Step 3 for the T query rows of q at position pos into o. With kernel threads and enough work
 * (2·hd multiply-adds per query head and visible key), the query rows go out in parts of
 * contiguous tokens whose key counts (pos + t + 1 for token t) sum to about the same; each row's
 * arithmetic is that of one thread, so every output is the same for any thread count.
 */
function attend(ctx: WasmContext, kernel: 'f32_attention' | 'bf16_attention', q: WasmAct, cache: { k: number; v: number }, o: WasmAct, pos: number, nHeads: number, nKvHeads: number, hd: number): void {
  const T = q.rows;
  const keys = T * pos + (T * (T + 1)) / 2; // Σ_t (pos + t + 1): the keys all T rows see
  const parts = threadParts(ctx.threads, 2 * hd * nHeads * keys, T);
  // part p starts after the first token whose cumulative key count reaches p / parts of the total
  const bounds = [0];
  for (let t = 0, seen = 0; t < T - 1 && bounds.length < parts; t++) {
    seen += pos + t + 1;
    if (seen * parts >= bounds.length * keys) bounds.push(t + 1);
  }
  bounds.push(T);
  const row = nHeads * hd * 4;
  const calls: KernelPart[] = bounds.slice(1).map((t1, i) => {
    const t0 = bounds[i];
    const scores = ctx.heap.alloc((pos + t1) * 4);
    return { kernel, args: [q.ptr + t0 * row, cache.k, cache.v, o.ptr + t0 * row, t1 - t0, pos + t0, nHeads, nKvHeads, hd, 1 / Math.sqrt(hd), scores] };
  });
  if (calls.length === 1) ctx.kernels[kernel](...(calls[0].args as Parameters<KernelExports['f32_attention']>));
  else ctx.threads!.runAll(calls, ctx.kernels);
  for (const call of calls) ctx.heap.free(call.args[10]);
}

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
  attend(ctx, bf16 ? 'bf16_attention' : 'f32_attention', q, cache, o, pos, nHeads, nKvHeads, hd);
  freeAct(q);

  // 4. out = W_o · o: (T, n_q·hd) → (T, d)
  const out = linear(ctx, o, `${pre}o_proj.weight`);
  freeAct(o);
  return out;
}
