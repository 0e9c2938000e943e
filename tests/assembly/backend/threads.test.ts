// The wasm backend's kernel threads (assembly/backend/threads.ts): a linear product split over
// worker threads must give exactly the outputs of one thread, for every weight format and layout
// (f32; nvfp4 and nvfp4-s24 in rows4, and in ModelOpt where a scale byte keeps a weight out of
// rows4), prefill and decode, with uneven parts (3 threads, N mod 4 ≠ 0 rows in the last part);
// so must the SSD decode step split by heads (tiny: 2 groups; demo: 1 group, heads split freely).
// A kernel that traps in a worker thread is reported, not hung on, and the pool still works after;
// a job of several calls (an expert: product, relu², product) runs them in order.
// The browser embed's path (the shared-memory build given as a module, threads from a spawner)
// gives the same logits; a module without shared memory, or a thread that fails to start, is a
// clear error with no thread left running.

import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import { createWasmBackend, type WasmModel } from '../../../assembly/backend/index.js';
import { instantiateKernels, type WasmKernels } from '../../../assembly/backend/instantiate.js';
import { spawnNodeThread, THREADS_ENV } from '../../../assembly/backend/node-threads.js';
import { enableRelaxedSimd, readKernelBuild } from '../../../assembly/backend/node-wasm.js';
import { KernelThreads, MAX_CALLS, type ThreadSpawner } from '../../../assembly/backend/threads.js';
import { parseConfig, type ModelConfig } from '../../../engine/core/config.js';
import { InvalidOptionError, OpArgumentError, ThreadStartError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors, type MemoryTensor } from '../../helpers/memory-store.js';
import { quantizedModelTensors } from '../../helpers/quantized-store.js';

const config = parseConfig(presetConfig('tiny'));
const demo = parseConfig(presetConfig('demo'));
const PROMPT = new Int32Array([1, 17, 300, 4, 4, 99, 511, 0, 42]);

/** The nvfp4 tensors with one scale byte of the first expert's up projection negative: that weight stays ModelOpt (tensors.ts). */
function withModelOptWeight(raw: Record<string, MemoryTensor>): Record<string, MemoryTensor> {
  const name = 'backbone.layers.1.mixer.experts.0.up_proj.weight_scale';
  const scales = Uint8Array.from(raw[name].data as Uint8Array);
  scales[3] |= 0x80;
  return { ...raw, [name]: { ...raw[name], data: scales } };
}

const FORMATS: [string, ModelConfig, () => Record<string, MemoryTensor>][] = [
  ['tiny f32', config, () => randomModelTensors(config, 21)],
  ['tiny nvfp4', config, () => withModelOptWeight(quantizedModelTensors(config, 22, 'nvfp4'))],
  ['tiny nvfp4-s24', config, () => quantizedModelTensors(config, 23, 'nvfp4-s24')],
  ['demo f32 (one SSD group)', demo, () => randomModelTensors(demo, 24)],
];

const models: Model[] = [];
afterEach(() => {
  for (const m of models.splice(0)) m.ops.dispose();
});

async function load(cfg: ModelConfig, raw: Record<string, MemoryTensor>, threads: number): Promise<Model> {
  const backend = createWasmBackend({ build: 'relaxed', threads, threadMinWork: 0 }); // split every product that has ≥ 16 rows a thread
  const model = new Model(await backend.load(cfg, memoryTensors(cfg, raw)));
  models.push(model);
  return model;
}

/** Prefill logits at every position, then three decode steps. */
function run(model: Model): Float32Array[] {
  const seq = model.newSequence(32);
  const out = [model.forward(seq, PROMPT, 'all')];
  for (const t of [5, 77, 500]) out.push(model.forward(seq, new Int32Array([t])));
  return out;
}

describe.each(FORMATS)('%s', (_, cfg, tensors) => {
  test('3 threads give the logits of 1 thread bit for bit (prefill and decode)', async () => {
    enableRelaxedSimd();
    const raw = tensors();
    const [one, three] = [await load(cfg, raw, 1), await load(cfg, raw, 3)];
    expect((three.ops as WasmModel).threads).toBe(3);
    expect((one.ops as WasmModel).threads).toBe(1);
    const [a, b] = [run(one), run(three)];
    for (let i = 0; i < a.length; i++) expect(Buffer.from(b[i].buffer).equals(Buffer.from(a[i].buffer))).toBe(true);
  }, 60_000);
});

test('the threaded MoE experts and attention rows give back every buffer they take: heap use after passes equals before', async () => {
  enableRelaxedSimd();
  const model = await load(config, quantizedModelTensors(config, 22, 'nvfp4'), 3);
  const ops = model.ops as WasmModel;
  const seq = model.newSequence(32);
  const before = ops.usedBytes();
  model.forward(seq, PROMPT, 'all'); // prefill: attention rows in parts
  for (const t of [5, 77]) model.forward(seq, new Int32Array([t])); // decode: experts as whole jobs
  expect(ops.usedBytes()).toBe(before);
  seq.free();
});

