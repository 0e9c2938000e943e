// Y(T, N) = X(T, K) · W(N, K)ᵀ for a linear weight in WASM memory: picks the kernel by the
// weight's format (f32_matmul, bf16_matmul, or the fused 4-bit int16-activation nvfp4_matmul_q16;
// all take the matvec path when T = 1), and row gathers (the embedding) for every format. The
// nvfp4 kernels round x to int16 per block of 16 (fp4_q16_matvec.ts: |Δx| ≤ 0.504·max_b|x| / 32767,
// the tolerance of the nvfp4 rows in tests/conformance/ops-rows.ts); they are several times faster
// than the f32-FMA ones (nvfp4_matmul.ts, bench). nvfp4-s24 weights take nvfp4s24_matmul_gather in
// every build (fp4s24_gather.ts: int8 per block of 16, |Δx| ≤ 0.504·max_b|x| / 127; the kept
// activations gathered, not the weights spread; …_rows4 for weights held in rows4), each token
// bit-identical to its decode alone.
// In the relaxed-SIMD build every nvfp4 product (decode and prefill) takes nvfp4_matmul_i8 instead
// (int8 per block of 16, relaxed dot, fp4_i8_relaxed.ts: |Δx| ≤ 0.504·max_b|x| / 127), whose
// output for each token is bit-identical to that token decoded alone, so a speculative
// verification pass (T > 1) gives exactly the logits of T = 1 decoding. nvfp4 weights resident in
// the rows4 layout (tensors.ts, fp4_rows4.ts) take the …_rows4 forms of the same kernels (the same
// outputs bit for bit).

import { OpArgumentError } from '../../engine/errors.js';
import { decodeNvfp4Row, decodeNvfp4S24Row } from '../../engine/nvfp4.js';
import { newAct, type WasmAct, type WasmContext } from './act.js';
import type { WasmLinear } from './tensors.js';

/**
 * X · Wᵀ for the linear weight `name`: (T, in) → (T, out).
 * @example const q = linear(ctx, u, 'backbone.layers.5.mixer.q_proj.weight');
 */
export function linear(ctx: WasmContext, x: WasmAct, name: string): WasmAct {
  const w = ctx.tensors.linear(name);
  if (x.cols !== w.cols) throw new OpArgumentError('matmul', `(${x.rows}, ${x.cols}) · ${name}ᵀ needs ${w.cols} columns`);
  const y = newAct(ctx, x.rows, w.rows); // (T, out)
  const k = ctx.kernels;
  const [T, K, N] = [x.rows, w.cols, w.rows];
  if (w.format === 'f32') k.f32_matmul(x.ptr, w.ptr, y.ptr, T, K, N);
  else if (w.format === 'bf16') k.bf16_matmul(x.ptr, w.ptr, y.ptr, T, K, N);
  else if (w.format === 'nvfp4-s24') {
    const scratch = ctx.heap.alloc(T * k.gather_scratch_bytes(K)); // the int8 x of every token
    if (w.layout === 'rows4') k.nvfp4s24_matmul_gather_rows4(x.ptr, scratch, w.ptr, w.scale2, y.ptr, T, K, N);
    else k.nvfp4s24_matmul_gather(x.ptr, scratch, w.ptr, w.positions, w.scales, w.scale2, y.ptr, T, K, N);
    ctx.heap.free(scratch);
  } else if (w.format === 'nvfp4' && k.relaxed_simd()) {
    const scratch = ctx.heap.alloc(T * k.i8_scratch_bytes(K)); // the int8 x of every token
    if (w.layout === 'rows4') k.nvfp4_matmul_i8_rows4(x.ptr, scratch, w.ptr, w.scale2, y.ptr, T, K, N);
    else k.nvfp4_matmul_i8(x.ptr, scratch, w.ptr, w.scales, w.scale2, y.ptr, T, K, N);
    ctx.heap.free(scratch);
  } else {
    const scratch = ctx.heap.alloc(T * k.q16_scratch_bytes(K)); // the int16 x
    if (w.layout === 'rows4') k.nvfp4_matmul_q16_rows4(x.ptr, scratch, w.ptr, w.scale2, y.ptr, T, K, N);
    else k.nvfp4_matmul_q16(x.ptr, scratch, w.ptr, w.scales, w.scale2, y.ptr, T, K, N);
    ctx.heap.free(scratch);
  }
  return y;
}

/**
 * Row r of W (cols) into f32 at dst: copied (f32), widened (bf16) or decoded exactly (4-bit,
 * engine/nvfp4.ts, then rounded once to f32).
 * @example linearRow(ctx, ctx.tensors.linear('backbone.embeddings.weight'), token, x.row(t));
 */
export function linearRow(ctx: WasmContext, w: WasmLinear, r: number, dst: number): void {
  const { heap } = ctx;
  const n = w.cols;
  if (w.format === 'f32') return heap.copy(dst, w.ptr + r * n * 4, n * 4);
  if (w.format === 'bf16') return ctx.kernels.bf16_to_f32(w.ptr + r * n * 2, dst, n);
  const row = new Float64Array(n);
  const scales = heap.u8(w.scales + r * (n / 16), n / 16);
  if (w.format === 'nvfp4') decodeNvfp4Row(heap.u8(w.ptr + r * (n / 2), n / 2), scales, w.scale2, 0, n, row);
  else decodeNvfp4S24Row(heap.u8(w.ptr + r * (n / 4), n / 4), heap.u8(w.positions + r * (n / 8), n / 8), scales, w.scale2, 0, n, row);
  heap.f32(dst, n).set(row);
}
