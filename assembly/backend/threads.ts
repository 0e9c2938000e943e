// The wasm backend's kernel threads (DESIGN §2, speed): more instances of the shared-memory kernel
// build (build/edgetron-relaxed-mt.wasm, the relaxed-SIMD kernels over a shared
// WebAssembly.Memory) in worker threads. The calling thread hands each of them one part of a
// kernel call, runs its own part, then waits for theirs; linear.ts splits a linear weight's rows
// into parts of whole groups of 4 rows, so each output is computed by exactly the arithmetic of the
// call without threads (the same bits for any thread count).
// Protocol, one control block per worker thread in the shared heap (CONTROL_BYTES):
//   i32 words: [0] job number (the caller increments it to post a job, −1 stops the thread),
//   [1] the job number the thread finished, [2] the number of kernel calls in the job (1 …
//   MAX_CALLS), [3] 1 when the job threw, [4] the job number the thread started, [8 + c] the
//   kernel of call c (index in THREAD_KERNELS); f64 from ARGS_OFFSET: 13 arguments per call
//   (pointers as unsigned numbers, f32 values). A job's calls run in order (a program: e.g. an
//   expert's up product, relu², down product).
// A busy machine: when the worker threads keep not starting their part before the caller has
// finished its own (CONTENDED_RUNS calls in a row), they are not getting a core, and every
// hand-off would wait for the scheduler; the caller then runs every part itself for SOLO_RUNS
// calls (the same kernels on the same parts: the same bits), then tries the threads again.
// Waiting: both sides poll the other's word, then sleep (runtime/wait.ts), so decode — one linear
// call every few tens of microseconds — never pays a wake-up; the embed runs the engine in a Web
// Worker, where Atomics.wait is allowed.

import { InvalidOptionError, OpArgumentError } from '../../engine/core/errors.js';
import type { Heap } from './heap.js';
import type { KernelExports } from './instantiate.js';
import { AdaptiveWaiter } from '../../runtime/wait.js';

/** The kernels a worker thread can run (the linear products of linear.ts, the SSD decode step of mamba2.ts, relu² between an expert's products in moe.ts, a prefill's attention rows in attention.ts). */
export const THREAD_KERNELS = [
  'f32_ssd_step',
  'f32_relu2',
  'f32_attention',
  'bf16_attention',
  'f32_matmul',
  'bf16_matmul',
  'nvfp4_matmul_q16',
  'nvfp4_matmul_q16_rows4',
  'nvfp4_matmul_i8',
  'nvfp4_matmul_i8_rows4',
  'nvfp4s24_matmul_gather',
  'nvfp4s24_matmul_gather_rows4',
  'ggml_q8_0_matmul', 'ggml_q4_0_matmul', 'ggml_q4_k_matmul', 'ggml_q5_k_matmul', 'ggml_q6_k_matmul', // ggml-linear.ts
  'ggml_q4_1_matmul', 'ggml_q5_0_matmul', 'ggml_q5_1_matmul',
] as const satisfies readonly (keyof KernelExports)[];
export type ThreadKernel = (typeof THREAD_KERNELS)[number];

/** Default fewest multiply-adds per part for a product to be split (below it, handing a part out costs more than it saves; KernelThreads.minWork). */
export const MIN_PART_WORK = 1 << 17;

/** Calls in a row whose worker parts had not started when the caller finished its own: the machine has no core for them. */
const CONTENDED_RUNS = 16;
/** Calls the caller then runs alone before trying the worker threads again. */
const SOLO_RUNS = 256;

/** Most kernel calls in one job of a worker thread. */
export const MAX_CALLS = 16;
const KERNEL_WORD = 8;
const ARGS_OFFSET = 4 * (KERNEL_WORD + MAX_CALLS);
const MAX_ARGS = 13;
/** Bytes of one worker thread's control block. */
export const CONTROL_BYTES = ARGS_OFFSET + 8 * MAX_ARGS * MAX_CALLS;
const STOP = -1;

/** What a worker thread is started with: the compiled shared-memory build, its memory, its control block. */
export interface ThreadStart {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly control: number;
}

/** A started worker thread, as its spawner returns it once the thread is serving. */
export interface ThreadHandle {
  terminate(): void;
}

/** Starts one worker thread that calls serveKernels(start) (Node: node-threads.ts) and resolves once it serves. */
export type ThreadSpawner = (start: ThreadStart) => Promise<ThreadHandle>;

