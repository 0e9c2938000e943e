// The 4-bit tolerance (harness.ts tolPathQ16) is tight enough to catch kernel bugs: on the
// 'matmul out_proj, decode' row (nvfp4, K = 64), the wasm backend's int16-activation matvec passes
// it, while outputs with a realistic bug each exceed it — activations rounded to int8 instead of
// int16 (per block of 16, σ = max_b|x| / 127), the last block of 16 dropped (a K-tail bug), and one
// row's first block dropped (a row-tail bug). The buggy outputs are computed exactly by the
// reference backend on the correspondingly altered input. The same for the relaxed-SIMD build's
// int8-activation decode (fp4_i8_relaxed.ts) and its tolerance tolPathI8: its output passes, while
// the last block dropped, or the −12·Σq weight-offset correction forgotten, exceed it.

import { afterAll, beforeAll, expect, test } from 'vitest';
import { createWasmBackend, wasmBackend } from '../../assembly/backend/index.js';
import { enableRelaxedSimd, readKernelBuild } from '../../assembly/backend/node-wasm.js';
import type { LoadedModel } from '../../engine/core/backend.js';
import { parseConfig } from '../../engine/core/config.js';
import { e4m3ToNumber } from '../../engine/formats/nvfp4.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { memoryTensors } from '../helpers/memory-store.js';
import { quantizedModelTensors } from '../helpers/quantized-store.js';
import { expectNormwiseClose, randomRows, tolPathI8, tolPathQ16 } from './harness.js';

const D = 64;
const WEIGHT = 'backbone.layers.0.mixer.out_proj.weight';
const TOL = tolPathQ16(D, 1); // ops-rows.ts's tolerance for this row
const TOL_I8 = tolPathI8(D, 1);
const CONFIG = parseConfig(presetConfig('tiny'));
const RAW = quantizedModelTensors(CONFIG, 17, 'nvfp4');
let wasm: LoadedModel;
let relaxed: LoadedModel;
let ref: LoadedModel;

beforeAll(async () => {
  const config = CONFIG;
  const tensors = memoryTensors(config, RAW);
  wasm = await createWasmBackend({ simd: true, module: await readKernelBuild('simd') }).load(config, tensors);
  expect(enableRelaxedSimd()).toBe(true);
  relaxed = await createWasmBackend({ simd: true, module: await readKernelBuild('relaxed') }).load(config, tensors);
  ref = await referenceBackend.load(config, tensors);
});
afterAll(() => {
  wasm.dispose();
  relaxed.dispose();
  ref.dispose();
});

/** x (1, 64) · Wᵀ on model m. */
function matvec(m: LoadedModel, x: Float32Array): Float32Array {
  const a = m.upload(x, 1, D);
  const y = m.matmul(a, WEIGHT);
  const out = m.download(y);
  m.free(y);
  m.free(a);
  return out;
}

/** x rounded per block of 16 to `levels` steps of max_b|x| / levels. */
function roundPerBlock(x: Float32Array, levels: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < x.length; b += 16) {
    const sigma = Math.max(...x.subarray(b, b + 16).map(Math.abs)) / levels;
    for (let k = b; k < b + 16; k++) out[k] = sigma > 0 ? Math.round(x[k] / sigma) * sigma : 0;
  }
  return out;
}

const x = randomRows(1, D, 6);

test('the int16-activation decode matvec is within the 4-bit tolerance', () => {
  expectNormwiseClose([matvec(wasm, x)], [matvec(ref, x)], TOL);
});

test.each([
  ['int8 instead of int16 activations', () => matvec(ref, roundPerBlock(x, 127))],
  ['the last block of 16 dropped', () => matvec(ref, x.map((v, k) => (k >= D - 16 ? 0 : v)))],
  ['row 0 without its first block', (want: Float32Array) => {
    const y = want.slice();
    y[0] = matvec(ref, x.map((v, k) => (k < 16 ? 0 : v)))[0];
    return y;
  }],
] as const)('an output with a kernel bug (%s) exceeds it', (_bug, corrupt: (want: Float32Array) => Float32Array) => {
  const want = matvec(ref, x);
  const bad = corrupt(want);
  expect(() => expectNormwiseClose([bad], [want], TOL)).toThrow();
});

test('the relaxed build\'s int8-activation decode matvec is within tolPathI8, and not within the int16 tolerance', () => {
  const got = matvec(relaxed, x);
  const want = matvec(ref, x);
  expectNormwiseClose([got], [want], TOL_I8);
  expect(() => expectNormwiseClose([got], [want], TOL)).toThrow();
});

test.each([
  ['the last block of 16 dropped', () => matvec(ref, x.map((v, k) => (k >= D - 16 ? 0 : v)))],
  ['the weight-offset correction forgotten (y + 6·E4M3(s_b)·scale2·Σ_{k∈b} x_k)', (want: Float32Array) => {
    const scale = RAW['backbone.layers.0.mixer.out_proj.weight_scale'].data as Uint8Array; // E4M3 (64, 4)
    const s2 = RAW['backbone.layers.0.mixer.out_proj.weight_scale_2'].data; // f32 bytes
    const scale2 = new DataView(s2.buffer, s2.byteOffset, 4).getFloat32(0, true);
    return want.map((v, n) => {
      let extra = 0;
      for (let b = 0; b < D / 16; b++) extra += 6 * e4m3ToNumber(scale[n * (D / 16) + b]) * scale2 * x.subarray(16 * b, 16 * b + 16).reduce((a, c) => a + c, 0);
      return v + extra;
    });
  }],
] as const)('a relaxed-build output with a kernel bug (%s) exceeds tolPathI8', (_bug, corrupt: (want: Float32Array) => Float32Array) => {
  const want = matvec(ref, x);
  expect(() => expectNormwiseClose([corrupt(want)], [want], TOL_I8)).toThrow();
});
