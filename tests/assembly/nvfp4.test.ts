// The 4-bit kernels against the reference backend's matmul (engine/reference/matmul.ts, exact f64
// decoding) on random weights that use every E2M1 code, E4M3 scales from subnormal to large, every
// legal 2:4 position code, on every row tail (N mod 4), token tail (T mod 4) and block count, plus
// the Nano shapes K = 2688 and K = 1856:
// - the backend's int16-activation nvfp4 matmul (fp4_q16_matvec.ts), decode and prefill, SIMD and scalar
//   builds and twins, within Σ_b (0.504·max_b|x| / 32767)·Σ_{k∈b} |w_k| + (K/16 + 24)·u·Σ_k |x_k w_k|;
// - the bench build's variants (assembly/kernels/bench.ts): the fused f32 kernels (nvfp4_matmul.ts,
//   nvfp4s24_matmul.ts, fp4_decode.ts), both twins, within (K/16 + 24)·u·Σ_k |x_k w_k|; the int8
//   matvecs (fp4_q8_matvec.ts) within Σ_b (max_b|x| / 254)·Σ_{k∈b} |w_k| + the f32 bound; the
//   nvfp4-s24 int16 matmul (fp4_q16_matvec.ts, F = u16), both twins, within the q16 bound.

import { beforeAll, describe, expect, test } from 'vitest';
import { loadBenchKernels, type BenchKernels } from '../../assembly/backend/bench-kernels.js';
import { loadKernels, type WasmKernels } from '../../assembly/backend/index.js';
import { RefAct } from '../../engine/reference/act.js';
import { matmul } from '../../engine/reference/matmul.js';
import { bounds, heapPut, randomWeight, randomX, roundingBounds, type Format } from './fp4-fixtures.js';

const builds = {} as { simd: WasmKernels; scalar: WasmKernels; bench: BenchKernels };
beforeAll(async () => {
  builds.simd = await loadKernels({ simd: true });
  builds.scalar = await loadKernels({ simd: false });
  builds.bench = await loadBenchKernels();
});

type Q16Stem = 'nvfp4_matmul_q16' | 'nvfp4_matmul_q16_scalar' | 'nvfp4s24_matmul_q16' | 'nvfp4s24_matmul_q16_scalar';
/** Where each q16 stem runs: the backend's nvfp4 ones in both shipped builds, the nvfp4-s24 ones (a variant) in the bench build. */
const Q16_BUILDS = [
  ['simd', 'nvfp4', ''],
  ['simd', 'nvfp4', '_scalar'],
  ['scalar', 'nvfp4', ''],
  ['scalar', 'nvfp4', '_scalar'],
  ['bench', 'nvfp4-s24', ''],
  ['bench', 'nvfp4-s24', '_scalar'],
] as const;

/** The export `stem` of a build, called with plain numbers (the stems above share one signature per format). */
function kernel(kr: WasmKernels, stem: Q16Stem): (...args: number[]) => void {
  return (kr.exports as unknown as Record<string, (...args: number[]) => void>)[stem];
}

