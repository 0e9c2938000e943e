import { afterEach, describe, expect, it, vi } from 'vitest';
import { BACKEND_NAMES, pickBackend } from '../../cli/backends.js';
import { parseConfig } from '../../engine/core/config.js';
import { UnknownBackendError } from '../../engine/core/errors.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { validateWeights } from '../../engine/core/weights.js';
import { memoryStore, randomModelTensors } from '../helpers/memory-store.js';
import { presetConfig } from '../../weights-tools/presets.js';

afterEach(() => vi.restoreAllMocks());

describe('pickBackend', () => {
  it('reference is the reference backend', async () => {
    const choice = await pickBackend('reference');
    expect(choice.backend).toBe(referenceBackend);
    expect(choice).toMatchObject({ name: 'reference', reason: 'requested' });
  });
  it('auto picks wasm SIMD where the engine validates the SIMD probe (Node 20 does)', async () => {
    const choice = await pickBackend('auto');
    expect(choice.name).toBe('wasm');
    expect(choice.reason).toBe('auto: WASM SIMD (no WebGPU: no navigator.gpu)');
    expect(await pickBackend()).toMatchObject({ name: 'wasm' });
  });
  it('auto falls back to wasm-scalar when the probe is rejected', async () => {
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    const choice = await pickBackend('auto');
    expect(validate).toHaveBeenCalled();
    expect(choice.name).toBe('wasm-scalar');
    expect(choice.reason).toBe('auto: no WASM SIMD (no WebGPU: no navigator.gpu)');
  });
  it('wasm and wasm-scalar load models on the SIMD and scalar builds', async () => {
    const config = parseConfig(presetConfig('tiny'));
    const tensors = validateWeights(config, memoryStore(randomModelTensors(config, 1)));
    for (const name of ['wasm', 'wasm-scalar'] as const) {
      const { backend } = await pickBackend(name);
      const model = await backend.load(config, tensors);
      expect(model.backend).toBe(name);
      model.dispose();
    }
  });
  it('an unknown name is an UnknownBackendError listing the choices', async () => {
    await expect(pickBackend('webgl')).rejects.toThrow(UnknownBackendError);
    await expect(pickBackend('webgl')).rejects.toThrow(`unknown backend "webgl"; choose one of: ${BACKEND_NAMES.join(', ')}`);
  });
});