test('builds without relaxed SIMD run on one thread', async () => {
  const model = new Model(await createWasmBackend({ build: 'simd', threads: 2 }).load(config, memoryTensors(config, randomModelTensors(config, 3))));
  models.push(model);
  expect((model.ops as WasmModel).threads).toBe(1);
});

test('a bad thread count is refused with InvalidOptionError, from the option or from the environment', async () => {
  const tensors = memoryTensors(config, randomModelTensors(config, 3));
  for (const threads of [0, 1.5, 65]) await expect(createWasmBackend({ threads }).load(config, tensors)).rejects.toThrow(InvalidOptionError);
  const saved = process.env[THREADS_ENV];
  process.env[THREADS_ENV] = 'many';
  try {
    await expect(createWasmBackend().load(config, tensors)).rejects.toThrow(THREADS_ENV);
  } finally {
    if (saved === undefined) delete process.env[THREADS_ENV];
    else process.env[THREADS_ENV] = saved;
  }
});

/** The shared-memory relaxed build with one kernel thread, given x (16), W (16 × 16) and y (16) in its heap; the thread is stopped after. */
async function withOneThread(body: (threads: KernelThreads, kernels: WasmKernels, x: number, w: number, y: number) => void): Promise<void> {
  enableRelaxedSimd();
  const kernels = await instantiateKernels(await readKernelBuild('relaxed', true), true, true);
  const threads = await KernelThreads.start(kernels.heap, kernels.module, kernels.exports, 1, spawnNodeThread);
  try {
    const { heap } = kernels;
    body(threads, kernels, heap.allocZeroed(64), heap.allocZeroed(16 * 16 * 4), heap.alloc(64));
  } finally {
    threads.dispose();
  }
}

test('a kernel that traps in a worker thread makes run throw, the pool serves the next job, and a throwing own part waits for the workers', async () => {
  await withOneThread((threads, kernels, x, w, y) => {
    const { heap } = kernels;
    heap.f32(w, 256).fill(1);
    heap.f32(x, 16).fill(2);
    const outside = heap.memory.buffer.byteLength; // reading W there traps
    expect(() => threads.run([{ kernel: 'f32_matmul', args: [x, outside, y, 1, 16, 16] }], () => {})).toThrow(OpArgumentError);
    threads.run([{ kernel: 'f32_matmul', args: [x, w, y, 1, 16, 16] }], () => {});
    expect([...heap.f32(y, 16)]).toEqual(new Array(16).fill(32)); // Σ_k 1 · 2 over K = 16
    // the caller's own part throwing: its error comes out once the worker's part is done
    heap.f32(y, 16).fill(0);
    expect(() =>
      threads.run([{ kernel: 'f32_matmul', args: [x, w, y, 1, 16, 16] }], () => {
        throw new Error('own part');
      }),
    ).toThrow('own part');
    expect([...heap.f32(y, 16)]).toEqual(new Array(16).fill(32));
  });
});

/**
 * A stand-in worker thread that takes every job 3 ms late, as a thread that gets no core on a busy
 * machine: it marks the job started (word 4) and finished (word 1) without computing it.
 */