describe('4-bit variants, bench build', () => {
  let kr: BenchKernels;
  beforeAll(() => {
    kr = builds.bench;
  });
  const put = (bytes: Uint8Array | Float32Array): number => heapPut(kr.heap, bytes);

  /** Every twin (matmul, matmul_scalar; matvec, matvec_scalar when T = 1) against the reference. */
  function check(format: Format, T: number, K: number, N: number, seed: number): void {
    const w = randomWeight(format, N, K, seed);
    const x = randomX(T, K, seed + 1);
    const want = matmul(new RefAct(x, T, K), w).data;
    const bound = bounds(w, x, T);
    const [c, s, p, xp, y] = [put(w.bytes), put(w.quant!.scale), put(w.quant!.positions ?? new Uint8Array(1)), put(Float32Array.from(x)), kr.heap.alloc(T * N * 4)];
    const e = kr.exports;
    const g = w.quant!.scale2;
    const runs: (() => void)[] =
      format === 'nvfp4'
        ? [() => e.nvfp4_matmul(xp, c, s, g, y, T, K, N), () => e.nvfp4_matmul_scalar(xp, c, s, g, y, T, K, N)]
        : [() => e.nvfp4s24_matmul(xp, c, p, s, g, y, T, K, N), () => e.nvfp4s24_matmul_scalar(xp, c, p, s, g, y, T, K, N)];
    if (T === 1 && format === 'nvfp4') runs.push(() => e.nvfp4_matvec(xp, c, s, g, y, K, N), () => e.nvfp4_matvec_scalar(xp, c, s, g, y, K, N));
    if (T === 1 && format === 'nvfp4-s24') runs.push(() => e.nvfp4s24_matvec(xp, c, p, s, g, y, K, N), () => e.nvfp4s24_matvec_scalar(xp, c, p, s, g, y, K, N));
    for (const run of runs) {
      kr.heap.f32(y, T * N).fill(NaN);
      run();
      const got = kr.heap.f32(y, T * N);
      for (let i = 0; i < T * N; i++) {
        const err = Math.abs(got[i] - want[i]);
        if (!(err <= bound[i])) expect.fail(`${format} T=${T} K=${K} N=${N} output ${i}: ${got[i]} vs ${want[i]} (bound ${bound[i]})`);
      }
    }
    for (const ptr of [c, s, p, xp, y]) kr.heap.free(ptr);
  }

  describe.each(['nvfp4', 'nvfp4-s24'] as const)('%s', (format) => {
    test('every row tail (N = 1..9) and block count (K = 16..80), T = 1', () => {
      for (let K = 16; K <= 80; K += 16) for (let N = 1; N <= 9; N++) check(format, 1, K, N, K * 131 + N);
    });

    test('every token tail (T = 2..9) on row tails, K = 16, 48', () => {
      for (const K of [16, 48]) for (let T = 2; T <= 9; T++) for (const N of [1, 3, 4, 6]) check(format, T, K, N, K * 7 + T * 17 + N);
    });

    test('Nano shapes: K = 2688 and K = 1856, decode and prefill', () => {
      for (const K of [2688, 1856]) for (const T of [1, 5]) check(format, T, K, 6, K + T);
    });
  });

  /** Per output (T rows of N): the f32 bound plus Σ_b c · max_b|x| · Σ_{k∈b} |w_k| (activation rounding, c per σ_b unit). */
  test.each(['nvfp4', 'nvfp4-s24'] as const)('%s int8-activation matvec within its activation-rounding bound', (format) => {
    for (const [K, N] of [[16, 1], [48, 5], [1856, 6], [2688, 7]]) {
      const w = randomWeight(format, N, K, K + N);
      const x = randomX(1, K, K);
      const want = matmul(new RefAct(x, 1, K), w).data;
      const f32Bound = bounds(w, x, 1);
      const bound = roundingBounds(w, x, 1 / 254);
      const e = kr.exports;
      const [c, s, p, xp, y, sc] = [put(w.bytes), put(w.quant!.scale), put(w.quant!.positions ?? new Uint8Array(1)), put(Float32Array.from(x)), kr.heap.alloc(N * 4), kr.heap.alloc(e.q8_scratch_bytes(K))];
      if (format === 'nvfp4') e.nvfp4_matvec_q8(xp, sc, c, s, w.quant!.scale2, y, K, N);
      else e.nvfp4s24_matvec_q8(xp, sc, c, p, s, w.quant!.scale2, y, K, N);
      const got = kr.heap.f32(y, N);
      let sawError = false;
      for (let n = 0; n < N; n++) {
        const err = Math.abs(got[n] - want[n]);
        expect(err).toBeLessThanOrEqual(bound[n]);
        sawError ||= err > f32Bound[n];
      }
      expect(sawError, 'activation rounding shows beyond the f32 bound').toBe(true);
      for (const ptr of [c, s, p, xp, y, sc]) kr.heap.free(ptr);
    }
  });

  test('NaN scale byte (0x7f) gives NaN for its row only', () => {
    const w = randomWeight('nvfp4', 2, 16, 3);
    w.quant!.scale[0] = 0x7f;
    w.quant!.scale[1] = 0x38; // 1
    const x = randomX(1, 16, 4);
    const [c, s, xp, y] = [put(w.bytes), put(w.quant!.scale), put(Float32Array.from(x)), kr.heap.alloc(8)];
    kr.exports.nvfp4_matvec(xp, c, s, w.quant!.scale2, y, 16, 2);
    const got = kr.heap.f32(y, 2);
    expect(Number.isNaN(got[0])).toBe(true);
    expect(got[1]).toBeCloseTo(matmul(new RefAct(x, 1, 16), w).data[1], 5);
  });
});

