// House style H24: the CLI's `--backend` (DESIGN §2). A name can force any backend; `auto`
// applies the one rule of runtime/backend-choice.ts to what this engine offers: a hardware
// adapter from `navigator.gpu` (never in Node, which has none; `--backend webgpu` forces Dawn
// there) and the WASM SIMD probe (`simdSupported`, assembly/backend/instantiate.ts). Every choice
// comes back with its reason. The wasm and webgpu backends are imported on demand, so a command that never computes
// never loads them.

import type { KvDtype } from '../assembly/backend/act.js';
import type { Backend } from '../engine/core/backend.js';
import { UnknownBackendError } from '../engine/core/errors.js';
import { referenceBackend } from '../engine/reference/index.js';
import { simdSupported } from '../assembly/backend/instantiate.js';
import { chooseBackend } from '../runtime/backend-choice.js';

/** Names accepted by `--backend`. */
export const BACKEND_NAMES = ['auto', 'webgpu', 'wasm', 'wasm-scalar', 'reference'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The chosen backend, the name it was chosen as (what `--stats` reports), and why. */
export interface BackendChoice {
  readonly name: Exclude<BackendName, 'auto'>;
  readonly backend: Backend;
  readonly reason: string;
}

/** What a backend is built with: the wasm backend's thread count (WasmBackendOptions.threads; default $EDGETRON_THREADS, else 1) and attention cache type (kvDtype, default f32). */
export interface BackendOptions {
  readonly threads?: number | 'auto';
  readonly kvDtype?: KvDtype;
}

async function wasm(simd: boolean, options: BackendOptions): Promise<Backend> {
  const { createWasmBackend } = await import('../assembly/backend/index.js');
  return createWasmBackend({ simd, kvDtype: options.kvDtype, ...(simd ? { threads: options.threads } : {}) }, simd ? 'wasm' : 'wasm-scalar');
}

async function webgpu(): Promise<Backend> {
  return (await import('../gpu/index.js')).webgpuBackend;
}

/** Whether navigator.gpu offers a hardware (non-fallback) adapter, and why (for the reason). */
async function hardwareGpu(): Promise<{ ok: boolean; reason: string }> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return { ok: false, reason: 'no navigator.gpu' };
  const adapter = await gpu.requestAdapter();
  if (adapter === null) return { ok: false, reason: 'navigator.gpu has no adapter' };
  const fallback = (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback ? { ok: false, reason: 'navigator.gpu offers only a fallback adapter' } : { ok: true, reason: 'navigator.gpu offers a hardware adapter' };
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
    case 'auto': {
      const gpu = await hardwareGpu();
      const { backend, reason } = chooseBackend({ webgpu: gpu.ok, webgpuReason: gpu.reason, simd: simdSupported() });
      const loaded = backend === 'webgpu' ? await webgpu() : await wasm(backend === 'wasm', options);
      return { name: backend, backend: loaded, reason: `auto: ${reason}` };
    }
    default:
      throw new UnknownBackendError(name, BACKEND_NAMES);
  }
}
