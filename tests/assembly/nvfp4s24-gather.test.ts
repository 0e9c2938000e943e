// The gathered-activation nvfp4-s24 linear (assembly/kernels/nvfp4s24_gather.ts), in the SIMD, the
// relaxed-SIMD (Node 20: the V8 flag turned on here) and the scalar build, and the scalar twin:
// - against the reference matmul within the stated bound
//   Σ_b (0.504·max_b|x| / 127)·Σ_{k∈b}|w_k| + (K/16 + 24)·u·Σ_k|x_k w_k|, on every row tail
//   (N mod 4 = 1..3: the row-stride-0 step), odd and even K/16 (the lone-block step), the Nano
//   expert shapes K = 2688 and K = 1856, and 4096;
// - against the scalar twin (the same integer block dots, f32 sums in another order) within
//   (K/16 + 24)·u·Σ|x w|, and equal to it where K/16 ≤ 2 (the same single f32 sum);
// - the prefill (T > 1) equals, token by token and bit for bit, the decode of that token alone
//   (MTP's greedy verification), in every build;
// - the bound is not vacuous: the int16 bound is exceeded, and so is the int8 one by a kernel that
//   swapped the two kept slots' positions (i0 ↔ i1) in one group;
// - the rows4 layout (nvfp4s24_pack_rows4, as the wasm backend holds s24 weights) gives the same
//   outputs bit for bit, and a negative or NaN scale keeps a weight ModelOpt.
// Illegal position codes never reach the kernel: the wasm loader rejects them (tensors.ts,
// checkPositionCodes; tested in tests/assembly/backend/quantized.test.ts).

import { beforeAll, describe, expect, test } from 'vitest';
import { instantiateKernels, type WasmKernels } from '../../assembly/backend/instantiate.js';
import { enableRelaxedSimd, readKernelBuild } from '../../assembly/backend/node-wasm.js';
import { RefAct } from '../../engine/reference/act.js';
import { matmul } from '../../engine/reference/matmul.js';
import type { RawTensor } from '../../engine/reference/tensors.js';
import { bounds, heapPut, randomWeight, randomX, roundingBounds } from './fp4-fixtures.js';

const STEP_I8 = 0.504 / 127;
const SHAPES: [number, number][] = [[2688, 7], [1856, 6], [4096, 4], [2688, 1], [1856, 3], [48, 12]];
for (let K = 16; K <= 80; K += 16) for (let N = 1; N <= 9; N++) SHAPES.push([K, N]);

const builds: Record<'simd' | 'relaxed' | 'scalar', WasmKernels> = {} as never;
beforeAll(async () => {
  expect(enableRelaxedSimd()).toBe(true);
  builds.simd = await instantiateKernels(await readKernelBuild('simd'), true);
  builds.relaxed = await instantiateKernels(await readKernelBuild('relaxed'), true);
  builds.scalar = await instantiateKernels(await readKernelBuild('scalar'), false);
});

type Stem = 'nvfp4s24_matmul_gather' | 'nvfp4s24_matmul_gather_scalar';

/** Y (T, N) of stem on kr for weight w and x (T, K). */
function run(kr: WasmKernels, stem: Stem, w: RawTensor, x: Float64Array, T: number): Float32Array {
  const [N, K] = [w.rows, w.cols];
  const put = (a: Uint8Array | Float32Array): number => heapPut(kr.heap, a);
  const e = kr.exports;
  const q = w.quant!;
  const [c, p, s, xp] = [put(w.bytes), put(q.positions!), put(q.scale), put(Float32Array.from(x))];
  const [y, sc] = [kr.heap.alloc(T * N * 4), kr.heap.alloc(T * e.gather_scratch_bytes(K))];
  kr.heap.f32(y, T * N).fill(NaN);
  e[stem](xp, sc, c, p, s, q.scale2, y, T, K, N);
  const got = kr.heap.f32(y, T * N).slice();
  for (const ptr of [c, p, s, xp, y, sc]) kr.heap.free(ptr);
  return got;
}

function expectWithin(got: Float32Array, want: ArrayLike<number>, bound: Float64Array, what: string): void {
  for (let n = 0; n < want.length; n++) {
    const err = Math.abs(got[n] - want[n]);
    if (!(err <= bound[n])) expect.fail(`${what} output ${n}: ${got[n]} vs ${want[n]} (bound ${bound[n]})`);
  }
}

describe.each([
  ['SIMD build', 'simd', 'nvfp4s24_matmul_gather'],
  ['relaxed-SIMD build', 'relaxed', 'nvfp4s24_matmul_gather'],
  ['scalar build', 'scalar', 'nvfp4s24_matmul_gather'],
  ['SIMD build, scalar twin', 'simd', 'nvfp4s24_matmul_gather_scalar'],
] as const)('%s, %s', (_name, build, stem) => {
  test('decode within the int8 activation-rounding bound on every row tail, K tail and Nano K', () => {
    for (const [K, N] of SHAPES) {
      const w = randomWeight('nvfp4-s24', N, K, 5 * K + N);
      const x = randomX(1, K, K + 11);
      expectWithin(run(builds[build], stem, w, x, 1), matmul(new RefAct(x, 1, K), w).data, roundingBounds(w, x, STEP_I8), `K=${K} N=${N}`);
    }
  });

  test('prefill: each token bit for bit its decode alone, on token and row tails, odd and even K/16, Nano K', () => {
    for (const [K, N, T] of [[2688, 6, 5], [1856, 5, 3], [16, 7, 9], [48, 4, 2], [64, 9, 6]]) {
      const w = randomWeight('nvfp4-s24', N, K, 3 * K + N + T);
      const x = randomX(T, K, K + T);
      const all = run(builds[build], stem, w, x, T);
      for (let t = 0; t < T; t++) expect(all.subarray(t * N, (t + 1) * N), `K=${K} N=${N} token ${t}`).toEqual(run(builds[build], stem, w, x.subarray(t * K, (t + 1) * K), 1));
    }
  });
});

