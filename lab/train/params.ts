// The trainer's parameter store: every tensor of `expectedTensors(config, withMtp)` (spec §12
// names and shapes) as a view into one flat f32 buffer (which may be a SharedArrayBuffer, so
// worker threads read the same weights), plus a twin store of the same layout for gradients.

import type { ModelConfig } from '../../engine/core/config.js';
import { expectedTensors } from '../../engine/core/weights.js';
import type { TensorMap } from './block.js';

/** Where each tensor lives in the flat buffer. */
export interface ParamLayout {
  readonly names: readonly string[];
  readonly shapes: readonly (readonly number[])[];
  readonly offsets: readonly number[]; // element offset of each tensor
  readonly total: number; // elements
}

/**
 * The layout of a config's trainable tensors (MTP included when configured).
 * @example const layout = paramLayout(config); layout.total; // parameter count
 */
export function paramLayout(config: ModelConfig): ParamLayout {
  const specs = expectedTensors(config, config.mtp !== null);
  const offsets: number[] = [];
  let total = 0;
  for (const s of specs) {
    offsets.push(total);
    total += s.shape.reduce((a, b) => a * b, 1);
  }
  return { names: specs.map((s) => s.name), shapes: specs.map((s) => s.shape), offsets, total };
}

/**
 * Views of every tensor into `flat` (layout.total elements).
 * @example const params = tensorViews(layout, new Float32Array(layout.total));
 */
export function tensorViews(layout: ParamLayout, flat: Float32Array): TensorMap {
  return new Map(layout.names.map((name, i) => [name, flat.subarray(layout.offsets[i], layout.offsets[i] + layout.shapes[i].reduce((a, b) => a * b, 1))]));
}

/** A flat f32 buffer of `n` elements, shared between threads when `shared`. */
export function flatBuffer(n: number, shared: boolean): Float32Array {
  return new Float32Array(shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n));
}
