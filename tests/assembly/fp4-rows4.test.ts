// The rows4 layout of nvfp4 weights (assembly/kernels/fp4_rows4.ts): the packer's byte placement
// against the layout written out by hand from its header comment, and the kernels on rows4 — the
// int16-activation nvfp4_matmul_q16_rows4 (SIMD build) and the int8 nvfp4_matmul_i8_rows4
// (relaxed-SIMD build, where this engine runs it) — bit-identical to the same kernels on the
// ModelOpt layout (whose accuracy tests/assembly/nvfp4.test.ts and fp4-i8-relaxed.test.ts check
// against the reference backend), on
// row tails (N mod 4), token tails (T mod 4), the Nano expert shapes K = 2688 and K = 1856, and
// N ≥ 16 rows, where decode reads several row groups as parallel streams (four in groupsDotQ, two in
// groupsDotR).
// Also the property speculative decoding relies on: every token of a prefill (T > 1) gives
// exactly the output of that token alone (T = 1), in both layouts.

import { beforeAll, describe, expect, test } from 'vitest';
import { instantiateKernels, type WasmKernels } from '../../assembly/backend/index.js';
import { enableRelaxedSimd, readKernelBuild } from '../../assembly/backend/node-wasm.js';
import { randomWeight, randomX } from './fp4-fixtures.js';

/** rows4 bytes of ModelOpt codes (N, K/2) and scales (N, K/16), spelled out from fp4_rows4.ts. */
function packByHand(codes: Uint8Array, scales: Uint8Array, K: number, N: number): Uint8Array {
  const out: number[] = [];
  const N4 = N - (N % 4);
  for (let G = 0; G < N4 / 4; G++) {
    for (let P = 0; P < K / 32; P++) {
      for (let r = 0; r < 4; r++) for (let j = 0; j < 16; j++) out.push(codes[(4 * G + r) * (K / 2) + 16 * P + j]);
      for (let r = 0; r < 4; r++) out.push(scales[(4 * G + r) * (K / 16) + 2 * P], scales[(4 * G + r) * (K / 16) + 2 * P + 1]);
    }
  }
  for (let n = N4; n < N; n++) for (let j = 0; j < K / 2; j++) out.push(codes[n * (K / 2) + j]);
  for (let n = N4; n < N; n++) for (let j = 0; j < K / 16; j++) out.push(scales[n * (K / 16) + j]);
  return Uint8Array.from(out);
}

const RELAXED = enableRelaxedSimd();

