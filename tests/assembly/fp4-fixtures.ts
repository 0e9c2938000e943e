// Seeded random 4-bit weights and activations for the kernel tests (nvfp4.test.ts,
// fp4-i8-relaxed.test.ts) and the kernels' stated error bounds against the reference matmul.

import type { Heap } from '../../assembly/backend/heap.js';
import { NVFP4_BLOCK } from '../../engine/formats/nvfp4.js';
import { POSITION_CODES } from '../../engine/formats/sparse24.js';
import { decodeWeightRow } from '../../engine/reference/matmul.js';
import type { RawTensor } from '../../engine/reference/tensors.js';
import { mulberry32 } from '../helpers/memory-store.js';

const U = 2 ** -24;
export type Format = 'nvfp4' | 'nvfp4-s24';

/** A random 4-bit weight (N, K) as the reference backend holds it. */
export function randomWeight(format: Format, N: number, K: number, seed: number): RawTensor {
  const r = mulberry32(seed);
  const byte = () => Math.floor(r() * 256);
  const per = format === 'nvfp4' ? 2 : 4;
  const bytes = Uint8Array.from({ length: (N * K) / per }, byte);
  // E4M3 bytes 0x00..0x7e without NaN, either sign: subnormals, 1, up to 448
  const scale = Uint8Array.from({ length: (N * K) / NVFP4_BLOCK }, () => (Math.floor(r() * 0x7f) | (r() < 0.3 ? 0x80 : 0)) & 0xff);
  const code = () => POSITION_CODES[Math.floor(r() * POSITION_CODES.length)];
  const positions = format === 'nvfp4' ? undefined : Uint8Array.from({ length: (N * K) / 8 }, () => code() | (code() << 4));
  return { name: 'w', dtype: 'u8', rows: N, cols: K, bytes, quant: { format, scale, scale2: 0.25 + r(), positions } };
}

export function randomX(T: number, K: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: T * K }, () => Math.fround(r() * 2 - 1));
}

/** The stated bound per output: (K/16 + 24)·u·Σ_k |x_k w_k|. */
export function bounds(w: RawTensor, x: Float64Array, T: number): Float64Array {
  const K = w.cols;
  const out = new Float64Array(T * w.rows);
  const row = new Float64Array(K);
  for (let n = 0; n < w.rows; n++) {
    decodeWeightRow(w, n, row);
    for (let t = 0; t < T; t++) {
      let abs = 0;
      for (let k = 0; k < K; k++) abs += Math.abs(x[t * K + k] * row[k]);
      out[t * w.rows + n] = (K / 16 + 24) * U * abs + 1e-30;
    }
  }
  return out;
}

/** bounds plus c·max_b|x|·Σ_{k∈b}|w_k| per block: the activation rounding of step c·max_b|x|. */
export function roundingBounds(w: RawTensor, x: Float64Array, c: number, T = 1): Float64Array {
  const [N, K] = [w.rows, w.cols];
  const out = bounds(w, x, T);
  const row = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    decodeWeightRow(w, n, row);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < K / 16; b++) {
        let amax = 0;
        let wsum = 0;
        for (let k = 16 * b; k < 16 * b + 16; k++) {
          amax = Math.max(amax, Math.abs(x[t * K + k]));
          wsum += Math.abs(row[k]);
        }
        out[t * N + n] += c * amax * wsum * (1 + 1e-6);
      }
    }
  }
  return out;
}

/** A copy of `a`'s bytes in a fresh block of `heap`; returns its address. */
export function heapPut(heap: Heap, a: Uint8Array | Float32Array): number {
  const p = heap.alloc(a.byteLength);
  heap.u8(p, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return p;
}
