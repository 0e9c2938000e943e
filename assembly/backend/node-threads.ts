// Node-only: the kernel threads' spawner (threads.ts) on worker_threads, and the default thread
// count. Kept apart so Workers and browsers never load node:worker_threads.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { compiledBeside } from '../../runtime/paths.js';
import { threadCount, type ThreadSpawner } from './threads.js';

/** The environment variable that sets the wasm backend's thread count in Node (and the CLI). */
export const THREADS_ENV = 'EDGETRON_THREADS';

/**
 * Start one kernel thread (thread-worker.js) and resolve once it serves; it does not keep the process alive.
 * @example const threads = await KernelThreads.start(heap, module, exports, 1, spawnNodeThread);
 */
export const spawnNodeThread: ThreadSpawner = (start) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(compiledBeside(import.meta.url, 'thread-worker.js'), { workerData: start });
    worker.unref();
    worker.once('error', reject);
    worker.once('message', () => resolve({ terminate: () => void worker.terminate() }));
  });

/**
 * Threads for the wasm backend: `requested`, else $EDGETRON_THREADS ('auto': the cores this process may use), else 1.
 * @example nodeThreadCount('auto'); // 2 on a 2-core machine
 */
export function nodeThreadCount(requested?: number | 'auto'): number {
  return threadCount(requested ?? process.env[THREADS_ENV] ?? 1, requested !== undefined ? 'threads' : THREADS_ENV, availableParallelism());
}
