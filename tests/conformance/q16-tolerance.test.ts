// The 4-bit tolerance (harness.ts tolPathQ16) is tight enough to catch kernel bugs: on the
// 'matmul out_proj, decode' row (nvfp4, K = 64), the wasm backend's int16-activation matvec passes
// it, while outputs with a realistic bug each exceed it — activations rounded to int8 instead of
// int16 (per block of 16, σ = max_b|x| / 127), the last block of 16 dropped (a K-tail bug), and one
// row's first block dropped (a row-tail bug). The buggy outputs are computed exactly by the
// reference backend on the correspondingly altered input.

import { afterAll, beforeAll, expect, test } from 'vitest';
import { wasmBackend } from '../../assembly/backend/index.js';
import type { LoadedModel } from '../../engine/backend.js';
import { parseConfig } from '../../engine/config.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { memoryTensors } from '../helpers/memory-store.js';
import { quantizedModelTensors } from '../helpers/quantized-store.js';
import { expectNormwiseClose, randomRows, tolPathQ16 } from './harness.js';

const D = 64;
const WEIGHT = 'backbone.layers.0.mixer.out_proj.weight';
const TOL = tolPathQ16(D, 1); // ops-rows.ts's tolerance for this row
let wasm: LoadedModel;
let ref: LoadedModel;

beforeAll(async () => {
  const config = parseConfig(presetConfig('tiny'));
  const tensors = memoryTensors(config, quantizedModelTensors(config, 17, 'nvfp4'));
  wasm = await wasmBackend.load(config, tensors);
  ref = await referenceBackend.load(config, tensors);
});
afterAll(() => {
  wasm.dispose();
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
