// spec §13, §4.4: X · Wᵀ for a linear weight kept in ggml blocks as its GGUF stores them (Q8_0,
// Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K; engine/formats/ggml-blocks.ts): the kernel call for a range of rows
// (assembly/kernels/ggml_blocks.ts: f32 activations, each row decoded exactly into a K-float
// scratch, then dotted with every token) and the exact decode of one row for gathers (the embedding). linear.ts dispatches here.

import { GGML_BLOCKS, type GgmlBlockDType } from '../../engine/formats/ggml-blocks.js';
import type { WasmContext } from './act.js';
import type { WasmLinear } from './tensors.js';
import type { KernelPart, ThreadKernel } from './threads.js';

/** The kernel stem of each block format (H8: dtype_op). */
export const GGML_KERNELS: Readonly<Record<GgmlBlockDType, ThreadKernel>> = {
  q8_0: 'ggml_q8_0_matmul',
  q4_0: 'ggml_q4_0_matmul',
  q4_k: 'ggml_q4_k_matmul',
  q5_k: 'ggml_q5_k_matmul',
  q6_k: 'ggml_q6_k_matmul',
  q4_1: 'ggml_q4_1_matmul',
  q5_0: 'ggml_q5_0_matmul',
  q5_1: 'ggml_q5_1_matmul',
};

/** Bytes of one row of `w` (cols / blockValues blocks). */
export function ggmlRowBytes(w: WasmLinear): number {
  const t = GGML_BLOCKS[w.format as GgmlBlockDType];
  return (w.cols / t.blockValues) * t.blockBytes;
}

/** Scratch bytes the kernel of block-format `w` needs (one decoded row, K f32), whatever T. */
export function ggmlScratchBytes(w: WasmLinear): number {
  return w.cols * 4;
}

/**
 * The kernel call for rows [n0, n0 + n) of block-format `w`: T tokens of x (T, K) into y (T, n),
 * with ggmlScratchBytes(w) bytes of scratch.
 * @example const { kernel, args } = ggmlRowsCall(w, x.ptr, T, scratch, y.ptr, 0, w.rows);
 */
export function ggmlRowsCall(w: WasmLinear, x: number, T: number, scratch: number, y: number, n0: number, n: number): KernelPart {
  return { kernel: GGML_KERNELS[w.format as GgmlBlockDType], args: [x, scratch, w.ptr + n0 * ggmlRowBytes(w), y, T, w.cols, n] };
}

/**
 * Row r of block-format `w` into f32 at dst (cols values), exactly as ggml dequantises it.
 * @example ggmlLinearRow(ctx, ctx.tensors.linear('backbone.embeddings.weight'), token, x.row(t));
 */
export function ggmlLinearRow(ctx: WasmContext, w: WasmLinear, r: number, dst: number): void {
  const rb = ggmlRowBytes(w);
  GGML_BLOCKS[w.format as GgmlBlockDType].dequant(ctx.heap.u8(w.ptr + r * rb, rb), ctx.heap.f32(dst, w.cols), w.cols);
}
