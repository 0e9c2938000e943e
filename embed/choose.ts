// House style H24: the embed script's one place for environment detection and the choice of
// where the model runs. Every choice comes with its reason.
//   mode="remote"  → the worker's API (SSE)
//   mode="local"   → this tab: the backend the worker's GET /v1/backend advises from what the
//                    device reports (webgpu=1 only with an adapter on a cross-origin-isolated
//                    page, which the webgpu backend's SharedArrayBuffer reads need; simd from
//                    the WASM SIMD probe; memory_gb from navigator.deviceMemory), else the
//                    same rule here when that route cannot be reached
//   backend="…"   → forces the local backend (webgpu, wasm, wasm-scalar)
//   mode="auto"    → local when the advice is webgpu, or when the pack's shards are at most
//                    AUTO_LOCAL_WASM_BYTES for WASM; always within the memory budget; else remote

import { simdSupported } from '../assembly/backend/instantiate.js';
import { chooseBackend } from '../runtime/backend-choice.js';
import type { ClientBackend } from '../serve/backend-choice.js';
import { UnknownModeError } from './errors.js';
import { UnknownBackendError } from '../engine/core/errors.js';
import type { EmbedBackend } from './protocol.js';

export type Mode = 'auto' | 'local' | 'remote';
const MODES: readonly Mode[] = ['auto', 'local', 'remote'];
const CLIENT_BACKENDS: readonly ClientBackend[] = ['webgpu', 'wasm', 'wasm-scalar'];

/** Largest pack auto mode runs on WASM in the tab (bigger ones stream from the worker). */
export const AUTO_LOCAL_WASM_BYTES = 256 * 2 ** 20;
/** Memory assumed when the browser does not say (navigator.deviceMemory is Chromium-only). */
const DEFAULT_DEVICE_MEMORY_GB = 4;
/** Share of the device's memory the model may take in one tab. */
const MEMORY_SHARE = 0.5;
/** A WASM memory holds at most 4 GiB. */
const WASM_MEMORY_BYTES = 4 * 2 ** 30;

/** What this browser can do. */
export interface Capabilities {
  /** A WebGPU adapter exists and the page is cross-origin isolated. */
  readonly webgpu: boolean;
  readonly webgpuReason: string;
  readonly simd: boolean;
  /** navigator.deviceMemory (GB), or null when the browser does not tell. */
  readonly memoryGb: number | null;
}

/**
 * Probe this browser (asks navigator.gpu for an adapter: a few ms).
 * @example const caps = await probeCapabilities(); // { webgpu: false, webgpuReason: 'no navigator.gpu', simd: true, memoryGb: 8 }
 */
export async function probeCapabilities(): Promise<Capabilities> {
  const nav = navigator as Navigator & { deviceMemory?: number };
  const memoryGb = typeof nav.deviceMemory === 'number' ? nav.deviceMemory : null;
  const simd = simdSupported();
  const base = { simd, memoryGb };
  if (!nav.gpu) return { ...base, webgpu: false, webgpuReason: 'no navigator.gpu' };
  if (!globalThis.crossOriginIsolated) return { ...base, webgpu: false, webgpuReason: 'the page is not cross-origin isolated (COOP/COEP), so no SharedArrayBuffer' };
  const adapter = await nav.gpu.requestAdapter().catch(() => null);
  return adapter ? { ...base, webgpu: true, webgpuReason: 'a WebGPU adapter' } : { ...base, webgpu: false, webgpuReason: 'navigator.gpu has no adapter' };
}

/**
 * The `mode` attribute, checked.
 * @example parseMode(null); // 'auto'
 */
export function parseMode(text: string | null): Mode {
  const mode = (text ?? 'auto').trim().toLowerCase();
  if (!(MODES as readonly string[]).includes(mode)) throw new UnknownModeError(text ?? '');
  return mode as Mode;
}

/**
 * Bytes the model may use in this tab, and where that number comes from.
 * @example memoryBudget(caps, 'wasm', null); // { bytes: 2147483648, source: 'half of the 4 GB this device reports' }
 */
