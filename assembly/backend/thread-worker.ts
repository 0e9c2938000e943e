// Node worker-thread entry of the kernel threads (threads.ts, started by node-threads.ts): an
// instance of the shared-memory kernel build over the engine's memory, serving its control block.

import { parentPort, workerData } from 'node:worker_threads';
import type { KernelExports } from './instantiate.js';
import { serveKernels, type ThreadStart } from './threads.js';

const { module, memory, control } = workerData as ThreadStart;
const instance = new WebAssembly.Instance(module, { env: { memory } });
parentPort!.postMessage('ready');
serveKernels(instance.exports as unknown as KernelExports, memory, control);