// int16 activations (fp4_q16_matvec.ts): |x − σ_b q| ≤ 0.504·σ_b, σ_b = max_b|x| / 32767.
describe('int16-activation kernels', () => {
  test.each(Q16_BUILDS)('%s build, %s matmul%s T = 1 (decode) within its activation-rounding bound on every row tail, K tail and Nano K', (build, format, twin) => {
    const kr = builds[build];
    const put = (bytes: Uint8Array | Float32Array): number => heapPut(kr.heap, bytes);
    const stem = `${format === 'nvfp4' ? 'nvfp4' : 'nvfp4s24'}_matmul_q16${twin}` as Q16Stem;
    const shapes = [[2688, 7], [1856, 6], [4096, 4], [48, 12]];
    for (let K = 16; K <= 80; K += 16) for (let N = 1; N <= 9; N++) shapes.push([K, N]);
    const e = kr.exports;
    for (const [K, N] of shapes) {
      const w = randomWeight(format, N, K, 3 * K + N);
      const x = randomX(1, K, K + 7);
      const want = matmul(new RefAct(x, 1, K), w).data;
      const bound = roundingBounds(w, x, 0.504 / 32767);
      const [c, s, p, xp, y, sc] = [put(w.bytes), put(w.quant!.scale), put(w.quant!.positions ?? new Uint8Array(1)), put(Float32Array.from(x)), kr.heap.alloc(N * 4), kr.heap.alloc(e.q16_scratch_bytes(K))];
      kr.heap.f32(y, N).fill(NaN);
      if (format === 'nvfp4') kernel(kr, stem)(xp, sc, c, s, w.quant!.scale2, y, 1, K, N);
      else kernel(kr, stem)(xp, sc, c, p, s, w.quant!.scale2, y, 1, K, N);
      const got = kr.heap.f32(y, N);
      for (let n = 0; n < N; n++) {
        const err = Math.abs(got[n] - want[n]);
        if (!(err <= bound[n])) expect.fail(`${stem} K=${K} N=${N} output ${n}: ${got[n]} vs ${want[n]} (bound ${bound[n]})`);
      }
      for (const ptr of [c, s, p, xp, y, sc]) kr.heap.free(ptr);
    }
  });

  test.each(Q16_BUILDS)('%s build, %s matmul%s (prefill) within its activation-rounding bound on every token tail, odd and even K/16, Nano K', (build, format, twin) => {
    const kr = builds[build];
    const put = (bytes: Uint8Array | Float32Array): number => heapPut(kr.heap, bytes);
    const stem = `${format === 'nvfp4' ? 'nvfp4' : 'nvfp4s24'}_matmul_q16${twin}` as Q16Stem;
    const shapes: number[][] = [[2688, 5, 6], [1856, 6, 5]];
    for (const K of [16, 32, 48, 64]) for (let T = 2; T <= 9; T++) for (const N of [1, 4, 7]) shapes.push([K, N, T]);
    const e = kr.exports;
    for (const [K, N, T] of shapes) {
      const w = randomWeight(format, N, K, 5 * K + N + T);
      const x = randomX(T, K, K + T);
      const want = matmul(new RefAct(x, T, K), w).data;
      const bound = roundingBounds(w, x, 0.504 / 32767, T);
      const [c, s, p, xp, y, sc] = [put(w.bytes), put(w.quant!.scale), put(w.quant!.positions ?? new Uint8Array(1)), put(Float32Array.from(x)), kr.heap.alloc(T * N * 4), kr.heap.alloc(T * e.q16_scratch_bytes(K))];
      kr.heap.f32(y, T * N).fill(NaN);
      if (format === 'nvfp4') kernel(kr, stem)(xp, sc, c, s, w.quant!.scale2, y, T, K, N);
      else kernel(kr, stem)(xp, sc, c, p, s, w.quant!.scale2, y, T, K, N);
      const got = kr.heap.f32(y, T * N);
      for (let i = 0; i < T * N; i++) {
        const err = Math.abs(got[i] - want[i]);
        if (!(err <= bound[i])) expect.fail(`${stem} K=${K} N=${N} T=${T} output ${i}: ${got[i]} vs ${want[i]} (bound ${bound[i]})`);
      }
      for (const ptr of [c, s, p, xp, y, sc]) kr.heap.free(ptr);
    }
  });

  test.each([
    ['simd', 'nvfp4_matmul_q16'],
    ['simd', 'nvfp4_matmul_q16_scalar'],
    ['scalar', 'nvfp4_matmul_q16'],
    ['scalar', 'nvfp4_matmul_q16_scalar'],
  ] as const)('%s build, %s T = 1: a NaN scale byte (0x7f, 0xff) gives NaN for its row only, in the 4-row and the tail paths', (build, stem) => {
    const kr = builds[build];
    const put = (bytes: Uint8Array | Float32Array): number => heapPut(kr.heap, bytes);
    const [K, N] = [32, 5];
    const w = randomWeight('nvfp4', N, K, 9);
    w.quant!.scale.fill(0x38); // 1
    w.quant!.scale[1] = 0x7f; // row 0, block B
    w.quant!.scale[2 * 4] = 0xff; // row 4 (the tail), block A
    const x = randomX(1, K, 10);
    const want = matmul(new RefAct(x, 1, K), w).data;
    const [c, s, xp, y, sc] = [put(w.bytes), put(w.quant!.scale), put(Float32Array.from(x)), kr.heap.alloc(N * 4), kr.heap.alloc(kr.exports.q16_scratch_bytes(K))];
    kr.exports[stem](xp, sc, c, s, w.quant!.scale2, y, 1, K, N);
    const got = Array.from(kr.heap.f32(y, N));
    expect(got.map(Number.isNaN)).toEqual([true, false, false, false, true]);
    for (const n of [1, 2, 3]) expect(got[n]).toBeCloseTo(want[n], 3);
  });
});
