// spec §13: the ggml block types a linear weight may keep resident, as GGUF stores them
// (engine/formats/ggml-types.ts: Q8_0, Q4_0; kquants.ts: Q4_K, Q5_K, Q6_K; legacy-quants.ts: Q4_1,
// Q5_0, Q5_1). Each is
// an engine dtype (engine/core/weights.ts) whose bytes are the blocks of a row-major [out, in]
// matrix, in ≥ 1 whole blocks per row; a value decodes to exactly what ggml's `dequantize_row_*`
// gives. Bytes per value: Q8_0 34/32, Q4_0 18/32, Q4_K 144/256, Q5_K 176/256, Q6_K 210/256, Q4_1 20/32,
// Q5_0 22/32, Q5_1 24/32.

import { GGML_BLOCK_DTYPES, type DType, type GgmlBlockDType } from '../core/weights.js';
import { GGML_TYPE, dequantQ4_0, dequantQ8_0, quantQ4_0, quantQ8_0 } from './ggml-types.js';
import { dequantQ4_1, dequantQ5_0, dequantQ5_1, quantQ4_1, quantQ5_0, quantQ5_1 } from './legacy-quants.js';
import { dequantQ4_K, dequantQ5_K, dequantQ6_K, quantQ4_K, quantQ5_K, quantQ6_K } from './kquants.js';

export { GGML_BLOCK_DTYPES, type GgmlBlockDType };

/** One block dtype: ggml type id, values and bytes per block, its exact decoder and a quantiser. */
export interface GgmlBlockType {
  readonly dtype: GgmlBlockDType;
  readonly ggmlType: number;
  readonly blockValues: number;
  readonly blockBytes: number;
  /** Decode `nValues` values (whole blocks) of `src` into `dst` (f32, exact). */
  readonly dequant: (src: Uint8Array, dst: Float32Array, nValues: number) => void;
  /** Quantise `nValues` values (whole blocks) of `x` into `dst`. */
  readonly quant: (x: Float32Array, dst: Uint8Array, nValues: number) => void;
}

/** Every block dtype by name. */
export const GGML_BLOCKS: Readonly<Record<GgmlBlockDType, GgmlBlockType>> = {
  q8_0: { dtype: 'q8_0', ggmlType: GGML_TYPE.Q8_0, blockValues: 32, blockBytes: 34, dequant: dequantQ8_0, quant: quantQ8_0 },
  q4_0: { dtype: 'q4_0', ggmlType: GGML_TYPE.Q4_0, blockValues: 32, blockBytes: 18, dequant: dequantQ4_0, quant: quantQ4_0 },
  q4_k: { dtype: 'q4_k', ggmlType: GGML_TYPE.Q4_K, blockValues: 256, blockBytes: 144, dequant: dequantQ4_K, quant: quantQ4_K },
  q5_k: { dtype: 'q5_k', ggmlType: GGML_TYPE.Q5_K, blockValues: 256, blockBytes: 176, dequant: dequantQ5_K, quant: quantQ5_K },
  q6_k: { dtype: 'q6_k', ggmlType: GGML_TYPE.Q6_K, blockValues: 256, blockBytes: 210, dequant: dequantQ6_K, quant: quantQ6_K },
  q4_1: { dtype: 'q4_1', ggmlType: GGML_TYPE.Q4_1, blockValues: 32, blockBytes: 20, dequant: dequantQ4_1, quant: quantQ4_1 },
  q5_0: { dtype: 'q5_0', ggmlType: GGML_TYPE.Q5_0, blockValues: 32, blockBytes: 22, dequant: dequantQ5_0, quant: quantQ5_0 },
  q5_1: { dtype: 'q5_1', ggmlType: GGML_TYPE.Q5_1, blockValues: 32, blockBytes: 24, dequant: dequantQ5_1, quant: quantQ5_1 },
};

/** Whether `dtype` is a ggml block dtype. @example isGgmlBlock('q4_k') // true */
export function isGgmlBlock(dtype: string): dtype is GgmlBlockDType {
  return (GGML_BLOCK_DTYPES as readonly string[]).includes(dtype);
}

/** The block dtype of ggml type id `id`, if it is one. @example ggmlBlockOf(14)?.dtype // 'q6_k' */
export function ggmlBlockOf(id: number): GgmlBlockType | undefined {
  return Object.values(GGML_BLOCKS).find((t) => t.ggmlType === id);
}

let scratch = new Float32Array(0); // decoded blocks, grown on demand

/**
 * Decode values [first, first + count) of block-typed bytes into `dst` at `dstOffset` (f64, each
 * the exact f32 ggml gives). `first` and `count` must be whole blocks (a row, or rows).
 * @example decodeBlocksInto('q4_k', bytes, r * cols, cols, row); // row r of a Q4_K [rows, cols] matrix
 */
export function decodeBlocksInto(dtype: DType, bytes: Uint8Array, first: number, count: number, dst: Float64Array, dstOffset = 0): void {
  const t = GGML_BLOCKS[dtype as GgmlBlockDType];
  if (first % t.blockValues !== 0 || count % t.blockValues !== 0) throw new RangeError(`${dtype}: values [${first}, ${first + count}) are not whole ${t.blockValues}-value blocks`);
  if (scratch.length < count) scratch = new Float32Array(count);
  const at = (first / t.blockValues) * t.blockBytes;
  t.dequant(bytes.subarray(at, at + (count / t.blockValues) * t.blockBytes), scratch, count);
  for (let i = 0; i < count; i++) dst[dstOffset + i] = scratch[i];
}
