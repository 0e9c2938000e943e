// The contract between the trainer's model (lab/train/model.ts) and the forward and
// backward pass of one block kind (weights-tools/train/blocks/*.ts). A block is the mixer of one
// layer (spec §6–§9): the pre-norm and the residual belong to the model. Everything is f32,
// row-major, with the batch flattened: x is (B·T, d), sequence b occupying rows [b·T, (b+1)·T).

import type { LayerSpec, ModelConfig } from '../../engine/core/config.js';

/** Parameters, or their gradients, keyed by the HF tensor name (engine/core/weights.ts expectedTensors). */
export type TensorMap = Map<string, Float32Array>;

/** B independent sequences of T tokens each; every activation has B·T rows. */
export interface BatchShape {
  readonly B: number;
  readonly T: number;
}

/** One block's training pass. `Cache` holds what forward saved for backward. */
export interface BlockPass<Cache = unknown> {
  /** y = mixer(x): (B·T, d) → (B·T, d). Each sequence starts from an empty state. */
  forward(params: TensorMap, x: Float32Array, shape: BatchShape): { y: Float32Array; cache: Cache };
  /**
   * Returns ∂L/∂x (B·T, d) given ∂L/∂y, and ADDS ∂L/∂θ into `grads[name]` for every parameter
   * the block reads (adding, so that weights shared between blocks accumulate).
   */
  backward(params: TensorMap, grads: TensorMap, cache: Cache, dy: Float32Array): Float32Array;
}

/** Builds the pass of one layer (its tensor names start with `layer.prefix + 'mixer.'`). */
export type BlockFactory = (config: ModelConfig, layer: LayerSpec) => BlockPass;