/**
 * A worker thread's loop: run the jobs posted to its control block with the kernels of its own
 * instance (`kernels`, over the shared memory) until told to stop.
 * @example serveKernels(instance.exports as KernelExports, memory, control); // in the worker
 */
export function serveKernels(kernels: KernelExports, memory: WebAssembly.Memory, control: number): void {
  const words = new Int32Array(memory.buffer, control, ARGS_OFFSET / 4);
  const args = new Float64Array(memory.buffer, control + ARGS_OFFSET, MAX_ARGS * MAX_CALLS);
  let seen = 0; // the block starts zeroed and jobs count from 1, so a job posted before this loop starts is not missed
  const waiter = new AdaptiveWaiter();
  for (;;) {
    waiter.wait(words, 0, seen);
    seen = Atomics.load(words, 0);
    if (seen === STOP) return;
    Atomics.store(words, 4, seen);
    try {
      for (let c = 0; c < words[2]; c++) {
        const kernel = kernels[THREAD_KERNELS[words[KERNEL_WORD + c]]] as (...a: number[]) => void;
        const a = c * MAX_ARGS;
        // every kernel takes at most 13 arguments; a wasm function ignores the ones past its own
        kernel(args[a], args[a + 1], args[a + 2], args[a + 3], args[a + 4], args[a + 5], args[a + 6], args[a + 7], args[a + 8], args[a + 9], args[a + 10], args[a + 11], args[a + 12]);
      }
      words[3] = 0;
    } catch {
      words[3] = 1;
    }
    Atomics.store(words, 1, seen);
    Atomics.notify(words, 1);
  }
}

/** Most threads a backend takes. */
const MAX_THREADS = 64;

/**
 * A thread count from an option `value` named `from`: a whole number from 1 to 64, or 'auto' for
 * `cores` (capped at 64); anything else is an InvalidOptionError.
 * @example threadCount('auto', 'threads', navigator.hardwareConcurrency); // 8 on an 8-core laptop
 */
export function threadCount(value: number | string, from: string, cores: number): number {
  if (value === 'auto') return Math.max(1, Math.min(MAX_THREADS, Math.floor(cores)));
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new InvalidOptionError(from, String(value), `auto or a whole number of threads from 1 to ${MAX_THREADS}`);
  return n;
}

/**
 * Boundaries of `parts` near-equal parts of `units` units (units are what a part may not cut:
 * groups of 4 rows, groups of SSD heads): parts + 1 increasing numbers from 0 to units.
 * @example partBounds(10, 3); // [0, 3, 7, 10]
 */
export function partBounds(units: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, i) => Math.round((i * units) / parts));
}

/**
 * Parts to split a call of `work` multiply-adds into, over at most `units` indivisible units: 1
 * without kernel threads, else as many as there are threads while each part keeps minWork.
 * @example threadParts(ctx.threads, T * K * N, Math.floor(N / 16)); // rows in groups of 16
 */
export function threadParts(threads: KernelThreads | undefined, work: number, units: number): number {
  return threads ? Math.min(threads.count, units, Math.floor(work / Math.max(threads.minWork, 1))) : 1;
}

/** One part of a kernel call: the kernel and its arguments. */
export interface KernelPart {
  readonly kernel: ThreadKernel;
  readonly args: readonly number[];
}

/** What one thread runs for one job: a kernel call, or up to MAX_CALLS of them in order. */
export type ThreadJob = KernelPart | readonly KernelPart[];

const callsOf = (job: ThreadJob): readonly KernelPart[] => ('kernel' in job ? [job] : job);

/** Run a job's calls in order on `kernels`. */
function runCalls(job: ThreadJob, kernels: KernelExports): void {
  for (const part of callsOf(job)) (kernels[part.kernel] as (...a: number[]) => void)(...part.args);
}

/**
 * The calling thread's pool of kernel threads over one shared heap.
 * @example
 * const threads = await KernelThreads.start(kernels.heap, module, kernels.exports, 1, spawnNodeThread);
 * threads.run([{ kernel: 'f32_matmul', args: [x, w2, y2, 1, K, N2] }], () => exports.f32_matmul(x, w, y, 1, K, N1));
 */
export class KernelThreads {
  private job = 0;
  private readonly waiter = new AdaptiveWaiter();
  /** Calls in a row whose worker parts started late; then calls left to run on the caller alone. */
  private late = 0;
  private solo = 0;
  // views of the control blocks; a shared memory's buffer is never detached, so they stay valid after growth
  private readonly words: Int32Array[];
  private readonly args: Float64Array[];

