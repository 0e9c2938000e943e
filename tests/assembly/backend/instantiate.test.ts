// Kernel instantiation: the SIMD and relaxed-SIMD probes, the three builds, and a compiled module
// passed in (the path a Worker or browser takes).

import { expect, test } from 'vitest';
import { instantiateKernels, relaxedSimdSupported, simdSupported } from '../../../assembly/backend/instantiate.js';
import { loadKernels } from '../../../assembly/backend/index.js';
import { enableRelaxedSimd, readKernelBuild, readKernelWasm } from '../../../assembly/backend/node-wasm.js';

test('Node 20 validates the SIMD probe', () => {
  expect(simdSupported()).toBe(true);
});

test('the default build is SIMD here; the scalar build can be forced; both compute', async () => {
  for (const [opts, simd] of [[{}, true], [{ simd: false }, false]] as const) {
    const k = await loadKernels(opts);
    expect(k.simd).toBe(simd);
    const p = k.heap.alloc(40 * 4);
    k.heap.f32(p, 40).set(Float32Array.from({ length: 40 }, (_, i) => i));
    expect(k.exports.f32_sum_probe(p, 40)).toBe(780);
  }
});

test('a compiled WebAssembly.Module can be passed in', async () => {
  const module = await WebAssembly.compile(await readKernelWasm(true));
  const k = await instantiateKernels(module, true);
  expect(k.simd).toBe(true);
  expect(typeof k.exports.f32_matvec).toBe('function');
});

const plainNode20 = process.versions.node.startsWith('20.') && !process.execArgv.some((a) => a.includes('relaxed-simd'));

test.runIf(plainNode20)('Node 20 without its flag does not validate the relaxed-SIMD probe', () => {
  expect(relaxedSimdSupported()).toBe(false);
});

test('the default build is the SIMD one even where relaxed SIMD validates; the relaxed build loads on request once enableRelaxedSimd turns it on', async () => {
  const plain = await loadKernels();
  expect([plain.simd, plain.relaxed]).toEqual([true, false]);
  expect(enableRelaxedSimd()).toBe(true);
  expect(relaxedSimdSupported()).toBe(true);
  expect((await loadKernels()).relaxed).toBe(false);
  const relaxed = await instantiateKernels(await readKernelBuild('relaxed'), true);
  expect([relaxed.simd, relaxed.relaxed]).toEqual([true, true]);
  const scalar = await loadKernels({ simd: false });
  expect([scalar.simd, scalar.relaxed]).toEqual([false, false]);
  const p = relaxed.heap.alloc(40 * 4);
  relaxed.heap.f32(p, 40).set(Float32Array.from({ length: 40 }, (_, i) => i));
  expect(relaxed.exports.f32_sum_probe(p, 40)).toBe(780);
});
