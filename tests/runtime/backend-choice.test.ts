// runtime/backend-choice.ts: the one rule for where the model runs, on every combination of
// what is known (true, false, not reported).
import { describe, expect, it } from 'vitest';
import { chooseBackend } from '../../runtime/backend-choice.js';

describe('chooseBackend', () => {
  it('a usable WebGPU adapter wins whatever SIMD says', () => {
    for (const simd of [true, false, null]) expect(chooseBackend({ webgpu: true, simd }).backend).toBe('webgpu');
    expect(chooseBackend({ webgpu: true, webgpuReason: 'Dawn on Vulkan', simd: true }).reason).toBe('Dawn on Vulkan');
  });

  it('without WebGPU: the SIMD build unless SIMD is known to be missing', () => {
    for (const webgpu of [false, null]) {
      expect(chooseBackend({ webgpu, simd: true }).backend).toBe('wasm');
      expect(chooseBackend({ webgpu, simd: null }).backend).toBe('wasm');
      expect(chooseBackend({ webgpu, simd: false }).backend).toBe('wasm-scalar');
    }
  });

  it('says why', () => {
    expect(chooseBackend({ webgpu: false, webgpuReason: 'no navigator.gpu', simd: true })).toEqual({ backend: 'wasm', reason: 'WASM SIMD (no WebGPU: no navigator.gpu)' });
    expect(chooseBackend({ webgpu: null, simd: false })).toEqual({ backend: 'wasm-scalar', reason: 'no WASM SIMD (WebGPU not reported)' });
  });
});