  private constructor(
    private readonly heap: Heap,
    private readonly controls: readonly number[],
    private readonly handles: readonly ThreadHandle[],
    /** Fewest multiply-adds a part of a product must have for the product to be split (linear.ts). */
    readonly minWork: number,
    /** The caller's own instance of the kernels (runs the parts itself on a busy machine). */
    private readonly kernels: KernelExports,
  ) {
    this.words = controls.map((c) => new Int32Array(heap.memory.buffer, c, ARGS_OFFSET / 4));
    this.args = controls.map((c) => new Float64Array(heap.memory.buffer, c + ARGS_OFFSET, MAX_ARGS * MAX_CALLS));
  }

  /** Start `workers` worker threads (besides the caller) over `heap`'s shared memory, each with its control block; if one fails to start, those that did are stopped and its error is thrown. */
  static async start(heap: Heap, module: WebAssembly.Module, kernels: KernelExports, workers: number, spawn: ThreadSpawner, minWork = MIN_PART_WORK): Promise<KernelThreads> {
    const controls = Array.from({ length: workers }, () => heap.allocZeroed(CONTROL_BYTES));
    const started = await Promise.allSettled(controls.map((control) => spawn({ module, memory: heap.memory, control })));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      // the threads that did start are stopped, so none is left waiting on its control block
      for (const s of started) if (s.status === 'fulfilled') s.value.terminate();
      for (const control of controls) heap.free(control);
      throw failed.reason;
    }
    return new KernelThreads(heap, controls, started.map((s) => (s as PromiseFulfilledResult<ThreadHandle>).value), minWork, kernels);
  }

  /** Threads that run a call's parts: the worker threads and the caller. */
  get count(): number {
    return this.controls.length + 1;
  }

  /** Run parts[i] (a call or a program of calls) on worker thread i and `own` on the caller, and return once all are done; a part that threw makes this throw. */
  run(parts: readonly ThreadJob[], own: () => void): void {
    if (parts.length > this.controls.length) throw new OpArgumentError('threads', `${parts.length} parts for ${this.controls.length} worker threads`);
    for (const part of parts) if (callsOf(part).length > MAX_CALLS) throw new OpArgumentError('threads', `${callsOf(part).length} kernel calls in one job (at most ${MAX_CALLS})`);
    if (this.solo > 0) {
      this.solo--;
      own();
      for (const part of parts) runCalls(part, this.kernels);
      return;
    }
    const job = ++this.job;
    const words = parts.map((part, i) => {
      const w = this.words[i];
      const calls = callsOf(part);
      calls.forEach((call, c) => {
        this.args[i].set(call.args, c * MAX_ARGS);
        w[KERNEL_WORD + c] = THREAD_KERNELS.indexOf(call.kernel);
      });
      w[2] = calls.length;
      Atomics.store(w, 0, job);
      Atomics.notify(w, 0);
      return w;
    });
    let failed = false;
    try {
      own();
      this.late = words.some((w) => Atomics.load(w, 4) !== job) ? this.late + 1 : 0;
      if (this.late >= CONTENDED_RUNS) {
        this.late = 0;
        this.solo = SOLO_RUNS;
      }
    } finally {
      // even when `own` throws: a control block is reused only once its thread is done with it
      for (const w of words) {
        // wait on the value seen, never on a fresh read: the job may finish between the test and the wait
        for (let done = Atomics.load(w, 1); done !== job; done = Atomics.load(w, 1)) this.waiter.wait(w, 1, done);
        failed ||= w[3] !== 0;
      }
    }
    if (failed) throw new OpArgumentError('threads', 'a kernel failed in a worker thread');
  }

  /** Run parts[0] on the caller with `kernels` (its own instance) and the others on worker threads 0, 1, …; return once all are done. */
  runAll(parts: readonly ThreadJob[], kernels: KernelExports): void {
    const [own, ...rest] = parts;
    this.run(rest, () => runCalls(own, kernels));
  }

  /** Stop and release the worker threads (their control blocks are freed). */
  dispose(): void {
    for (const w of this.words) {
      Atomics.store(w, 0, STOP);
      Atomics.notify(w, 0);
    }
    for (const handle of this.handles) handle.terminate();
    for (const control of this.controls) this.heap.free(control);
  }
}
