// embed/choose.ts: the mode and backend attributes, the memory budget, the worker's advice
// (with a stubbed fetch) and auto mode's rule, each choice with its reason.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUTO_LOCAL_WASM_BYTES, adviseBackend, autoChoice, forcedBackend, memoryBudget, parseMode, type Capabilities } from '../../embed/choose.js';

const GIB = 2 ** 30;
const caps = (over: Partial<Capabilities> = {}): Capabilities => ({ webgpu: false, webgpuReason: 'no navigator.gpu', simd: true, memoryGb: 8, ...over });

afterEach(() => vi.unstubAllGlobals());

describe('attributes', () => {
  it('mode: auto by default, case-insensitive, else UnknownModeError with the choices', () => {
    expect(parseMode(null)).toBe('auto');
    expect(parseMode(' Remote ')).toBe('remote');
    expect(() => parseMode('cloud')).toThrow("unknown mode 'cloud'; choose one of: auto, local, remote");
  });

  it('backend: forced with its reason, else UnknownBackendError with the choices', () => {
    expect(forcedBackend(null)).toBeNull();
    expect(forcedBackend('wasm-scalar')).toEqual({ backend: 'wasm-scalar', reason: 'forced by the backend attribute' });
    expect(() => forcedBackend('webgl')).toThrow('unknown backend "webgl"; choose one of: webgpu, wasm, wasm-scalar');
  });
});

describe('memoryBudget', () => {
  it('half the reported memory; 4 GB assumed when unknown; a WASM memory caps at 4 GiB; the attribute wins', () => {
    expect(memoryBudget(caps({ memoryGb: 4 }), 'wasm', null)).toEqual({ bytes: 2 * GIB, source: 'half of the 4 GB this device reports' });
    expect(memoryBudget(caps({ memoryGb: null }), 'webgpu', null)).toEqual({ bytes: 2 * GIB, source: 'half of the 4 GB assumed (the browser does not report its memory)' });
    expect(memoryBudget(caps({ memoryGb: 16 }), 'wasm', null)).toEqual({ bytes: 4 * GIB, source: 'a WASM memory (4 GiB)' });
    expect(memoryBudget(caps({ memoryGb: 16 }), 'webgpu', null).bytes).toBe(8 * GIB);
    expect(memoryBudget(caps(), 'wasm', 64)).toEqual({ bytes: 64 * 2 ** 20, source: 'the memory-budget-mb attribute' });
  });
});

describe('adviseBackend', () => {
  it("asks GET /v1/backend with the device's capabilities and takes its advice", async () => {
    const fetch = vi.fn(async (_url: URL) => Response.json({ client: { backend: 'wasm', reason: 'the client reports WASM SIMD and no WebGPU' } }));
    vi.stubGlobal('fetch', fetch);
    expect(await adviseBackend('https://w.example/', caps({ memoryGb: 2 }), {})).toEqual({ backend: 'wasm', reason: "the worker's advice: the client reports WASM SIMD and no WebGPU" });
    expect(String(fetch.mock.calls[0][0])).toBe('https://w.example/v1/backend?webgpu=0&simd=1&memory_gb=2');
  });

  it('decides by the same rule when the worker cannot be asked', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('network');
    });
    expect(await adviseBackend('https://w.example/', caps({ webgpu: true, webgpuReason: 'a WebGPU adapter' }), {})).toEqual({ backend: 'webgpu', reason: 'a WebGPU adapter' });
    expect(await adviseBackend(null, caps({ simd: false }), {})).toEqual({ backend: 'wasm-scalar', reason: 'no WASM SIMD (no WebGPU: no navigator.gpu)' });
    expect(await adviseBackend(null, caps(), {})).toEqual({ backend: 'wasm', reason: 'WASM SIMD (no WebGPU: no navigator.gpu)' });
  });
});

describe('autoChoice', () => {
  const wasm = { backend: 'wasm' as const, reason: 'simd' };
  it('local for a small pack or WebGPU, remote when too big for WASM, over budget, or unreachable', () => {
    expect(autoChoice(wasm, 2 ** 20, 2 * GIB)).toEqual({ backend: 'wasm', reason: 'auto: the 1.0 MiB model runs in this tab (simd)' });
    expect(autoChoice(wasm, AUTO_LOCAL_WASM_BYTES + 1, 2 * GIB).backend).toBe('remote');
    expect(autoChoice({ backend: 'webgpu', reason: 'gpu' }, AUTO_LOCAL_WASM_BYTES * 2, 2 * GIB)).toEqual({ backend: 'webgpu', reason: 'auto: gpu' });
    expect(autoChoice({ backend: 'webgpu', reason: 'gpu' }, GIB + 1, 2 * GIB)).toEqual({ backend: 'remote', reason: "auto: the 1024.0 MiB model does not fit this tab's memory budget" });
    expect(autoChoice(wasm, null, 2 * GIB).backend).toBe('remote');
  });
});
