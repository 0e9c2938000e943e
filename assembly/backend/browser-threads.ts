// Browser: the kernel threads' spawner (threads.ts) on module Web Workers running the bundle of
// browser-thread-worker.ts (the embed serves it as /embed/kernel-thread.js). Only a Worker can
// host the engine that spawns them (the caller waits in Atomics.wait, refused on a page's main
// thread), on a cross-origin-isolated page (a shared WebAssembly.Memory is a SharedArrayBuffer).

import type { ThreadSpawner } from './threads.js';

/**
 * A spawner of kernel threads from the URL of the kernel-thread script, for
 * `createWasmBackend({ module, threads, spawnThread })`; a thread that fails to start rejects.
 * @example createWasmBackend({ module: mtModule, build: 'relaxed', threads: 'auto', spawnThread: browserKernelThread(url) });
 */
export function browserKernelThread(url: string | URL): ThreadSpawner {
  return (start) =>
    new Promise((resolve, reject) => {
      const worker = new Worker(url, { type: 'module' });
      const fail = (why: string) => {
        worker.terminate();
        reject(new Error(`a kernel thread did not start: ${why}`));
      };
      worker.addEventListener('error', (e) => fail(e.message || 'the script failed to load'), { once: true });
      worker.addEventListener('messageerror', () => fail('the memory or module could not be sent'), { once: true });
      worker.addEventListener('message', () => resolve({ terminate: () => worker.terminate() }), { once: true });
      worker.postMessage(start);
    });
}
