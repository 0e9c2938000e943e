import { describe, expect, it } from 'vitest';
import { f32ToBf16Bits, f32ToF16Bits } from '../../../engine/dtype.js';
import { RefAct } from '../../../engine/reference/act.js';
import { matmul } from '../../../engine/reference/matmul.js';
import type { RawTensor } from '../../../engine/reference/tensors.js';

const W = [1, -2, 0.5, 3, 0.25, -1]; // (out 2, in 3), exact in f32, f16 and bf16
const X = [1, 2, 3, -1, 0.5, 4]; // (T 2, in 3)
// Y[t][o] = Σ_i X[t][i] W[o][i]
const WANT = [1 - 4 + 1.5, 3 + 0.5 - 3, -1 - 1 + 2, -3 + 0.125 - 4];

function raw(dtype: 'f32' | 'f16' | 'bf16', values: number[]): RawTensor {
  const data = dtype === 'f32' ? Float32Array.from(values) : Uint16Array.from(values, dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits);
  return { name: `w.${dtype}`, dtype, rows: 2, cols: 3, bytes: new Uint8Array(data.buffer) };
}

describe('matmul Y = X · Wᵀ', () => {
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    it(`multiplies by a ${dtype} weight [out, in]`, () => {
      const y = matmul(new RefAct(Float64Array.from(X), 2, 3), raw(dtype, W));
      expect(y.rows).toBe(2);
      expect(y.cols).toBe(2);
      expect([...y.data]).toEqual(WANT);
    });
  }

  it('accumulates in f64 (a sum f32 would lose)', () => {
    // 1 + 2^−30 − 1: f32 accumulation gives 0, f64 keeps 2^−30
    const w: RawTensor = { name: 'w', dtype: 'f32', rows: 1, cols: 3, bytes: new Uint8Array(Float32Array.from([1, 2 ** -30, -1]).buffer) };
    expect(matmul(new RefAct(Float64Array.from([1, 1, 1]), 1, 3), w).data[0]).toBe(2 ** -30);
  });
});
