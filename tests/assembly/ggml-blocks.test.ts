// assembly/kernels/ggml_blocks.ts: Y = X · Wᵀ with W in ggml blocks (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
// Q4_K, Q5_K, Q6_K),
// both builds, SIMD and scalar twins, against the f64 dot product with the weights that the
// JS dequantisers give (engine/formats/ggml-types.ts, kquants.ts, legacy-quants.ts: checked by hand against the
// ggml block definitions), within the f32 bound of the kernel header: (K/4 + 4)·u·Σ|x·w| (SIMD),
// (K + 1)·u·Σ|x·w| (scalar). Blocks are random bytes (every code pattern) with sane f16 scales,
// and quantiser output; shapes run 1 to 3 blocks per row, T = 1 and 3, and real Nano sizes
// (K = 2688 = d_model for the 32-value blocks, K = 4096 = d_inner for the 256-value ones). Each
// token's output is bit-identical to that token run alone (T = 1).

import { beforeAll, describe, expect, test } from 'vitest';
import { loadKernels, type WasmKernels } from '../../assembly/backend/index.js';
import { GGML_KERNELS } from '../../assembly/backend/ggml-linear.js';
import type { KernelExports } from '../../assembly/backend/instantiate.js';
import { f32ToF16Bits } from '../../engine/formats/dtype.js';
import { GGML_BLOCKS, type GgmlBlockDType } from '../../engine/formats/ggml-blocks.js';
import { mulberry32 } from '../helpers/memory-store.js';

const U = 2 ** -24;
/** Byte offsets of each block type's f16 scales (d, and dmin for Q4_K / Q5_K). */
const HALVES: Record<GgmlBlockDType, number[]> = { q8_0: [0], q4_0: [0], q4_k: [0, 2], q5_k: [0, 2], q6_k: [208], q4_1: [0, 2], q5_0: [0], q5_1: [0, 2] };

function randoms(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * r() - 1);
}

/** N rows of K values as blocks: random bytes with f16 scales in [2^-10, 2^-5], or the quantiser's blocks of random values. */
function blocks(dtype: GgmlBlockDType, N: number, K: number, seed: number, random: boolean): Uint8Array {
  const t = GGML_BLOCKS[dtype];
  const nBlocks = (N * K) / t.blockValues;
  const out = new Uint8Array(nBlocks * t.blockBytes);
  if (!random) {
    t.quant(randoms(N * K, seed), out, N * K);
    return out;
  }
  const r = mulberry32(seed);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
  for (let b = 0; b < nBlocks; b++) {
    for (const at of HALVES[dtype]) {
      const h = f32ToF16Bits(2 ** (-10 + 5 * r()));
      out[b * t.blockBytes + at] = h & 0xff;
      out[b * t.blockBytes + at + 1] = h >>> 8;
    }
  }
  return out;
}

const KERNEL = GGML_KERNELS;

describe.each([
  ['simd', true],
  ['scalar', false],
])('ggml block kernels, %s build', (_name, simd) => {
  let kr: WasmKernels;
  beforeAll(async () => {
    kr = await loadKernels({ simd });
  });

  const run = (dtype: GgmlBlockDType, T: number, K: number, N: number, seed: number, random: boolean) => {
    const w = blocks(dtype, N, K, seed, random);
    const x = randoms(T * K, seed + 1);
    const values = new Float32Array(N * K);
    GGML_BLOCKS[dtype].dequant(w, values, N * K);
    const { heap } = kr;
    const [px, pw, py, ps] = [heap.alloc(x.byteLength), heap.alloc(w.byteLength), heap.alloc(T * N * 4), heap.alloc(K * 4)];
    heap.f32(px, x.length).set(x);
    heap.u8(pw, w.length).set(w);
    for (const scalar of [false, true]) {
      const name = (scalar ? `${KERNEL[dtype]}_scalar` : KERNEL[dtype]) as keyof KernelExports;
      (kr.exports[name] as (...a: number[]) => void)(px, ps, pw, py, T, K, N);
      const y = heap.f32(py, T * N).slice();
      // each token alone (T = 1) gives the same bits as in the batch
      for (let t = 0; t < T; t++) {
        const y1 = heap.alloc(N * 4);
        (kr.exports[name] as (...a: number[]) => void)(px + t * K * 4, ps, pw, y1, 1, K, N);
        expect([...heap.f32(y1, N)]).toEqual([...y.subarray(t * N, (t + 1) * N)]);
        heap.free(y1);
      }
      const slack = scalar || !simd ? K + 1 : K / 4 + 4;
      for (let t = 0; t < T; t++) {
        for (let n = 0; n < N; n++) {
          let ref = 0;
          let abs = 0;
          for (let k = 0; k < K; k++) {
            ref += x[t * K + k] * values[n * K + k];
            abs += Math.abs(x[t * K + k] * values[n * K + k]);
          }
          expect(Math.abs(y[t * N + n] - ref), `${dtype} ${scalar ? 'scalar' : 'dispatch'} t=${t} n=${n}`).toBeLessThanOrEqual(slack * U * abs + 1e-30);
        }
      }
    }
    heap.free(px);
    heap.free(pw);
    heap.free(py);
    heap.free(ps);
  };

  for (const dtype of Object.keys(KERNEL) as GgmlBlockDType[]) {
    const bv = GGML_BLOCKS[dtype].blockValues;
    test(`${dtype}: 1 to 3 blocks per row, T = 1 and 3, random code bytes and quantiser blocks`, () => {
      for (const blocksPerRow of [1, 2, 3]) {
        for (const T of [1, 3]) {
          run(dtype, T, blocksPerRow * bv, 5, 100 * blocksPerRow + T, true);
          run(dtype, T, blocksPerRow * bv, 5, 200 * blocksPerRow + T, false);
        }
      }
    });
    test(`${dtype}: a real Nano row length (K = ${bv === 32 ? 2688 : 4096}), 3 rows`, () => {
      run(dtype, 2, bv === 32 ? 2688 : 4096, 3, 7, true);
    });
  }
});
