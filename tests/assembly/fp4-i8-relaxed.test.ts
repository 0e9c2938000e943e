// The int8-activation nvfp4 linear (assembly/kernels/fp4_i8_relaxed.ts), decode (T = 1) first: the relaxed-SIMD build
// (relaxed dot, Node 20 with --experimental-wasm-relaxed-simd turned on here) and the scalar twin
// (both exports of the SIMD build) against the reference matmul, each output within the stated
// bound Σ_b (0.504·max_b|x| / 127)·Σ_{k∈b}|w_k| + (K/16 + 24)·u·Σ_k|x_k w_k|, on every row tail,
// block count (odd ones: the lone-block step) and the Nano K; the relaxed build agrees with the
// twin (the same integers, f32 sums in another order); the bound is not vacuous: the int16 path's
// bound is exceeded, and a kernel that forgot the weight-offset correction exceeds it; and the build
// selection: the relaxed build says so (relaxed_simd), the others do not. The prefill
// (T > 1): every token's row bit-identical to the decode of that token alone (what
// speculative verification needs), on every row tail, token tail, odd block count and the Nano K,
// in the relaxed build and the scalar twin.

import { beforeAll, describe, expect, test } from 'vitest';
import { instantiateKernels, type WasmKernels } from '../../assembly/backend/instantiate.js';
import { enableRelaxedSimd, readKernelBuild } from '../../assembly/backend/node-wasm.js';
import { e4m3ToNumber } from '../../engine/formats/nvfp4.js';
import { RefAct } from '../../engine/reference/act.js';
import { matmul } from '../../engine/reference/matmul.js';
import type { RawTensor } from '../../engine/reference/tensors.js';
import { bounds, heapPut, randomWeight, randomX, roundingBounds } from './fp4-fixtures.js';

const STEP_I8 = 0.504 / 127;
const SHAPES: [number, number][] = [[2688, 7], [1856, 6], [4096, 4], [48, 12]];
for (let K = 16; K <= 80; K += 16) for (let N = 1; N <= 9; N++) SHAPES.push([K, N]);

let relaxed: WasmKernels;
let simd: WasmKernels;
beforeAll(async () => {
  expect(enableRelaxedSimd()).toBe(true);
  relaxed = await instantiateKernels(await readKernelBuild('relaxed'), true);
  simd = await instantiateKernels(await readKernelBuild('simd'), true);
});

type Stem = 'nvfp4_matmul_i8' | 'nvfp4_matmul_i8_scalar';

/** y of stem on kr for weight w and x (T, K). */
function run(kr: WasmKernels, stem: Stem, w: RawTensor, x: Float64Array, T = 1): Float32Array {
  const [N, K] = [w.rows, w.cols];
  const put = (a: Uint8Array | Float32Array) => heapPut(kr.heap, a);
  const e = kr.exports;
  const [c, s, xp, y, sc] = [put(w.bytes), put(w.quant!.scale), put(Float32Array.from(x)), kr.heap.alloc(T * N * 4), kr.heap.alloc(T * e.i8_scratch_bytes(K))];
  kr.heap.f32(y, T * N).fill(NaN);
  e[stem](xp, sc, c, s, w.quant!.scale2, y, T, K, N);
  const got = kr.heap.f32(y, T * N).slice();
  for (const p of [c, s, xp, y, sc]) kr.heap.free(p);
  return got;
}

function expectWithin(got: Float32Array, want: Float64Array, bound: Float64Array, what: string): void {
  for (let n = 0; n < want.length; n++) {
    const err = Math.abs(got[n] - want[n]);
    if (!(err <= bound[n])) expect.fail(`${what} output ${n}: ${got[n]} vs ${want[n]} (bound ${bound[n]})`);
  }
}

describe.each([
  ['relaxed build, nvfp4_matmul_i8 T = 1', () => relaxed, 'nvfp4_matmul_i8'],
  ['SIMD build, nvfp4_matmul_i8 T = 1 (the twin there)', () => simd, 'nvfp4_matmul_i8'],
  ['SIMD build, nvfp4_matmul_i8_scalar T = 1', () => simd, 'nvfp4_matmul_i8_scalar'],
] as const)('%s', (_name, kernels, stem) => {
  test('within the int8 activation-rounding bound on every row tail, K tail and Nano K', () => {
    for (const [K, N] of SHAPES) {
      const w = randomWeight('nvfp4', N, K, 5 * K + N);
      const x = randomX(1, K, K + 11);
      expectWithin(run(kernels(), stem, w, x), matmul(new RefAct(x, 1, K), w).data, roundingBounds(w, x, STEP_I8), `K=${K} N=${N}`);
    }
  });
});