test('SIMD and relaxed builds equal the scalar twin up to f32 summation order (exactly where K/16 ≤ 2)', () => {
  for (const [K, N] of SHAPES) {
    const w = randomWeight('nvfp4-s24', N, K, 7 * K + N);
    const x = randomX(1, K, K + 3);
    const twin = run(builds.simd, 'nvfp4s24_matmul_gather_scalar', w, x, 1);
    for (const build of ['simd', 'relaxed'] as const) {
      const got = run(builds[build], 'nvfp4s24_matmul_gather', w, x, 1);
      if (K <= 32) expect(got, `${build} K=${K} N=${N}`).toEqual(twin);
      else expectWithin(got, twin, bounds(w, x, 1), `${build} K=${K} N=${N}`);
    }
    expect(run(builds.scalar, 'nvfp4s24_matmul_gather', w, x, 1)).toEqual(twin);
  }
});

test('the bound is not vacuous: int8 error exceeds the int16 bound, and swapped kept positions exceed the int8 one', () => {
  const [K, N] = [1856, 8];
  const w = randomWeight('nvfp4-s24', N, K, 42);
  const x = randomX(1, K, 43);
  const want = matmul(new RefAct(x, 1, K), w).data;
  const got = run(builds.simd, 'nvfp4s24_matmul_gather', w, x, 1);
  const q16 = roundingBounds(w, x, 0.504 / 32767);
  expect(want.some((v, n) => Math.abs(got[n] - v) > q16[n])).toBe(true);
  // a kernel that gathered x[4g + i1] for the first kept code and x[4g + i0] for the second, in group 0 of every row
  const positions = w.quant!.positions!.slice();
  for (let n = 0; n < N; n++) {
    const b = positions[n * (K / 8)];
    const c = b & 15;
    positions[n * (K / 8)] = (b & 0xf0) | (c >> 2) | ((c & 3) << 2);
  }
  const swapped = matmul(new RefAct(x, 1, K), { ...w, quant: { ...w.quant!, positions } }).data;
  const i8 = roundingBounds(w, x, STEP_I8);
  expect(want.some((v, n) => Math.abs(swapped[n] - v) > i8[n])).toBe(true);
});

describe.each(['simd', 'relaxed'] as const)('rows4 layout, %s build', (build) => {
  /** Y of nvfp4s24_matmul_gather_rows4 on the packed weight, or null when the packer refuses it. */
  function runRows4(w: RawTensor, x: Float64Array, T: number): Float32Array | null {
    const kr = builds[build];
    const e = kr.exports;
    const [N, K] = [w.rows, w.cols];
    const q = w.quant!;
    const [c, p, s, xp] = [heapPut(kr.heap, w.bytes), heapPut(kr.heap, q.positions!), heapPut(kr.heap, q.scale), heapPut(kr.heap, Float32Array.from(x))];
    const packed = kr.heap.alloc(w.bytes.length + q.positions!.length + q.scale.length);
    const [y, sc] = [kr.heap.alloc(T * N * 4), kr.heap.alloc(T * e.gather_scratch_bytes(K))];
    let got: Float32Array | null = null;
    if (e.nvfp4s24_pack_rows4(c, p, s, packed, K, N)) {
      e.nvfp4s24_matmul_gather_rows4(xp, sc, packed, q.scale2, y, T, K, N);
      got = kr.heap.f32(y, T * N).slice();
    }
    for (const ptr of [c, p, s, xp, packed, y, sc]) kr.heap.free(ptr);
    return got;
  }

  /** randomWeight with non-negative finite scales (bytes 0x00 … 0x7E), as the packer takes them. */
  function packable(N: number, K: number, seed: number): RawTensor {
    const w = randomWeight('nvfp4-s24', N, K, seed);
    w.quant!.scale.forEach((b, i, a) => (a[i] = (b & 0x7f) === 0x7f ? 0x7e : b & 0x7f));
    return w;
  }

  test('bit-identical to the ModelOpt layout on row tails, token tails, the Nano K and N ≥ 16 (decode reads four row groups as four streams)', () => {
    for (const [K, N, T] of [[2688, 7, 1], [1856, 6, 1], [1856, 9, 3], [32, 4, 1], [64, 5, 2], [96, 11, 5], [4096, 4, 1], [64, 16, 1], [96, 37, 1], [1856, 20, 1], [64, 33, 3]]) {
      const w = packable(N, K, 11 * K + N + T);
      const x = randomX(T, K, K + N);
      expect(runRows4(w, x, T), `K=${K} N=${N} T=${T}`).toEqual(run(builds[build], 'nvfp4s24_matmul_gather', w, x, T));
    }
  });

  test('a negative or NaN scale byte keeps the weight ModelOpt (the packer refuses it)', () => {
    for (const bad of [0x7f, 0x80, 0xff]) {
      const w = packable(4, 64, bad);
      w.quant!.scale[5] = bad;
      expect(runRows4(w, randomX(1, 64, 1), 1)).toBeNull();
    }
  });
});
