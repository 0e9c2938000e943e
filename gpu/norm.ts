// spec §5 RMSNorm, spec §6.7 gated group RMSNorm (rmsnorm.wgsl), the residual add (add.wgsl)
// and the column concatenation of spec §11 (concat_cols.wgsl) on the device.

import { newAct, type DevAct, type GpuContext } from './act.js';
import { PLAIN_KERNELS } from './shaders.js';

/** The gate of a gated group norm: z in the first columns of each row of `buf` (stride `stride`). */
export interface Gate {
  readonly buf: GPUBuffer;
  readonly stride: number;
}

/**
 * Row-wise (group) RMSNorm with weight `w` (cols): (T, C) → (T, C); gated by SiLU(z) first when
 * `gate` is given.
 * @example const u = rmsnorm(ctx, x, ctx.tensors.vector(`${prefix}norm.weight`));
 */
export function rmsnorm(ctx: GpuContext, x: DevAct, w: GPUBuffer, groups = 1, gate?: Gate): DevAct {
  const y = newAct(ctx, x.rows, x.cols);
  const params = [x.rows, x.cols, groups, gate ? 1 : 0, gate ? gate.stride : 0, { f: ctx.config.normEps }];
  ctx.gpu.dispatch('rmsnorm', PLAIN_KERNELS.rmsnorm, { 1: x.buf, 2: y.buf, 3: w, 4: gate ? gate.buf : ctx.gpu.dummy }, params, [Math.ceil(groups / 64), x.rows]);
  return y;
}

/**
 * x ← x + y, element-wise (same shape).
 * @example addInPlace(ctx, out, shared);
 */
export function addInPlace(ctx: GpuContext, x: DevAct, y: DevAct): void {
  const n = x.rows * x.cols;
  ctx.gpu.dispatch('add', PLAIN_KERNELS.add, { 1: x.buf, 2: y.buf }, [n], ctx.gpu.grid(n));
}

/**
 * Y[t] = [A[t], B[t]]: (T, n) and (T, m) → (T, n + m).
 * @example const eh = concatCols(ctx, enormed, hnormed); // (T, 2d)
 */
export function concatCols(ctx: GpuContext, a: DevAct, b: DevAct): DevAct {
  const y = newAct(ctx, a.rows, a.cols + b.cols);
  const n = y.rows * y.cols;
  ctx.gpu.dispatch('concatCols', PLAIN_KERNELS.concatCols, { 1: a.buf, 2: b.buf, 3: y.buf }, [a.rows, a.cols, b.cols], ctx.gpu.grid(n));
  return y;
}
