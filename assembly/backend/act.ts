// Activations of the WASM backend: (rows, cols) f32 matrices in WASM memory, row-major, and the
// context every block function receives (config, kernels, heap, weights).

import type { Act } from '../../engine/core/backend.js';
import type { ModelConfig } from '../../engine/core/config.js';
import type { Heap } from './heap.js';
import type { KernelExports } from './instantiate.js';
import type { KernelThreads } from './threads.js';
import type { WasmTensors } from './tensors.js';

/**
 * An activation (rows, cols) of f32 at `ptr` in the heap `heap`.
 * @example const x = newAct(ctx, 3, ctx.config.dModel); ctx.heap.f32(x.row(1), x.cols).fill(0);
 */
export class WasmAct implements Act {
  constructor(
    readonly ptr: number,
    readonly rows: number,
    readonly cols: number,
    readonly heap: Heap,
  ) {}

  /** Byte address of row r. */
  row(r: number): number {
    return this.ptr + r * this.cols * 4;
  }
}

/** What a block function needs: the config, the kernel exports and build, the heap, the weights, and the kernel threads if there are any. */
export interface WasmContext {
  readonly config: ModelConfig;
  readonly kernels: KernelExports;
  readonly heap: Heap;
  readonly tensors: WasmTensors;
  /** Whether the kernels are the relaxed-SIMD build (int8-activation nvfp4 products). */
  readonly relaxed: boolean;
  readonly threads?: KernelThreads;
  /** Element type of the attention caches (WasmBackendOptions.kvDtype). */
  readonly kvDtype: KvDtype;
}

/** Element type of the attention caches: f32, or bf16 (half the bytes per token). */
export type KvDtype = 'f32' | 'bf16';

/**
 * A new, uninitialised (rows, cols) activation.
 * @example const y = newAct(ctx, T, 4096); // (T, n_q·hd)
 */
export function newAct(ctx: WasmContext, rows: number, cols: number): WasmAct {
  return new WasmAct(ctx.heap.alloc(rows * cols * 4), rows, cols, ctx.heap);
}

/**
 * Release an activation's memory.
 * @example freeAct(y);
 */
export function freeAct(x: WasmAct): void {
  x.heap.free(x.ptr);
}
