// Activations on the device: an f32 matrix (rows, cols), row-major, in its own storage buffer,
// and the context the block encoders share.

import type { ModelConfig } from '../engine/core/config.js';
import type { GpuDevice } from './device.js';
import type { GpuTensors } from './tensors.js';

/** An activation on the device: (rows, cols) f32. */
export interface DevAct {
  readonly buf: GPUBuffer;
  readonly rows: number;
  readonly cols: number;
}

/** What the block encoders (linear.ts, mamba2.ts, attention.ts, moe.ts, mlp.ts) work with. */
export interface GpuContext {
  readonly gpu: GpuDevice;
  readonly tensors: GpuTensors;
  readonly config: ModelConfig;
}

/** A fresh zeroed (rows, cols) activation. */
export function newAct(ctx: GpuContext, rows: number, cols: number): DevAct {
  return { buf: ctx.gpu.storage(rows * cols * 4), rows, cols };
}

/** Release an activation once the work encoded so far is submitted. */
export function releaseAct(ctx: GpuContext, x: DevAct): void {
  ctx.gpu.release(x.buf);
}