test('the relaxed kernel equals the scalar twin up to f32 summation order', () => {
  for (const [K, N] of SHAPES) {
    const w = randomWeight('nvfp4', N, K, 7 * K + N);
    const x = randomX(1, K, K + 3);
    expectWithin(run(relaxed, 'nvfp4_matmul_i8', w, x), Float64Array.from(run(simd, 'nvfp4_matmul_i8_scalar', w, x)), bounds(w, x, 1), `K=${K} N=${N}`);
  }
});

test('the bound is not vacuous: int8 error exceeds the int16 bound, and a kernel without the offset correction exceeds the int8 one', () => {
  const [K, N] = [1856, 8];
  const w = randomWeight('nvfp4', N, K, 42);
  const x = randomX(1, K, 43);
  const want = matmul(new RefAct(x, 1, K), w).data;
  const got = run(relaxed, 'nvfp4_matmul_i8', w, x);
  const q16 = roundingBounds(w, x, 0.504 / 32767);
  expect(want.some((v, n) => Math.abs(got[n] - v) > q16[n])).toBe(true);
  // a kernel that forgot the −12·Σq of the offset weights: y + Σ_b 6·E4M3(s_b)·scale2·Σ_{k∈b} x_k
  const buggy = want.map((v, n) => {
    let extra = 0;
    for (let b = 0; b < K / 16; b++) {
      let sum = 0;
      for (let k = 16 * b; k < 16 * b + 16; k++) sum += x[k];
      extra += 6 * e4m3ToNumber(w.quant!.scale[n * (K / 16) + b]) * w.quant!.scale2 * sum;
    }
    return v + extra;
  });
  const i8 = roundingBounds(w, x, STEP_I8);
  expect(want.some((v, n) => Math.abs(buggy[n] - v) > i8[n])).toBe(true);
});

test('build selection: only the relaxed build reports relaxed SIMD', async () => {
  expect(relaxed.relaxed).toBe(true);
  expect(simd.relaxed).toBe(false);
  const scalar = await instantiateKernels(await readKernelBuild('scalar'), false);
  expect(scalar.relaxed).toBe(false);
});

describe.each([
  ['relaxed build', () => relaxed, 'nvfp4_matmul_i8'],
  ['scalar twin', () => simd, 'nvfp4_matmul_i8_scalar'],
] as const)('nvfp4_matmul_i8 prefill (%s)', (_name, kernels, stem) => {
  // K = 2688, 1856 (Nano), 48 and 80 (K/16 odd: the lone block), 64; N with every tail mod 4
  const CASES: [number, number, number][] = [[2688, 6, 5], [1856, 9, 9], [48, 7, 8], [80, 5, 3], [64, 13, 4], [16, 4, 2]];
  for (let T = 1; T <= 9; T++) CASES.push([96 + 32 * (T & 1) + 16 * ((T >> 1) & 1), T + 2, T]);

  test.each(CASES)('K=%i N=%i T=%i: every token bit-identical to the decode (T = 1) of that token alone', (K, N, T) => {
    const w = randomWeight('nvfp4', N, K, 3 * K + N + T);
    const x = randomX(T, K, K + 5 * T);
    const got = run(kernels(), stem, w, x, T);
    for (let t = 0; t < T; t++) {
      const alone = run(kernels(), stem, w, x.subarray(t * K, (t + 1) * K));
      const row = got.subarray(t * N, (t + 1) * N);
      expect(new Uint32Array(row.buffer, row.byteOffset, N)).toEqual(new Uint32Array(alone.buffer));
    }
  });

  test('within the int8 activation-rounding bound of the reference matmul for every token', () => {
    const [K, N, T] = [1856, 10, 7];
    const w = randomWeight('nvfp4', N, K, 77);
    const x = randomX(T, K, 78);
    expectWithin(run(kernels(), stem, w, x, T), matmul(new RefAct(x, T, K), w).data, roundingBounds(w, x, STEP_I8, T), `K=${K} N=${N} T=${T}`);
  });
});
