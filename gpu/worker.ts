// Entry of the device thread (bundled with the kernels into build/gpu-device.js by
// scripts/build-gpu.mjs). In a browser Worker the adapter comes from navigator.gpu; in a Node
// worker_threads Worker from Dawn (npm `webgpu`), loaded on demand so browsers never see it.

import type { DeviceMessage, FromDevice, ToDevice } from './channel.js';
import { Executor } from './executor.js';

interface Port {
  postMessage(m: FromDevice): void;
}

const DAWN = 'webgpu';
const WORKER_THREADS = 'node:worker_threads';

async function start(): Promise<void> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    const scope = globalThis as unknown as Port & { onmessage: ((e: MessageEvent<DeviceMessage>) => void) | null };
    const ex = new Executor(nav.gpu, (m) => scope.postMessage(m));
    scope.onmessage = (e) => ex.receive(e.data);
    return;
  }
  const { parentPort } = (await import(/* @vite-ignore */ WORKER_THREADS)) as typeof import('node:worker_threads');
  const dawn = (await import(/* @vite-ignore */ DAWN)) as { create(flags: string[]): GPU; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  const ex = new Executor(dawn.create([]), (m) => parentPort!.postMessage(m));
  parentPort!.on('message', (m: ToDevice) => {
    if (m.op === 'close') void ex.idle().then(() => process.exit(0)); // see CloseMessage
    else ex.receive(m);
  });
}

void start();
