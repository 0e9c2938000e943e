// Kernel instantiation and build choice: the SIMD and relaxed-SIMD probes, the default build (the
// relaxed one where the engine runs it: Node 20 after its flag is turned on, here in a vitest
// worker; a fresh Node process: tests/cli/cli.test.ts, run --stats), forcing a build by option or by EDGETRON_WASM_BUILD, the
// errors for a build the engine cannot run, and a compiled module passed in (the path a Worker or
// browser takes).

import { afterEach, expect, test } from 'vitest';
import { bestKernelBuild, instantiateKernels, relaxedSimdSupported, simdSupported } from '../../../assembly/backend/instantiate.js';
import { loadKernels, wasmBackend, type WasmModel } from '../../../assembly/backend/index.js';
import { BUILD_ENV, nodeKernelBuild, readKernelBuild } from '../../../assembly/backend/node-wasm.js';
import { InvalidOptionError } from '../../../engine/core/errors.js';
import { parseConfig } from '../../../engine/core/config.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

const plainNode20 = process.versions.node.startsWith('20.') && !process.execArgv.some((a) => a.includes('relaxed-simd'));

afterEach(() => {
  delete process.env[BUILD_ENV];
});

// first: nothing in this process has turned the flag on yet
test.runIf(plainNode20)('Node 20 without its flag does not validate the relaxed-SIMD probe', () => {
  expect(relaxedSimdSupported()).toBe(false);
  expect(bestKernelBuild()).toBe('simd');
});

test('Node 20 validates the SIMD probe', () => {
  expect(simdSupported()).toBe(true);
});

test('the default build is the relaxed one (its flag turned on in this worker); simd and scalar can be forced; all compute', async () => {
  for (const [opts, build] of [[{}, 'relaxed'], [{ simd: true }, 'relaxed'], [{ build: 'simd' }, 'simd'], [{ simd: false }, 'scalar'], [{ build: 'scalar' }, 'scalar']] as const) {
    const k = await loadKernels(opts);
    expect([k.build, k.simd, k.relaxed]).toEqual([build, build !== 'scalar', build === 'relaxed']);
    const p = k.heap.alloc(40 * 4);
    k.heap.f32(p, 40).set(Float32Array.from({ length: 40 }, (_, i) => i));
    expect(k.exports.f32_sum_probe(p, 40)).toBe(780);
  }
  expect(relaxedSimdSupported()).toBe(true);
  expect(bestKernelBuild()).toBe('relaxed');
});

test('EDGETRON_WASM_BUILD forces a build; an explicit option beats it, the scalar backend stays scalar; a bad value is a named error', async () => {
  process.env[BUILD_ENV] = 'simd';
  expect((await loadKernels()).build).toBe('simd');
  expect((await loadKernels({ build: 'relaxed' })).build).toBe('relaxed');
  expect((await loadKernels({ simd: false })).build).toBe('scalar');
  process.env[BUILD_ENV] = 'scalar';
  const config = parseConfig(presetConfig('tiny'));
  const model = (await wasmBackend.load(config, memoryTensors(config, randomModelTensors(config, 1)))) as WasmModel;
  expect([model.backend, model.kernelBuild]).toEqual(['wasm-scalar', 'scalar']);
  model.dispose();
  process.env[BUILD_ENV] = 'avx512';
  expect(() => nodeKernelBuild()).toThrow(InvalidOptionError);
  expect(() => nodeKernelBuild()).toThrow('EDGETRON_WASM_BUILD = "avx512" is invalid; expected relaxed, simd, scalar');
});

test('a compiled WebAssembly.Module can be passed in; its build comes from the module', async () => {
  for (const build of ['relaxed', 'simd', 'scalar'] as const) {
    const module = await WebAssembly.compile(await readKernelBuild(build));
    const k = await loadKernels({ module, simd: build !== 'scalar' });
    expect([k.build, k.simd]).toEqual([build, build !== 'scalar']);
    expect(typeof k.exports.f32_matvec).toBe('function');
  }
  expect((await instantiateKernels(await readKernelBuild('simd'), true)).relaxed).toBe(false);
});
