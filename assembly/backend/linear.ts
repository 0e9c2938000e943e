// Y(T, N) = X(T, K) · W(N, K)ᵀ for a linear weight in WASM memory: picks the kernel by the
// weight's format (f32_matmul, bf16_matmul, or the fused 4-bit int16-activation nvfp4_matmul_q16;
// all take the matvec path when T = 1), and row gathers (the embedding) for every format. The
// nvfp4 kernels round x to int16 per block of 16 (fp4_q16_matvec.ts: |Δx| ≤ 0.504·max_b|x| / 32767,
// the tolerance of the nvfp4 rows in tests/conformance/ops-rows.ts); they are several times faster
// than the f32-FMA ones (nvfp4_matmul.ts, bench). nvfp4-s24 weights take nvfp4s24_matmul_gather in
// every build (nvfp4s24_gather.ts: int8 per block of 16, |Δx| ≤ 0.504·max_b|x| / 127; the kept
// activations gathered, not the weights spread; …_rows4 for weights held in rows4), each token
// bit-identical to its decode alone.
// In the relaxed-SIMD build every nvfp4 product (decode and prefill) takes nvfp4_matmul_i8 instead
// (int8 per block of 16, relaxed dot, fp4_i8_relaxed.ts: |Δx| ≤ 0.504·max_b|x| / 127), whose
// output for each token is bit-identical to that token decoded alone, so a speculative
// verification pass (T > 1) gives exactly the logits of T = 1 decoding. nvfp4 weights resident in
// the rows4 layout (tensors.ts, fp4_rows4.ts) take the …_rows4 forms of the same kernels (the same
// outputs bit for bit). With kernel threads (threads.ts) a product's rows are split over the
// threads in parts of whole groups of 4 rows: each output is the same as without threads.

import { OpArgumentError } from '../../engine/core/errors.js';
import { decodeNvfp4Row, decodeNvfp4S24Row } from '../../engine/formats/nvfp4.js';
import { isGgmlBlock } from '../../engine/formats/ggml-blocks.js';
import { ggmlLinearRow, ggmlRowsCall, ggmlScratchBytes } from './ggml-linear.js';
import { newAct, type WasmAct, type WasmContext } from './act.js';
import type { WasmLinear } from './tensors.js';
import { partBounds, threadParts, type KernelPart } from './threads.js';

/** Bytes of one group of 4 rows of a rows4 weight (fp4_rows4.ts, nvfp4s24_gather.ts: 72 or 56 bytes per pair of blocks). */
function rows4GroupBytes(w: WasmLinear): number {
  return (w.cols / 32) * (w.format === 'nvfp4' ? 72 : 56);
}

/** Bytes of int8 / int16 x scratch the kernel of `w` needs for T tokens (0: none). */
function scratchBytes(ctx: WasmContext, w: WasmLinear, T: number): number {
  const k = ctx.kernels;
  if (w.format === 'f32' || w.format === 'bf16') return 0;
  if (isGgmlBlock(w.format)) return ggmlScratchBytes(w);
  if (w.format === 'nvfp4-s24') return T * k.gather_scratch_bytes(w.cols);
  return T * (ctx.relaxed ? k.i8_scratch_bytes(w.cols) : k.q16_scratch_bytes(w.cols));
}

/** The kernel call for rows [n0, n0 + n) of `w` (n0 a multiple of 4): T tokens of x, outputs (T, n) at y. */
function rowsCall(ctx: WasmContext, w: WasmLinear, x: number, T: number, scratch: number, y: number, n0: number, n: number): KernelPart {
  const K = w.cols;
  if (isGgmlBlock(w.format)) return ggmlRowsCall(w, x, T, scratch, y, n0, n);
  if (w.format === 'f32') return { kernel: 'f32_matmul', args: [x, w.ptr + n0 * K * 4, y, T, K, n] };
  if (w.format === 'bf16') return { kernel: 'bf16_matmul', args: [x, w.ptr + n0 * K * 2, y, T, K, n] };
  const s24 = w.format === 'nvfp4-s24';
  if (w.layout === 'rows4') {
    const kernel = s24 ? 'nvfp4s24_matmul_gather_rows4' : ctx.relaxed ? 'nvfp4_matmul_i8_rows4' : 'nvfp4_matmul_q16_rows4';
    return { kernel, args: [x, scratch, w.ptr + (n0 / 4) * rows4GroupBytes(w), w.scale2, y, T, K, n] };
  }
  const scales = w.scales + (n0 * K) / 16;
  if (s24) return { kernel: 'nvfp4s24_matmul_gather', args: [x, scratch, w.ptr + (n0 * K) / 4, w.positions + (n0 * K) / 8, scales, w.scale2, y, T, K, n] };
  return { kernel: ctx.relaxed ? 'nvfp4_matmul_i8' : 'nvfp4_matmul_q16', args: [x, scratch, w.ptr + (n0 * K) / 2, scales, w.scale2, y, T, K, n] };
}

