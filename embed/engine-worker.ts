// The engine worker (DESIGN §2): the model runs here, never on the page's main thread. Built
// by scripts/build-embed.mjs into embed/engine.js, which the page fetches only when local mode
// starts and runs as a module Worker from a blob URL (so it works when the page is on another
// origin). It downloads the pack (download.ts), loads it (load.ts) on the chosen backend (webgpu: the
// device thread is a nested Worker running gpu-device.js; wasm: the relaxed-SIMD kernels where
// this engine validates relaxed SIMD (Chromium ≥ 114), else the SIMD ones; wasm-scalar: scalar;
// with kernel threads the relaxed kernels' shared-memory build, and kernel-thread.js as nested
// Workers, on a cross-origin-isolated page: the threads attribute, default auto),
// and answers chat requests with the worker's own request parser and generation loop
// (serve/validate.ts, serve/run.ts), so local and remote answers are the same stream.

import { browserKernelThread } from '../assembly/backend/browser-threads.js';
import { createWasmBackend } from '../assembly/backend/index.js';
import { relaxedSimdSupported, type KernelBuild } from '../assembly/backend/instantiate.js';
import type { Backend } from '../engine/core/backend.js';
import { NoGpuAdapterError, ThreadStartError } from '../engine/core/errors.js';
import { browserDeviceThread } from '../gpu/browser.js';
import { createWebGpuBackend } from '../gpu/index.js';
import { prepare, run, type ServedModel } from '../serve/run.js';
import { parseChatRequest } from '../serve/validate.js';
import type { ClientBackend } from '../serve/backend-choice.js';
import { openPackDownload } from './download.js';
import { DownloadError } from './errors.js';
import { loadDownloadedPack } from './load.js';
import { LOCAL_MODEL_ID, toWire, type FromEngine, type LoadOptions, type ToEngine } from './protocol.js';

/** Largest context a local model gets (prompt + completion). */
const LOCAL_MAX_CONTEXT = 4096;

const post = (m: FromEngine) => (self as unknown as { postMessage(m: FromEngine): void }).postMessage(m);

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url).catch((e: Error) => {
    throw new DownloadError(url, e.message);
  });
  if (!res.ok) throw new DownloadError(url, `HTTP ${res.status}`);
  return res.arrayBuffer();
}

/** The kernel build of a wasm backend here: assets/embed/edgetron-<build>.wasm. */
function kernelBuild(backend: 'wasm' | 'wasm-scalar'): KernelBuild {
  return backend === 'wasm-scalar' ? 'scalar' : relaxedSimdSupported() ? 'relaxed' : 'simd';
}

/** Packs at least this large get more than one kernel thread from threads="auto" (below it a hand-off costs about what it saves). */
const AUTO_THREADS_MIN_BYTES = 64 * 2 ** 20;
/** Most kernel threads threads="auto" starts. */
const AUTO_THREADS_MAX = 8;

/**
 * Kernel threads for a wasm backend (assembly/backend/threads.ts): the threads attribute's count,
 * or for 'auto' the cores (up to 8) when the pack is large enough; and why not more when it is
 * 1 (threads need the relaxed-SIMD build and a cross-origin-isolated page).
 */
function kernelThreads(options: LoadOptions, build: KernelBuild, packBytes: number): { count: number; why: string | null } {
  const cores = navigator.hardwareConcurrency || 1;
  const asked = options.threads === 'auto' ? (packBytes >= AUTO_THREADS_MIN_BYTES ? Math.min(cores, AUTO_THREADS_MAX) : 1) : options.threads;
  if (asked === 1) return { count: 1, why: null };
  if (build !== 'relaxed') return { count: 1, why: `kernel threads need the relaxed-SIMD build, not the ${build} one` };
  if (!self.crossOriginIsolated) return { count: 1, why: 'kernel threads need a cross-origin-isolated page (COOP/COEP) for shared memory' };
  return { count: asked, why: null };
}

/** The wasm backend on `threads` kernel threads (more than one: the shared-memory build and kernel-thread.js), or on one. */
async function wasmBackend(options: LoadOptions, backend: 'wasm' | 'wasm-scalar', threads: number): Promise<Backend> {
  const build = kernelBuild(backend);
  if (threads === 1) return createWasmBackend({ module: await WebAssembly.compile(await fetchBytes(new URL(`edgetron-${build}.wasm`, options.assetBase).href)), build }, backend);
  const module = await WebAssembly.compile(await fetchBytes(new URL('edgetron-relaxed-mt.wasm', options.assetBase).href));
  const script = URL.createObjectURL(new Blob([await fetchBytes(new URL('kernel-thread.js', options.assetBase).href)], { type: 'text/javascript' }));
  return createWasmBackend({ module, build, threads, spawnThread: browserKernelThread(script) }, backend);
}

