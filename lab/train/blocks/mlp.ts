// spec §9 (and §8's experts): the relu² MLP's training pass, in f32.
//   h = x · W_upᵀ (R, I),  a = relu(h)²,  y = a · W_downᵀ (R, dOut)
// backward: ∂a = ∂y · W_down,  ∂h = ∂a ⊙ 2·relu(h),  ∂x = ∂h · W_up,
//           ∂W_down += ∂yᵀ · a,  ∂W_up += ∂hᵀ · x

import type { BlockFactory, BlockPass, TensorMap } from '../block.js';
import { addMatmulAtB, matmulAB, matmulABt } from '../linalg.js';

/** What the forward saved. */
export interface Relu2Cache {
  readonly R: number;
  readonly x: Float32Array; // (R, dIn)
  readonly h: Float32Array; // (R, I) pre-activation
  readonly a: Float32Array; // (R, I) relu(h)²
}

/**
 * y = W_down · relu(W_up · x)² for R rows: up (I, dIn), down (dOut, I).
 * @example const { y, cache } = relu2Forward(up, down, x, R);
 */
export function relu2Forward(up: Float32Array, down: Float32Array, x: Float32Array, R: number): { y: Float32Array; cache: Relu2Cache } {
  const dIn = x.length / R;
  const I = up.length / dIn;
  const dOut = down.length / I;
  const h = matmulABt(x, up, R, dIn, I); // (R, dIn) → (R, I)
  const a = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) a[i] = h[i] > 0 ? h[i] * h[i] : 0;
  return { y: matmulABt(a, down, R, I, dOut), cache: { R, x, h, a } }; // (R, I) → (R, dOut)
}

/**
 * ∂L/∂x (R, dIn) from ∂L/∂y (R, dOut); adds into dUp (I, dIn) and dDown (dOut, I).
 * @example const dx = relu2Backward(up, down, dUp, dDown, cache, dy);
 */
export function relu2Backward(
  up: Float32Array,
  down: Float32Array,
  dUp: Float32Array,
  dDown: Float32Array,
  cache: Relu2Cache,
  dy: Float32Array,
): Float32Array {
  const { R, x, h, a } = cache;
  const I = h.length / R;
  const dIn = x.length / R;
  const dOut = down.length / I;
  addMatmulAtB(dDown, dy, a, R, dOut, I);
  const dh = matmulAB(dy, down, R, dOut, I); // ∂a (R, I), turned into ∂h in place
  for (let i = 0; i < dh.length; i++) dh[i] = h[i] > 0 ? dh[i] * 2 * h[i] : 0;
  addMatmulAtB(dUp, dh, x, R, I, dIn);
  return matmulAB(dh, up, R, I, dIn);
}

/**
 * The dense MLP mixer of a '-' layer (spec §9).
 * @example const pass = mlpBlock(config, config.layers[il]);
 */
export const mlpBlock: BlockFactory = (_config, layer) => {
  const up = `${layer.prefix}mixer.up_proj.weight`;
  const down = `${layer.prefix}mixer.down_proj.weight`;
  const pass: BlockPass<Relu2Cache> = {
    forward: (params: TensorMap, x, { B, T }) => relu2Forward(params.get(up)!, params.get(down)!, x, B * T),
    backward: (params, grads, cache, dy) => relu2Backward(params.get(up)!, params.get(down)!, grads.get(up)!, grads.get(down)!, cache, dy),
  };
  return pass as BlockPass;
};