describe.each([
  ['simd', 'q16'],
  ['relaxed', 'i8'],
] as const)('rows4 layout, %s build (%s kernels)', (build, path) => {
  let kr: WasmKernels;
  beforeAll(async () => {
    if (build === 'simd' || RELAXED) kr = await instantiateKernels(await readKernelBuild(build), true);
  });
  const skipIf = build === 'relaxed' && !RELAXED;

  const put = (bytes: Uint8Array | Float32Array): number => {
    const p = kr.heap.alloc(bytes.byteLength);
    kr.heap.u8(p, bytes.byteLength).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return p;
  };

  test.skipIf(skipIf)('which weights it takes: K a multiple of 32, at least 4 rows', () => {
    const e = kr.exports;
    expect([e.rows4_supported(64, 4), e.rows4_supported(2688, 1856), e.rows4_supported(1856, 7)].map(Boolean)).toEqual([true, true, true]);
    expect([e.rows4_supported(48, 8), e.rows4_supported(64, 3), e.rows4_supported(0, 8)].map(Boolean)).toEqual([false, false, false]);
  });

  test.skipIf(skipIf).each([
    [64, 4],
    [64, 5],
    [96, 11],
    [32, 8],
  ])('K = %i, N = %i: groups of 4 rows as 72-byte chunks, then the tail rows as ModelOpt', (K, N) => {
    const codes = Uint8Array.from({ length: (N * K) / 2 }, (_, i) => (i * 37 + 11) & 255);
    const scales = Uint8Array.from({ length: (N * K) / 16 }, (_, i) => (i * 13 + 5) % 0x7f);
    const [c, s, dst] = [put(codes), put(scales), kr.heap.alloc(codes.length + scales.length)];
    kr.exports.nvfp4_pack_rows4(c, s, dst, K, N);
    expect(kr.heap.u8(dst, codes.length + scales.length)).toEqual(packByHand(codes, scales, K, N));
    for (const p of [c, s, dst]) kr.heap.free(p);
  });

  test.skipIf(skipIf)('a negative or NaN scale byte keeps the weight ModelOpt: the packer refuses and leaves dst alone', () => {
    const [K, N] = [32, 4];
    const codes = new Uint8Array((N * K) / 2).fill(0x21);
    for (const [bad, packs] of [[0x7e, true], [0x7f, false], [0x80, false], [0xff, false], [0xb8, false]] as const) {
      const scales = new Uint8Array((N * K) / 16).fill(0x38);
      scales[5] = bad;
      const [c, s, dst] = [put(codes), put(scales), kr.heap.alloc(codes.length + scales.length)];
      kr.heap.u8(dst, codes.length + scales.length).fill(0xaa);
      expect(Boolean(kr.exports.nvfp4_pack_rows4(c, s, dst, K, N)), `scale byte 0x${bad.toString(16)}`).toBe(packs);
      if (packs) expect(kr.heap.u8(dst, codes.length + scales.length)).toEqual(packByHand(codes, scales, K, N));
      else expect(kr.heap.u8(dst, codes.length + scales.length).every((b) => b === 0xaa)).toBe(true);
      for (const p of [c, s, dst]) kr.heap.free(p);
    }
    // the packer scans the scales 16 bytes at a time, then the rest one by one: a bad byte anywhere is seen
    const [K2, N2] = [32, 22]; // 44 scale bytes: two vectors and 12 left over
    const codes2 = new Uint8Array((N2 * K2) / 2).fill(0x21);
    for (const at of [0, 7, 15, 16, 31, 32, 40, 43]) {
      const scales = new Uint8Array((N2 * K2) / 16).fill(0x38);
      scales[at] = 0x80;
      const [c, s, dst] = [put(codes2), put(scales), kr.heap.alloc(codes2.length + scales.length)];
      expect(Boolean(kr.exports.nvfp4_pack_rows4(c, s, dst, K2, N2)), `bad scale byte at ${at}`).toBe(false);
      for (const p of [c, s, dst]) kr.heap.free(p);
    }
  });

  /** Y of the ModelOpt and the rows4 kernels for one random weight and T tokens. */
  function run(K: number, N: number, T: number, seed: number, xScale = 1): { modelopt: Float32Array; rows4: Float32Array; tokens: Float32Array[][] } {
    const e = kr.exports;
    const w = randomWeight('nvfp4', N, K, seed);
    w.quant!.scale.forEach((b, i, a) => (a[i] = b & 0x7f)); // rows4 holds non-negative scales (0x00 … 0x7e)
    const x = Float32Array.from(randomX(T, K, seed + 1), (v) => v * xScale);
    const [c, s, xp] = [put(w.bytes), put(w.quant!.scale), put(x)];
    const packed = kr.heap.alloc(w.bytes.length + w.quant!.scale.length);
    expect(e.nvfp4_pack_rows4(c, s, packed, K, N)).toBe(1);
    const sc = kr.heap.alloc(T * (path === 'q16' ? e.q16_scratch_bytes(K) : e.i8_scratch_bytes(K)));
    const y = kr.heap.alloc(T * N * 4);
    const g = w.quant!.scale2;
    const modelOpt = (xt: number, t: number) => (path === 'q16' ? e.nvfp4_matmul_q16(xt, sc, c, s, g, y, t, K, N) : e.nvfp4_matmul_i8(xt, sc, c, s, g, y, t, K, N));
    const onRows4 = (xt: number, t: number) => (path === 'q16' ? e.nvfp4_matmul_q16_rows4(xt, sc, packed, g, y, t, K, N) : e.nvfp4_matmul_i8_rows4(xt, sc, packed, g, y, t, K, N));
    modelOpt(xp, T);
    const modelopt = kr.heap.f32(y, T * N).slice();
    onRows4(xp, T);
    const rows4 = kr.heap.f32(y, T * N).slice();
    const tokens = Array.from({ length: T }, (_, t) => {
      const xt = xp + t * K * 4;
      modelOpt(xt, 1);
      const one = kr.heap.f32(y, N).slice();
      onRows4(xt, 1);
      return [one, kr.heap.f32(y, N).slice()];
    });
    for (const p of [c, s, xp, packed, sc, y]) kr.heap.free(p);
    return { modelopt, rows4, tokens };
  }

  test.skipIf(skipIf).each([
    [2688, 7, 1],
    [1856, 6, 1],
    [1856, 9, 5],
    [2688, 4, 8],
    [64, 5, 1],
    [64, 6, 3],
    [96, 7, 4],
    [32, 13, 9],
    [64, 16, 5],
    [96, 23, 4],
    [1856, 37, 5],
    [32, 64, 6],
  ])('K = %i, N = %i, T = %i: rows4 gives the ModelOpt result bit for bit, and each prefill token its own decode', (K, N, T) => {
    const { modelopt, rows4, tokens } = run(K, N, T, K + 31 * N + T);
    expect(rows4).toEqual(modelopt);
    for (let t = 0; t < T; t++) {
      expect(tokens[t][0], `token ${t} alone, ModelOpt`).toEqual(modelopt.subarray(t * N, (t + 1) * N));
      expect(tokens[t][1], `token ${t} alone, rows4`).toEqual(modelopt.subarray(t * N, (t + 1) * N));
    }
  });

  // the int8 decode takes E4M3(s)·σ as one product with σ·2¹²⁰ while every σ of the token is below 2⁷ and as two
  // products above (|x| up to 10⁵: σ ≈ 787); the same f32 either way, checked here through the layouts, which read
  // their scale bytes by different instructions, and through prefill, which takes neither shortcut
  test.skipIf(skipIf).each([
    [1856, 37, 5, 1e5],
    [2688, 20, 3, 1e5],
    [64, 16, 5, 3e4],
    [1856, 37, 2, 1e-30],
  ])('K = %i, N = %i, T = %i, |x| up to %d: rows4 and ModelOpt agree bit for bit, and each prefill token its own decode', (K, N, T, xScale) => {
    const { modelopt, rows4, tokens } = run(K, N, T, K + 7 * N + T, xScale);
    expect(modelopt.every(Number.isFinite)).toBe(true);
    expect(rows4).toEqual(modelopt);
    for (let t = 0; t < T; t++) {
      expect(tokens[t][0], `token ${t} alone, ModelOpt`).toEqual(modelopt.subarray(t * N, (t + 1) * N));
      expect(tokens[t][1], `token ${t} alone, rows4`).toEqual(modelopt.subarray(t * N, (t + 1) * N));
    }
  });
});

test('the scalar build keeps the ModelOpt layout (rows4 needs SIMD)', async () => {
  const scalar = await instantiateKernels(await readKernelBuild('scalar'), false);
  expect(Boolean(scalar.exports.rows4_supported(64, 8))).toBe(false);
});
