// The conformance table (ops-rows.ts) on the wasm backend, relaxed-SIMD build (the default where
// the engine runs it; its nvfp4 products take the int8 kernels), SIMD build and scalar build,
// against the `reference` backend. Metric and tolerance rule: tests/conformance/harness.ts.

import { expect, test } from 'vitest';
import { createWasmBackend, wasmBackend, wasmScalarBackend, type WasmModel } from '../../assembly/backend/index.js';
import { parseConfig } from '../../engine/core/config.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';
import { describeOpRows } from './ops-rows.js';

const simdBackend = createWasmBackend({ build: 'simd' }, 'wasm-simd');

describeOpRows([wasmBackend, simdBackend, wasmScalarBackend]);

test('the three backends above run the relaxed, SIMD and scalar builds', async () => {
  const config = parseConfig(presetConfig('tiny'));
  const tensors = memoryTensors(config, randomModelTensors(config, 1));
  for (const [backend, build] of [[wasmBackend, 'relaxed'], [simdBackend, 'simd'], [wasmScalarBackend, 'scalar']] as const) {
    const m = (await backend.load(config, tensors)) as WasmModel;
    expect(m.kernelBuild).toBe(build);
    m.dispose();
  }
});