async function gpuBackend(options: LoadOptions): Promise<Backend> {
  const code = await fetchBytes(new URL('gpu-device.js', options.assetBase).href);
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  return createWebGpuBackend({ spawn: () => browserDeviceThread(url) });
}

async function load(options: LoadOptions): Promise<ServedModel> {
  const files = await openPackDownload(options.packBase, {
    headers: options.headers,
    onProgress: (progress) => post({ kind: 'progress', id: 0, progress }),
    onNotice: (e) => post({ kind: 'notice', id: 0, error: toWire(e) }),
  });
  const budget = { bytes: options.memoryBudget, source: options.memorySource };
  const open = (backend: Backend) => loadDownloadedPack(files, { backend, maxContext: LOCAL_MAX_CONTEXT, budget });
  // on kernel threads where kernelThreads allows them; if their files cannot be fetched or they cannot start, on one, with a notice
  const oneThread = (threads: number, detail: string) => post({ kind: 'notice', id: 0, error: toWire(new ThreadStartError(threads, `${detail}; running on one thread`)) });
  const openWasm = async (backend: 'wasm' | 'wasm-scalar') => {
    const { count, why } = kernelThreads(options, kernelBuild(backend), files.totalBytes);
    if (why !== null && options.threads !== 'auto') oneThread(options.threads as number, why);
    if (count > 1) {
      let threaded: Backend | null = null;
      try {
        threaded = await wasmBackend(options, backend, count);
      } catch (e) {
        if (!(e instanceof DownloadError)) throw e;
        oneThread(count, e.message);
      }
      if (threaded) {
        try {
          return { session: await open(threaded), threads: count };
        } catch (e) {
          if (!(e instanceof ThreadStartError)) throw e;
          oneThread(count, e.detail);
        }
      }
    }
    return { session: await open(await wasmBackend(options, backend, 1)), threads: 1 };
  };
  let backend: ClientBackend = options.backend;
  let reason = 'chosen by the page';
  let session;
  let threads = 1;
  try {
    if (backend === 'webgpu') session = await open(await gpuBackend(options));
    else ({ session, threads } = await openWasm(backend));
  } catch (e) {
    if (backend !== 'webgpu' || !(e instanceof NoGpuAdapterError)) throw e;
    post({ kind: 'notice', id: 0, error: toWire(e) });
    backend = 'wasm';
    reason = `webgpu failed (${e.message}); WASM SIMD instead`;
    ({ session, threads } = await openWasm(backend));
  } finally {
    files.release();
  }
  post({ kind: 'ready', id: 0, backend, reason, threads });
  const maxContext = Math.min(LOCAL_MAX_CONTEXT, session.model.ops.config.maxPositionEmbeddings);
  return { id: LOCAL_MODEL_ID, session, maxContext, created: Math.floor(Date.now() / 1000) };
}

async function generate(model: ServedModel, id: number, body: Record<string, unknown>, signal: AbortSignal): Promise<void> {
  const prepared = prepare(model, parseChatRequest(body, model.id, model.maxContext, false));
  for await (const ev of run(model, prepared, signal)) {
    if (ev.kind === 'done') return post({ kind: 'done', id, finishReason: signal.aborted ? 'abort' : ev.finishReason });
    if (ev.delta.reasoning) post({ kind: 'token', id, token: 'reasoning', text: ev.delta.reasoning });
    if (ev.delta.content) post({ kind: 'token', id, token: 'content', text: ev.delta.content });
  }
  post({ kind: 'done', id, finishReason: 'abort' });
}

let model: Promise<ServedModel> | null = null;
const running = new Map<number, AbortController>();

self.onmessage = (e: MessageEvent<ToEngine>) => {
  const m = e.data;
  switch (m.kind) {
    case 'load':
      model = load(m.options);
      model.catch((err) => post({ kind: 'failed', id: 0, error: toWire(err) }));
      return;
    case 'generate': {
      const abort = new AbortController();
      running.set(m.id, abort);
      void (async () => {
        try {
          if (!model) throw new Error('the engine worker has no model: send load first');
          await generate(await model, m.id, m.body, abort.signal);
        } catch (err) {
          post({ kind: 'failed', id: m.id, error: toWire(err) });
        } finally {
          running.delete(m.id);
        }
      })();
      return;
    }
    case 'stop':
      running.get(m.id)?.abort();
      return;
  }
};