const LATE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const words = new Int32Array(workerData.memory.buffer, workerData.control, 8);
const pause = new Int32Array(new SharedArrayBuffer(4));
parentPort.postMessage('ready');
for (let seen = 0; ; ) {
  Atomics.wait(words, 0, seen);
  seen = Atomics.load(words, 0);
  if (seen === -1) break;
  Atomics.wait(pause, 0, 0, 3);
  Atomics.store(words, 4, seen);
  Atomics.store(words, 1, seen);
  Atomics.notify(words, 1);
}`;

const spawnLateThread: ThreadSpawner = (start) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(LATE_WORKER, { eval: true, workerData: start });
    worker.unref();
    worker.once('error', reject);
    worker.once('message', () => resolve({ terminate: () => void worker.terminate() }));
  });

test('worker threads that keep starting their part after the caller finished its own: the caller runs the parts itself, with the same results', async () => {
  enableRelaxedSimd();
  const kernels = await instantiateKernels(await readKernelBuild('relaxed', true), true, true);
  const threads = await KernelThreads.start(kernels.heap, kernels.module, kernels.exports, 1, spawnLateThread);
  try {
    const { heap } = kernels;
    const [x, w, y] = [heap.allocZeroed(64), heap.allocZeroed(16 * 16 * 4), heap.alloc(64)];
    heap.f32(w, 256).fill(1);
    heap.f32(x, 16).fill(3);
    const part = { kernel: 'f32_matmul' as const, args: [x, w, y, 1, 16, 16] };
    const state = threads as unknown as { solo: number; job: number };
    for (let call = 0; call < 16; call++) {
      expect(state.solo, `call ${call}`).toBe(0);
      heap.f32(y, 16).fill(0);
      threads.run([part], () => {});
      expect(heap.f32(y, 16)[0]).toBe(0); // the stand-in did not compute it
    }
    // 16 late calls in a row: the next ones run on the caller, and post nothing
    expect(state.solo).toBeGreaterThan(0);
    const jobs = state.job;
    threads.run([part], () => {});
    expect([...heap.f32(y, 16)]).toEqual(new Array(16).fill(48)); // Σ_k 1 · 3 over K = 16
    expect(state.job).toBe(jobs);
  } finally {
    threads.dispose();
  }
});

describe('threads from a given module and spawner (the browser embed path)', () => {
  test('the shared-memory build as `module` with `spawnThread`: 3 threads give the logits of 1 thread bit for bit', async () => {
    enableRelaxedSimd();
    const raw = quantizedModelTensors(config, 25, 'nvfp4-s24');
    const module = await WebAssembly.compile(await readKernelBuild('relaxed', true));
    const spawned: number[] = [];
    const spawnThread: ThreadSpawner = (start) => (spawned.push(start.control), spawnNodeThread(start));
    const threaded = new Model(await createWasmBackend({ module, build: 'relaxed', threads: 3, threadMinWork: 0, spawnThread }).load(config, memoryTensors(config, raw)));
    models.push(threaded);
    expect((threaded.ops as WasmModel).threads).toBe(3);
    expect(spawned).toHaveLength(2);
    const one = await load(config, raw, 1);
    const [a, b] = [run(one), run(threaded)];
    for (let i = 0; i < a.length; i++) expect(Buffer.from(b[i].buffer).equals(Buffer.from(a[i].buffer))).toBe(true);
  }, 60_000);

  test('threads > 1 with a module built without shared memory is refused by name', async () => {
    enableRelaxedSimd();
    const module = await WebAssembly.compile(await readKernelBuild('relaxed'));
    const load = createWasmBackend({ module, build: 'relaxed', threads: 2, spawnThread: spawnNodeThread }).load(config, memoryTensors(config, randomModelTensors(config, 3)));
    await expect(load).rejects.toThrow(/edgetron-relaxed-mt\.wasm/);
  });

  test('a thread that fails to start: the ones that started are stopped and the load fails with its error', async () => {
    enableRelaxedSimd();
    const module = await WebAssembly.compile(await readKernelBuild('relaxed', true));
    const stopped: number[] = [];
    let n = 0;
    const spawnThread: ThreadSpawner = async (start) => {
      if (++n === 2) throw new Error('a kernel thread did not start: no Worker here');
      const handle = await spawnNodeThread(start);
      return { terminate: () => (stopped.push(start.control), handle.terminate()) };
    };
    const load = createWasmBackend({ module, build: 'relaxed', threads: 4, spawnThread }).load(config, memoryTensors(config, randomModelTensors(config, 3)));
    await expect(load).rejects.toThrow(ThreadStartError);
    await expect(load).rejects.toThrow('wasm: 4 kernel threads could not start: a kernel thread did not start: no Worker here');
    expect(n).toBe(3);
    expect(stopped).toHaveLength(2);
  });
});

test('a job of several kernel calls runs them in order on the worker thread; more than MAX_CALLS is refused', async () => {
  await withOneThread((threads, kernels, x, w, y) => {
    const { heap } = kernels;
    heap.f32(w, 256).forEach((_, i, a) => (a[i] = (i % 16) - 7.5)); // row n: −7.5 … 7.5 by column
    heap.f32(x, 16).fill(1);
    // y = W · x (every row sums to 0), then relu², then W · relu²(y)… in that order: the second product reads the first's output
    const matvec = { kernel: 'f32_matmul' as const, args: [x, w, y, 1, 16, 16] };
    heap.f32(x, 16).forEach((_, i, a) => (a[i] = i)); // y_n = Σ_k k·(k − 7.5) = 340
    threads.run([[matvec, { kernel: 'f32_relu2', args: [y, 16] }]], () => {});
    expect([...heap.f32(y, 16)]).toEqual(new Array(16).fill(340 * 340));
    // the order matters: relu² first (on x = 0 … 15), then the product of the squared x
    threads.run([[{ kernel: 'f32_relu2', args: [x, 16] }, matvec]], () => {});
    expect([...heap.f32(y, 16)]).toEqual(new Array(16).fill(Array.from({ length: 16 }, (_, k) => k * k * (k - 7.5)).reduce((a, b) => a + b, 0)));
    expect(() => threads.run([new Array(MAX_CALLS + 1).fill(matvec)], () => {})).toThrow(OpArgumentError);
  });
});