export function memoryBudget(caps: Capabilities, backend: ClientBackend, overrideMb: number | null): { bytes: number; source: string } {
  if (overrideMb !== null) return { bytes: overrideMb * 2 ** 20, source: 'the memory-budget-mb attribute' };
  const gb = caps.memoryGb ?? DEFAULT_DEVICE_MEMORY_GB;
  const bytes = gb * 2 ** 30 * MEMORY_SHARE;
  const source = caps.memoryGb === null ? `half of the ${gb} GB assumed (the browser does not report its memory)` : `half of the ${gb} GB this device reports`;
  return backend !== 'webgpu' && bytes > WASM_MEMORY_BYTES ? { bytes: WASM_MEMORY_BYTES, source: 'a WASM memory (4 GiB)' } : { bytes, source };
}

/**
 * The `backend` attribute (forces the local backend), checked; null when absent.
 * @example forcedBackend('wasm'); // { backend: 'wasm', reason: 'forced by the backend attribute' }
 */
export function forcedBackend(text: string | null): { backend: ClientBackend; reason: string } | null {
  if (text === null) return null;
  if (!(CLIENT_BACKENDS as readonly string[]).includes(text)) throw new UnknownBackendError(text, CLIENT_BACKENDS);
  return { backend: text as ClientBackend, reason: 'forced by the backend attribute' };
}

/** The client backend by the one rule (runtime/backend-choice.ts), for when /v1/backend cannot be asked. */
function localRule(caps: Capabilities): { backend: ClientBackend; reason: string } {
  return chooseBackend({ webgpu: caps.webgpu, webgpuReason: caps.webgpuReason, simd: caps.simd });
}

/**
 * The client backend: the worker's advice for these capabilities, else the same rule here.
 * @example await adviseBackend('https://x', caps, {}); // { backend: 'wasm', reason: 'the client reports WASM SIMD and no WebGPU' }
 */
export async function adviseBackend(endpoint: string | null, caps: Capabilities, headers: Readonly<Record<string, string>>): Promise<{ backend: ClientBackend; reason: string }> {
  if (endpoint === null) return localRule(caps);
  const url = new URL('v1/backend', endpoint);
  url.searchParams.set('webgpu', caps.webgpu ? '1' : '0');
  url.searchParams.set('simd', caps.simd ? '1' : '0');
  if (caps.memoryGb !== null) url.searchParams.set('memory_gb', String(caps.memoryGb));
  try {
    const res = await fetch(url, { headers });
    if (!res.ok) return localRule(caps);
    const advice = ((await res.json()) as { client?: { backend?: ClientBackend; reason?: string } }).client;
    return advice?.backend ? { backend: advice.backend, reason: `the worker's advice: ${advice.reason}` } : localRule(caps);
  } catch {
    return localRule(caps);
  }
}

/**
 * Where auto mode runs the model, given the advice and the pack's shard bytes.
 * @example autoChoice({ backend: 'wasm', reason: '…' }, 1e6, 2 ** 31); // { backend: 'wasm', reason: 'auto: …' }
 */
export function autoChoice(advice: { backend: ClientBackend; reason: string }, packBytes: number | null, budgetBytes: number): { backend: EmbedBackend; reason: string } {
  if (packBytes === null) return { backend: 'remote', reason: 'auto: the pack cannot be reached, so the worker runs the model' };
  const mib = (packBytes / 2 ** 20).toFixed(1);
  if (packBytes * 2 > budgetBytes) return { backend: 'remote', reason: `auto: the ${mib} MiB model does not fit this tab's memory budget` };
  if (advice.backend === 'webgpu') return { backend: 'webgpu', reason: `auto: ${advice.reason}` };
  if (packBytes <= AUTO_LOCAL_WASM_BYTES) return { backend: advice.backend, reason: `auto: the ${mib} MiB model runs in this tab (${advice.reason})` };
  return { backend: 'remote', reason: `auto: the ${mib} MiB model is too big for WASM in a tab; the worker runs it` };
}