/**
 * The one kernel call of X · Wᵀ for the linear weight `name` over all its rows, unsplit: T tokens
 * at x (T, in) into y (T, out), with `scratch` of wholeProductScratch bytes (a thread's job
 * program, as moe.ts runs whole experts in parallel; the same outputs as `linear`).
 * @example const call = wholeProduct(ctx, `${pre}up_proj.weight`, x.ptr, 1, scratch, h);
 */
export function wholeProduct(ctx: WasmContext, name: string, x: number, T: number, scratch: number, y: number): KernelPart {
  const w = ctx.tensors.linear(name);
  return rowsCall(ctx, w, x, T, scratch, y, 0, w.rows);
}

/** Scratch bytes wholeProduct needs for `name` and T tokens. */
export function wholeProductScratch(ctx: WasmContext, name: string, T: number): number {
  return scratchBytes(ctx, ctx.tensors.linear(name), T);
}

/**
 * X · Wᵀ for the linear weight `name`: (T, in) → (T, out). With kernel threads (threads.ts) and
 * enough work, the rows go out in parts of whole groups of 4 rows, one per thread; every output
 * is the same as without threads.
 * @example const q = linear(ctx, u, 'backbone.layers.5.mixer.q_proj.weight');
 */
export function linear(ctx: WasmContext, x: WasmAct, name: string): WasmAct {
  const w = ctx.tensors.linear(name);
  if (x.cols !== w.cols) throw new OpArgumentError('matmul', `(${x.rows}, ${x.cols}) · ${name}ᵀ needs ${w.cols} columns`);
  const y = newAct(ctx, x.rows, w.rows); // (T, out)
  const [T, K, N] = [x.rows, w.cols, w.rows];
  const { heap, threads } = ctx;
  const parts = threadParts(threads, T * K * N, Math.floor(N / 16));
  const scratchEach = scratchBytes(ctx, w, T); // the int8 / int16 x of every token, one per part
  const scratch = scratchEach ? heap.alloc(scratchEach * Math.max(parts, 1)) : 0;
  if (parts <= 1) {
    const { kernel, args } = rowsCall(ctx, w, x.ptr, T, scratch, y.ptr, 0, N);
    (ctx.kernels[kernel] as (...a: number[]) => void)(...args);
  } else {
    // part p: rows [at[p], at[p + 1]) (multiples of 4 but the last); with T > 1 into its own (T, n) block, then copied into y's columns
    const at = partBounds(Math.floor(N / 4), parts).map((g, p) => (p === parts ? N : 4 * g));
    const outs = at.slice(0, parts).map((n0, p) => (T === 1 ? y.ptr + n0 * 4 : heap.alloc(T * (at[p + 1] - n0) * 4)));
    const calls = outs.map((out, p) => rowsCall(ctx, w, x.ptr, T, scratch + p * scratchEach, out, at[p], at[p + 1] - at[p]));
    threads!.runAll(calls, ctx.kernels);
    if (T > 1) {
      outs.forEach((out, p) => {
        const n = at[p + 1] - at[p];
        for (let t = 0; t < T; t++) heap.copy(y.row(t) + at[p] * 4, out + t * n * 4, n * 4);
        heap.free(out);
      });
    }
  }
  if (scratch) heap.free(scratch);
  return y;
}

/**
 * Row r of W (cols) into f32 at dst: copied (f32), widened (bf16) or decoded exactly (4-bit,
 * engine/formats/nvfp4.ts, then rounded once to f32).
 * @example linearRow(ctx, ctx.tensors.linear('backbone.embeddings.weight'), token, x.row(t));
 */
export function linearRow(ctx: WasmContext, w: WasmLinear, r: number, dst: number): void {
  const { heap } = ctx;
  const n = w.cols;
  if (w.format === 'f32') return heap.copy(dst, w.ptr + r * n * 4, n * 4);
  if (w.format === 'bf16') return ctx.kernels.bf16_to_f32(w.ptr + r * n * 2, dst, n);
  if (isGgmlBlock(w.format)) return ggmlLinearRow(ctx, w, r, dst);
  const row = new Float64Array(n);
  const scales = heap.u8(w.scales + r * (n / 16), n / 16);
  if (w.format === 'nvfp4') decodeNvfp4Row(heap.u8(w.ptr + r * (n / 2), n / 2), scales, w.scale2, 0, n, row);
  else decodeNvfp4S24Row(heap.u8(w.ptr + r * (n / 4), n / 4), heap.u8(w.positions + r * (n / 8), n / 8), scales, w.scale2, 0, n, row);
  heap.f32(dst, n).set(row);
}
