// Node worker-thread entry of the shard supervisor (node-shards.ts): it starts the shard threads
// and watches them. The front blocks in Atomics.wait while a shard computes, so it cannot hear a
// thread's 'exit' itself; this thread's event loop stays free to hear it and marks the shard's
// channel GONE with the reason (shard-channel.ts), which wakes the front.
// Messages from the front: { spawn: { id, entry, channel, workerData } }, { kill: { id, afterMs } },
// { stop: { id } }. To the front: { id, progress }, { id, ready }, { id, gone: reason }.

import { parentPort, Worker } from 'node:worker_threads';
import { markGone } from './shard-channel.js';

interface Spawn {
  readonly id: number;
  readonly entry: string;
  readonly channel: SharedArrayBuffer;
  readonly workerData: unknown;
}

const threads = new Map<number, Worker>();
const stopping = new Set<Worker>();

function spawn({ id, entry, channel, workerData }: Spawn): void {
  const worker = new Worker(entry, { workerData: { ...(workerData as object), channel } });
  worker.unref();
  threads.set(id, worker);
  let error = '';
  worker.on('message', (m: { progress?: number; ready?: boolean }) => parentPort!.postMessage({ id, ...m }));
  worker.on('error', (e) => {
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  });
  worker.on('exit', (code) => {
    if (threads.get(id) === worker) threads.delete(id);
    if (stopping.delete(worker)) return;
    const reason = error || `its thread exited with code ${code}`;
    markGone(channel, reason);
    parentPort!.postMessage({ id, gone: reason });
  });
}

parentPort!.on('message', (m: { spawn?: Spawn; kill?: { id: number; afterMs: number }; stop?: { id: number } }) => {
  if (m.spawn) spawn(m.spawn);
  if (m.kill) {
    const { id, afterMs } = m.kill;
    setTimeout(() => void threads.get(id)?.terminate(), afterMs);
  }
  if (m.stop) {
    const worker = threads.get(m.stop.id);
    if (worker) {
      stopping.add(worker);
      threads.delete(m.stop.id);
      void worker.terminate();
    }
  }
});
