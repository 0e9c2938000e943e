// Web Worker entry of a kernel thread in a browser (browser-threads.ts; bundled by
// scripts/build-embed.mjs as /embed/kernel-thread.js): its first message is the ThreadStart; it
// instantiates the shared-memory kernel build over the engine's memory, answers 'ready', then
// serves its control block until told to stop.

import type { KernelExports } from './instantiate.js';
import { serveKernels, type ThreadStart } from './threads.js';

self.addEventListener(
  'message',
  (e: MessageEvent<ThreadStart>) => {
    const { module, memory, control } = e.data;
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    self.postMessage('ready');
    serveKernels(instance.exports as unknown as KernelExports, memory, control);
  },
  { once: true },
);
