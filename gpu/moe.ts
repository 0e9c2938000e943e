// spec §8 on the device: the sigmoid-routed MoE of an 'E' layer, no host round trip.
//   1. r = W_g · u (matmul.wgsl);  route.wgsl: σ, + correction bias for selection, group limit,
//      top-K (ties to the lower index), unbiased weights, renormalise, scale → Idx, Gain (T, K)
//   2. x_e = u, or u_ℓ = W_fc1 · u (LatentMoE)
//   3. h = relu(W_up[Idx] · x_e)² and y_k = W_down[Idx] · h for all T·K slots at once: the
//      experts are stacked, each slot reads its own expert (matmul.wgsl, gather)
//   4. routed = Σ_k Gain_k · y_k (combine.wgsl);  LatentMoE: W_fc2 · routed
//   5. out = routed + shared(u), the shared relu² expert at full width

import { OpArgumentError } from '../engine/core/errors.js';
import { newAct, releaseAct, type DevAct, type GpuContext } from './act.js';
import { linear } from './linear.js';
import { relu2Mlp } from './mlp.js';
import { addInPlace } from './norm.js';
import { PLAIN_KERNELS } from './shaders.js';

/** Groups route.wgsl can rank (its private array). */
const MAX_GROUPS = 64;

/**
 * The MoE mixer of layer il on u (T, d): (T, d) → (T, d).
 * @example const out = moe(ctx, 1, u);
 */
export function moe(ctx: GpuContext, il: number, u: DevAct): DevAct {
  const cfg = ctx.config.moe!;
  if (cfg.nGroup > MAX_GROUPS) throw new OpArgumentError('moe', `n_group ${cfg.nGroup} > ${MAX_GROUPS}`);
  const pre = `${ctx.config.layers[il].prefix}mixer.`;
  const t = ctx.tensors;
  const T = u.rows;
  const { nExperts: E, topK: K } = cfg;

  // 1. router
  const logits = linear(ctx, u, t.linear(`${pre}gate.weight`)); // (T, E)
  const scratch = ctx.gpu.storage(T * E * 4, 'router scores'); // (T, E)
  const idx = ctx.gpu.storage(T * K * 4, 'routed experts'); // (T, K) u32
  const gain = ctx.gpu.storage(T * K * 4, 'routed weights'); // (T, K) f32
  ctx.gpu.dispatch('route', PLAIN_KERNELS.route, { 1: logits.buf, 2: t.vector(`${pre}gate.e_score_correction_bias`), 3: scratch, 4: idx, 5: gain },
    [T, E, K, cfg.nGroup, cfg.topkGroup, cfg.normTopK ? 1 : 0, { f: cfg.routedScale }], ctx.gpu.grid(T));
  // 2–3. experts on every (token, k) slot
  const xe = cfg.latentDim === null ? u : linear(ctx, u, t.linear(`${pre}fc1_latent_proj.weight`)); // (T, w)
  const h = linear(ctx, xe, t.linear(`${pre}experts.*.up_proj.weight`), { relu2: true, gather: { sel: idx, rows: T * K, xDiv: K } }); // (T·K, I)
  const yk = linear(ctx, h, t.linear(`${pre}experts.*.down_proj.weight`), { gather: { sel: idx, rows: T * K, xDiv: 1 } }); // (T·K, w)
  // 4. weighted sum over k
  const routed = newAct(ctx, T, xe.cols); // (T, w)
  ctx.gpu.dispatch('combine', PLAIN_KERNELS.combine, { 1: yk.buf, 2: routed.buf, 3: gain }, [T, K, xe.cols], [Math.ceil(xe.cols / 64), T]);
  const out = cfg.latentDim === null ? routed : linear(ctx, routed, t.linear(`${pre}fc2_latent_proj.weight`)); // (T, d)
  // 5. shared expert
  const shared = relu2Mlp(ctx, u, `${pre}shared_experts.up_proj.weight`, `${pre}shared_experts.down_proj.weight`);
  addInPlace(ctx, out, shared);
  for (const a of [logits, h, yk, shared]) releaseAct(ctx, a);
  if (out !== routed) releaseAct(ctx, routed);
  if (xe !== u) releaseAct(ctx, xe);
  for (const b of [scratch, idx, gain]) ctx.gpu.release(b);
  return out;
}
