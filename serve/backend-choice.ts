// DESIGN §2, house style H24: the worker's one place for backend choice. The Worker itself
// runs WASM SIMD where its engine validates the SIMD probe — the relaxed-SIMD kernel build where
// it validates that probe too (workerd does), else the SIMD build — else plain WASM (Workers have
// no WebGPU and no threads). `GET /v1/backend` advises a client (the embed script) by the one
// rule (runtime/backend-choice.ts) from what it reports (`?webgpu=`, `?simd=`; an adapter whose
// limits fit counts as WebGPU). Every choice can be forced (`?backend=`) and comes back with its
// reason.

import { bestKernelBuild, type KernelBuild } from '../assembly/backend/instantiate.js';
import { chooseBackend, type RunBackend } from '../runtime/backend-choice.js';
import { InvalidRequestError } from './errors.js';

/** Backends a client can run, with the embed bundle for each. */
export const CLIENT_BUNDLES: Record<RunBackend, string> = {
  webgpu: 'edgetron-webgpu.js',
  wasm: 'edgetron-wasm-simd.js',
  'wasm-scalar': 'edgetron-wasm.js',
};
export type ClientBackend = RunBackend;

/** A backend choice and why it was made. */
export interface BackendChoice<B extends string> {
  readonly backend: B;
  readonly reason: string;
}

const SERVER_CHOICES = {
  relaxed: { backend: 'wasm', build: 'relaxed', reason: 'the engine validates the WASM relaxed-SIMD probe' },
  simd: { backend: 'wasm', build: 'simd', reason: 'the engine validates the WASM SIMD probe, not the relaxed-SIMD one' },
  scalar: { backend: 'wasm-scalar', build: 'scalar', reason: 'the engine rejects the WASM SIMD probe' },
} as const;

/**
 * The Worker's own backend and its kernel build (build/edgetron-<build>.wasm).
 * @example serverBackend(); // { backend: 'wasm', build: 'relaxed', reason: 'the engine validates the WASM relaxed-SIMD probe' }
 */
export function serverBackend(): BackendChoice<'wasm' | 'wasm-scalar'> & { readonly build: KernelBuild } {
  return SERVER_CHOICES[bestKernelBuild()];
}

const flag = (v: string | null | undefined): boolean | undefined => (v === '1' || v === 'true' ? true : v === '0' || v === 'false' ? false : undefined);

/**
 * Advice for a client from `?backend=`, `?webgpu=`, `?simd=` and `?memory_gb=` (else the
 * Device-Memory client hint).
 * @example adviseClient(new URL('https://x/v1/backend?webgpu=1'), new Headers()); // { backend: 'webgpu', bundle: 'edgetron-webgpu.js', … }
 */
export function adviseClient(url: URL, headers: Headers): BackendChoice<ClientBackend> & { bundle: string; memoryGb: number | null } {
  const q = url.searchParams;
  const memoryText = q.get('memory_gb') ?? headers.get('sec-ch-device-memory') ?? headers.get('device-memory');
  const memoryGb = memoryText === null ? null : Number(memoryText);
  if (memoryGb !== null && !(Number.isFinite(memoryGb) && memoryGb > 0)) throw new InvalidRequestError('memory_gb', `memory_gb must be a positive number, got '${memoryText}'`);
  const forced = q.get('backend');
  const choose = (backend: ClientBackend, reason: string) => ({ backend, reason, bundle: CLIENT_BUNDLES[backend], memoryGb });
  if (forced !== null) {
    if (!(forced in CLIENT_BUNDLES)) {
      throw new InvalidRequestError('backend', `unknown backend '${forced}'; choose one of: ${Object.keys(CLIENT_BUNDLES).join(', ')}`);
    }
    return choose(forced as ClientBackend, 'requested');
  }
  for (const key of ['webgpu', 'simd']) {
    const v = q.get(key);
    if (v !== null && flag(v) === undefined) throw new InvalidRequestError(key, `${key} must be 0 or 1, got '${v}'`);
  }
  const webgpu = flag(q.get('webgpu')) ?? null;
  const webgpuReason = webgpu === null ? undefined : `the client reports ${webgpu ? 'a WebGPU adapter' : 'none'}`;
  const { backend, reason } = chooseBackend({ webgpu, webgpuReason, simd: flag(q.get('simd')) ?? null });
  return choose(backend, reason);
}
