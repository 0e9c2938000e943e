// House style H24: the one place that chooses a backend (DESIGN §2). A name can force any
// backend; `auto` takes the WASM SIMD build when this engine validates the SIMD probe module
// (`simdSupported`, assembly/backend/instantiate.ts), else the scalar WASM build. Every choice
// comes back with its reason. The wasm backend is imported on demand, so a command that never
// computes never loads it.

import type { Backend } from '../engine/backend.js';
import { UnknownBackendError } from '../engine/errors.js';
import { referenceBackend } from '../engine/reference/index.js';
import { simdSupported } from '../assembly/backend/instantiate.js';

/** Names accepted by `--backend`. */
export const BACKEND_NAMES = ['auto', 'wasm', 'wasm-scalar', 'reference'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The chosen backend, the name it was chosen as (what `--stats` reports), and why. */
export interface BackendChoice {
  readonly name: Exclude<BackendName, 'auto'>;
  readonly backend: Backend;
  readonly reason: string;
}

async function wasm(simd: boolean): Promise<Backend> {
  const { createWasmBackend, wasmScalarBackend } = await import('../assembly/backend/index.js');
  return simd ? createWasmBackend({ simd: true }, 'wasm') : wasmScalarBackend;
}

/**
 * Resolve a `--backend` name.
 * @example
 * const { backend, name, reason } = await pickBackend('auto'); // name 'wasm', reason 'this engine validates the WASM SIMD probe'
 */
export async function pickBackend(name: string = 'auto'): Promise<BackendChoice> {
  switch (name) {
    case 'reference':
      return { name, backend: referenceBackend, reason: 'requested' };
    case 'wasm':
      return { name, backend: await wasm(true), reason: 'requested' };
    case 'wasm-scalar':
      return { name, backend: await wasm(false), reason: 'requested' };
    case 'auto':
      return simdSupported()
        ? { name: 'wasm', backend: await wasm(true), reason: 'auto: this engine validates the WASM SIMD probe' }
        : { name: 'wasm-scalar', backend: await wasm(false), reason: 'auto: this engine rejects the WASM SIMD probe' };
    default:
      throw new UnknownBackendError(name, BACKEND_NAMES);
  }
}
