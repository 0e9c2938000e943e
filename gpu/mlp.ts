// spec §9 (and the experts of §8) on the device: out = W_down · relu(W_up · u)², the relu² fused
// into the up projection's matmul (matmul.wgsl, relu2 = 1).

import { releaseAct, type DevAct, type GpuContext } from './act.js';
import { linear } from './linear.js';

/**
 * relu² MLP with weights `up` (I, d) and `down` (d, I): (T, d) → (T, d).
 * @example const y = relu2Mlp(ctx, u, `${pre}up_proj.weight`, `${pre}down_proj.weight`);
 */
export function relu2Mlp(ctx: GpuContext, u: DevAct, up: string, down: string): DevAct {
  const h = linear(ctx, u, ctx.tensors.linear(up), { relu2: true }); // (T, I)
  const out = linear(ctx, h, ctx.tensors.linear(down)); // (T, d)
  releaseAct(ctx, h);
  return out;
}

/**
 * The dense MLP of an '-' layer.
 * @example const y = mlp(ctx, 4, u);
 */
export function mlp(ctx: GpuContext, il: number, u: DevAct): DevAct {
  const pre = `${ctx.config.layers[il].prefix}mixer.`;
  return relu2Mlp(ctx, u, `${pre}up_proj.weight`, `${pre}down_proj.weight`);
}
