// Linear layer, the one primitive under every projection: Y = X · Wᵀ.
//   Y[t, o] = Σ_i X[t, i] · W[o, i]      X (T, in), W (out, in), Y (T, out)
// W is raw f32/f16/bf16, ggml blocks (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K as a GGUF stores them, decoded as
// ggml does: engine/formats/ggml-blocks.ts), or nvfp4 / nvfp4-s24 (spec §14.1: W = E2M1 · E4M3(block
// scale) · weight_scale_2, the pruned elements of s24 are 0). Each weight row is decoded exactly to f64
// (engine/formats/dtype.ts, engine/formats/nvfp4.ts) once per call, then dotted with every row of X in f64.
// Error budget: f64 rounding only, ≲ in · 2^−53 · Σ|X·W| relative; the oracle for all backends,
// the fused 4-bit kernels included.

import { decodeInto } from '../formats/dtype.js';
import { decodeBlocksInto, isGgmlBlock } from '../formats/ggml-blocks.js';
import { decodeNvfp4Row, decodeNvfp4S24Row } from '../formats/nvfp4.js';
import { RefAct } from './act.js';
import type { LinearTap, RawTensor } from './tensors.js';

/**
 * Decode row o of a linear weight in any format into dst (cols), exactly.
 * @example decodeWeightRow(cache.linear('backbone.embeddings.weight'), token, row);
 */
export function decodeWeightRow(w: RawTensor, o: number, dst: Float64Array, dstOffset = 0): void {
  const out = dstOffset === 0 ? dst : dst.subarray(dstOffset, dstOffset + w.cols);
  if (isGgmlBlock(w.dtype)) decodeBlocksInto(w.dtype, w.bytes, o * w.cols, w.cols, out);
  else if (!w.quant) decodeInto(w.dtype, w.bytes, o * w.cols, w.cols, out, 0, w.name);
  else if (w.quant.format === 'nvfp4') decodeNvfp4Row(w.bytes, w.quant.scale, w.quant.scale2, o, w.cols, out);
  else decodeNvfp4S24Row(w.bytes, w.quant.positions!, w.quant.scale, w.quant.scale2, o, w.cols, out);
}

/**
 * Y = X · Wᵀ with f64 accumulation: (T, in) → (T, out). `tap`, when given, sees the input first.
 * @example const logits = matmul(h, cache.linear('lm_head.weight')); // (T, d) → (T, V)
 */
export function matmul(x: RefAct, w: RawTensor, tap: LinearTap | null = null): RefAct {
  tap?.(w.name, x);
  const { rows: nOut, cols: nIn } = w;
  const T = x.rows;
  const y = RefAct.zeros(T, nOut); // (T, out)
  const wRow = new Float64Array(nIn); // (in)
  for (let o = 0; o < nOut; o++) {
    decodeWeightRow(w, o, wRow);
    for (let t = 0; t < T; t++) {
      const xOff = t * nIn;
      let acc = 0;
      for (let i = 0; i < nIn; i++) acc += x.data[xOff + i] * wRow[i];
      y.data[t * nOut + o] = acc;
    }
  }
  return y;
}
