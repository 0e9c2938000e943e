// House style H24: the one place that chooses a backend (DESIGN §2). A name can force any
// backend; `auto` takes WebGPU when `navigator.gpu` gives a hardware adapter (never in Node,
// which has no navigator.gpu; `--backend webgpu` forces Dawn there), else the WASM SIMD build
// when this engine validates the SIMD probe module (`simdSupported`,
// assembly/backend/instantiate.ts), else the scalar WASM build. Every choice comes back with its
// reason. The wasm and webgpu backends are imported on demand, so a command that never computes
// never loads them.

import type { Backend } from '../engine/core/backend.js';
import { UnknownBackendError } from '../engine/core/errors.js';
import { referenceBackend } from '../engine/reference/index.js';
import { simdSupported } from '../assembly/backend/instantiate.js';

/** Names accepted by `--backend`. */
export const BACKEND_NAMES = ['auto', 'webgpu', 'wasm', 'wasm-scalar', 'reference'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The chosen backend, the name it was chosen as (what `--stats` reports), and why. */
export interface BackendChoice {
  readonly name: Exclude<BackendName, 'auto'>;
  readonly backend: Backend;
  readonly reason: string;
}

/** What a backend is built with: the wasm backend's thread count (WasmBackendOptions.threads; default $EDGETRON_THREADS, else 1). */
export interface BackendOptions {
  readonly threads?: number | 'auto';
}

async function wasm(simd: boolean, options: BackendOptions): Promise<Backend> {
  const { createWasmBackend, wasmScalarBackend } = await import('../assembly/backend/index.js');
  return simd ? createWasmBackend({ simd: true, threads: options.threads }, 'wasm') : wasmScalarBackend;
}

async function webgpu(): Promise<Backend> {
  return (await import('../gpu/index.js')).webgpuBackend;
}

/** Whether navigator.gpu offers a hardware (non-fallback) adapter. */
async function hardwareGpu(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  return adapter !== null && !(adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter;
}

/**
 * Resolve a `--backend` name.
 * @example
 * const { backend, name, reason } = await pickBackend('auto'); // name 'wasm', reason 'this engine validates the WASM SIMD probe'
 */
export async function pickBackend(name: string = 'auto', options: BackendOptions = {}): Promise<BackendChoice> {
  switch (name) {
    case 'reference':
      return { name, backend: referenceBackend, reason: 'requested' };
    case 'wasm':
      return { name, backend: await wasm(true, options), reason: 'requested' };
    case 'wasm-scalar':
      return { name, backend: await wasm(false, options), reason: 'requested' };
    case 'webgpu':
      return { name, backend: await webgpu(), reason: 'requested' };
    case 'auto':
      if (await hardwareGpu()) return { name: 'webgpu', backend: await webgpu(), reason: 'auto: navigator.gpu offers a hardware adapter' };
      return simdSupported()
        ? { name: 'wasm', backend: await wasm(true, options), reason: 'auto: this engine validates the WASM SIMD probe' }
        : { name: 'wasm-scalar', backend: await wasm(false, options), reason: 'auto: this engine rejects the WASM SIMD probe' };
    default:
      throw new UnknownBackendError(name, BACKEND_NAMES);
  }
}
