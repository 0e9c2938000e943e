// spec §9 (and the experts of §8): the non-gated squared-ReLU MLP, out = W_down · relu(W_up · u)².

import { freeAct, type WasmAct, type WasmContext } from './act.js';
import { linear } from './linear.js';

/**
 * W_down · relu(W_up · x)² for the weights `up` [I, w] and `down` [w, I]: (T, w) → (T, w).
 * @example const y = relu2Mlp(ctx, x, `${pre}up_proj.weight`, `${pre}down_proj.weight`);
 */
export function relu2Mlp(ctx: WasmContext, x: WasmAct, up: string, down: string): WasmAct {
  const h = linear(ctx, x, up); // (T, w) → (T, I)
  ctx.kernels.f32_relu2(h.ptr, h.rows * h.cols);
  const y = linear(ctx, h, down); // (T, I) → (T, w)
  freeAct(h);
  return y;
}

/**
 * The dense MLP mixer of layer il: (T, d) → (T, d).
 * @example const y = mlp(ctx, 3, u);
 */
export function mlp(ctx: WasmContext, il: number, u: WasmAct): WasmAct {
  const pre = `${ctx.config.layers[il].prefix}mixer.`;
  return relu2Mlp(ctx, u, `${pre}up_proj.weight`, `${pre}down_proj.weight`);
}
