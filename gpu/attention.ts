// spec §7 on the device: NoPE causal GQA attention of a '*' layer over the KV cache.
//   q, k, v = W_q u, W_k u, W_v u (matmul.wgsl); k, v appended to the cache rows
//   [position, position + T) by buffer copies; o = causal softmax attention (attention.wgsl);
//   out = W_o · o.

import { OpArgumentError } from '../engine/core/errors.js';
import { newAct, releaseAct, type DevAct, type GpuContext } from './act.js';
import { linear } from './linear.js';
import { PLAIN_KERNELS } from './shaders.js';
import type { KvBuffers } from './state.js';

/** Largest head dimension attention.wgsl holds in its accumulator. */
const MAX_HEAD_DIM = 256;

/**
 * Attention of layer il on u (T, d) at `position`, appending T rows to `kv`: (T, d) → (T, d).
 * The caller has checked position + T ≤ the cache's rows.
 * @example const out = attention(ctx, 2, u, seq.kvLayer(2), seq.position);
 */
export function attention(ctx: GpuContext, il: number, u: DevAct, kv: KvBuffers, position: number): DevAct {
  const { nHeads, nKvHeads, headDim: hd } = ctx.config.attention!;
  const pre = `${ctx.config.layers[il].prefix}mixer.`;
  const T = u.rows;
  const t = ctx.tensors;
  const q = linear(ctx, u, t.linear(`${pre}q_proj.weight`)); // (T, n_q·hd)
  const k = linear(ctx, u, t.linear(`${pre}k_proj.weight`)); // (T, n_kv·hd)
  const v = linear(ctx, u, t.linear(`${pre}v_proj.weight`)); // (T, n_kv·hd)
  const rowBytes = nKvHeads * hd * 4;
  ctx.gpu.copy(k.buf, 0, kv.k, position * rowBytes, T * rowBytes);
  ctx.gpu.copy(v.buf, 0, kv.v, position * rowBytes, T * rowBytes);
  if (hd > MAX_HEAD_DIM) throw new OpArgumentError('attention', `head_dim ${hd} > ${MAX_HEAD_DIM}`);
  const o = newAct(ctx, T, nHeads * hd); // (T, n_q·hd)
  ctx.gpu.dispatch('attention', PLAIN_KERNELS.attention, { 1: q.buf, 2: o.buf, 3: kv.k, 4: kv.v },
    [T, position, nHeads, nKvHeads, hd, { f: 1 / Math.sqrt(hd) }], [Math.ceil(nHeads / 64), T]);
  const out = linear(ctx, o, t.linear(`${pre}o_proj.weight`));
  for (const a of [q, k, v, o]) releaseAct(ctx, a);
  return out;
}
