import { describe, expect, it } from 'vitest';
import { f32ToBf16Bits, f32ToF16Bits } from '../../../engine/formats/dtype.js';
import { RefAct } from '../../../engine/reference/act.js';
import { matmul } from '../../../engine/reference/matmul.js';
import type { RawTensor } from '../../../engine/reference/tensors.js';
import { mulberry32 } from '../../helpers/memory-store.js';

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

describe('matmul on nvfp4 and nvfp4-s24 weights (spec §14.1)', () => {
  // independent decode: E2M1 table by hand, E4M3 as an integer significand times 2^k
  const E2M1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
  const e4m3 = (b: number) => {
    const e = (b >> 3) & 15;
    const m = b & 7;
    return (b & 0x80 ? -1 : 1) * (e === 0 ? m * 2 ** -9 : (8 + m) * 2 ** (e - 10));
  };
  const rand = mulberry32(4);
  const byte = () => Math.floor(rand() * 256);
  const scaleByte = () => Math.floor(rand() * 0x7e) | (rand() < 0.3 ? 0x80 : 0); // never NaN
  const rows = 5;
  const cols = 48;
  const T = 3;
  const x = new RefAct(Float64Array.from({ length: T * cols }, () => rand() * 2 - 1), T, cols);
  const scale2 = Math.fround(0.0371);
  const scale = Uint8Array.from({ length: (rows * cols) / 16 }, scaleByte);
  const f64 = (values: Float64Array): RawTensor => ({ name: 'dense', dtype: 'f64', rows, cols, bytes: new Uint8Array(values.buffer) });

  it('nvfp4: equals the f64 matmul of the hand-decoded matrix, exactly', () => {
    const codes = Uint8Array.from({ length: (rows * cols) / 2 }, byte);
    const dense = new Float64Array(rows * cols);
    for (let n = 0; n < rows; n++) {
      for (let k = 0; k < cols; k++) {
        const b = codes[(n * cols + k) >> 1];
        dense[n * cols + k] = E2M1[k % 2 ? b >> 4 : b & 15] * e4m3(scale[n * (cols / 16) + Math.floor(k / 16)]) * scale2;
      }
    }
    const w: RawTensor = { name: 'w', dtype: 'u8', rows, cols, bytes: codes, quant: { format: 'nvfp4', scale, scale2 } };
    expect([...matmul(x, w).data]).toEqual([...matmul(x, f64(dense)).data]);
  });

  it('nvfp4-s24: equals the f64 matmul of the hand-decoded masked matrix, exactly', () => {
    const pairs = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]];
    const nGroups = (rows * cols) / 4;
    const groupPairs = Array.from({ length: nGroups }, () => pairs[Math.floor(rand() * 6)]);
    const positions = new Uint8Array(nGroups / 2);
    groupPairs.forEach(([a, b], g) => (positions[g >> 1] |= (a | (b << 2)) << (g % 2 ? 4 : 0)));
    const codes = Uint8Array.from({ length: nGroups }, byte);
    const dense = new Float64Array(rows * cols);
    groupPairs.forEach(([a, b], g) => {
      const s = e4m3(scale[Math.floor((4 * g) / 16)]) * scale2;
      dense[4 * g + a] = E2M1[codes[g] & 15] * s;
      dense[4 * g + b] = E2M1[codes[g] >> 4] * s;
    });
    const w: RawTensor = { name: 'w', dtype: 'u8', rows, cols, bytes: codes, quant: { format: 'nvfp4-s24', scale, scale2, positions } };
    expect([...matmul(x, w).data]).toEqual([...matmul(x, f64(dense)).data]);
  });
});
