// DESIGN §2: the `wasm` backend. AssemblyScript kernels (assembly/kernels) compiled to WASM with
// v128 SIMD ('wasm': the relaxed-SIMD build where the engine runs it, else the SIMD build), or
// without SIMD for engines that lack it ('wasm-scalar'). JS only
// orchestrates: weights, activations and sequence state live in one WASM memory (heap.ts), one
// file per block (mamba2.ts, attention.ts, moe.ts, mlp.ts), state in state.ts.
//
// For benchmarks, `loadKernels()` returns a `WasmKernels` handle: `heap` (alloc/free/views) and
// `exports`, the raw kernels. To time a raw matvec: put W (N, K) and x (K) in the heap, then call
// `exports.f32_matvec(x, W, y, K, N)` (or bf16_matvec); for the bandwidth ceiling call
// `exports.f32_sum_probe(p, n)` over a buffer larger than the caches (4·n bytes read per call).

import type { Act, Backend, LoadedModel, SequenceState, StatePart } from '../../engine/core/backend.js';
import type { ModelConfig } from '../../engine/core/config.js';
import { InvalidOptionError, OpArgumentError, SequenceStateError, ThreadStartError, TokenOutOfRangeError } from '../../engine/core/errors.js';
import { headTensorName, type TensorEntry } from '../../engine/core/weights.js';
import { freeAct, newAct, WasmAct, type KvDtype, type WasmContext } from './act.js';
import { attention } from './attention.js';
import { instantiateKernels, simdSupported, type KernelBuild, type WasmKernels } from './instantiate.js';
import { linear, linearRow } from './linear.js';
import { mamba2 } from './mamba2.js';
import { mlp } from './mlp.js';
import { moe } from './moe.js';
import { WasmSequenceState } from './state.js';
import { WasmTensors } from './tensors.js';
import { KernelThreads, threadCount, type ThreadSpawner } from './threads.js';

export { simdSupported, relaxedSimdSupported, bestKernelBuild, instantiateKernels, KERNEL_BUILDS, type KernelBuild, type WasmKernels, type KernelExports } from './instantiate.js';
export { Heap } from './heap.js';

/** Where the kernel module comes from and which build to use. */
export interface WasmBackendOptions {
  /**
   * Force a build (Node: read from build/): relaxed, simd or scalar. Default in Node:
   * $EDGETRON_WASM_BUILD, else the best this engine runs (node-wasm.ts nodeKernelBuild).
   */
  readonly build?: KernelBuild;
  /** false: the scalar build; true: a SIMD one (relaxed where the engine runs it). With `module`: whether that module is a SIMD build (default: the engine validates SIMD). */
  readonly simd?: boolean;
  /** The compiled module or its bytes, for the chosen build; default (Node): read build/*.wasm. */
  readonly module?: WebAssembly.Module | BufferSource;
  /**
   * Threads for the linear products and the SSD decode step (threads.ts): a count, or 'auto' for
   * the cores this process may use. Default in Node: $EDGETRON_THREADS, else 1. More than one
   * needs the relaxed-SIMD build's shared-memory twin (build/edgetron-relaxed-mt.wasm): read from
   * build/ in Node, or given as `module` together with `spawnThread` (browsers:
   * browser-threads.ts); with a `module` and no `spawnThread` the backend runs on one thread
   * (WasmModel.threads says how many).
   */
  readonly threads?: number | 'auto';
  /** Starts one kernel thread over `module` (the shared-memory build) outside Node, e.g. browserKernelThread(url) in a Web Worker. */
  readonly spawnThread?: ThreadSpawner;
  /** With threads: the fewest multiply-adds per thread for a product to be split (default threads.ts MIN_PART_WORK, 2¹⁷). */
  readonly threadMinWork?: number;
  /**
   * Element type of the attention caches: 'f32' (default) or 'bf16', half the bytes per token of
   * context (each K and V element rounded to nearest even as it is stored, widened exactly as it
   * is read; attention.ts).
   */
  readonly kvDtype?: KvDtype;
}

/**
 * Instantiate the kernels over a fresh memory (the build picked as in WasmBackendOptions).
 * @example
 * const { heap, exports, build } = await loadKernels(); // build 'relaxed' where the engine runs relaxed SIMD
 * const p = heap.alloc(1 << 26); exports.f32_sum_probe(p, 1 << 24);
 */
export async function loadKernels(options: WasmBackendOptions = {}): Promise<WasmKernels> {
  if (options.module) return instantiateKernels(options.module, options.build ? options.build !== 'scalar' : (options.simd ?? simdSupported()));
  const reader: typeof import('./node-wasm.js') = await import(/* @vite-ignore */ NODE_READER);
  const build = reader.nodeKernelBuild(options.build, options.simd);
  return instantiateKernels(await reader.readKernelBuild(build), build !== 'scalar');
}

// Node only. The specifiers are variables so bundlers for Workers and browsers (which pass
// `module`) do not pull node:fs or node:worker_threads into their bundle; Node resolves them next
// to this file.
const NODE_READER = './node-wasm.js';
const NODE_THREADS = './node-threads.js';

/** The kernels, and the kernel threads when more than one thread is asked for and this engine runs them (WasmBackendOptions.threads). */
async function loadEngine(options: WasmBackendOptions): Promise<{ kernels: WasmKernels; threads?: KernelThreads }> {
  if (options.module) {
    const count = options.spawnThread ? threadCount(options.threads ?? 1, 'threads', globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
    if (count === 1) return { kernels: await loadKernels(options) };
    const kernels = await instantiateShared(options.module, count);
    return { kernels, threads: await startThreads(kernels, count, options.spawnThread!, options.threadMinWork) };
  }
  const reader: typeof import('./node-wasm.js') = await import(/* @vite-ignore */ NODE_READER);
  const spawner: typeof import('./node-threads.js') = await import(/* @vite-ignore */ NODE_THREADS);
  const build = reader.nodeKernelBuild(options.build, options.simd);
  const count = spawner.nodeThreadCount(options.threads);
  if (count === 1 || build !== 'relaxed') return { kernels: await instantiateKernels(await reader.readKernelBuild(build), build !== 'scalar') };
  const kernels = await instantiateShared(await reader.readKernelBuild(build, true), count);
  return { kernels, threads: await startThreads(kernels, count, spawner.spawnNodeThread, options.threadMinWork) };
}

/** The count − 1 kernel threads beside the caller; a thread that fails to start is a ThreadStartError. */
async function startThreads(kernels: WasmKernels, count: number, spawn: ThreadSpawner, minWork?: number): Promise<KernelThreads> {
  try {
    return await KernelThreads.start(kernels.heap, kernels.module, kernels.exports, count - 1, spawn, minWork);
  } catch (e) {
    throw new ThreadStartError(count, (e as Error).message);
  }
}

/**
 * The shared-memory build instantiated over a shared memory for `count` threads; a module of
 * another build is refused by name, and a shared memory the engine cannot reserve is a
 * ThreadStartError.
 */
async function instantiateShared(module: WebAssembly.Module | BufferSource, count: number): Promise<WasmKernels> {
  try {
    return await instantiateKernels(module, true, true);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError) throw new InvalidOptionError('module', 'a build without shared memory', `the shared-memory kernel build (edgetron-relaxed-mt.wasm) when threads > 1 (${e.message})`);
    if (e instanceof RangeError) throw new ThreadStartError(count, `no shared memory (${e.message})`);
    throw e;
  }
}

function wasmAct(x: Act, op: string, ctx: WasmContext): WasmAct {
  if (!(x instanceof WasmAct) || x.heap !== ctx.heap) throw new OpArgumentError(op, 'the activation does not belong to this wasm model');
  return x;
}

function wasmState(s: SequenceState, ctx: WasmContext): WasmSequenceState {
  if (!(s instanceof WasmSequenceState) || s.config !== ctx.config) {
    throw new SequenceStateError('the sequence was not created by this wasm model');
  }
  return s;
}

/** The wasm backend's LoadedModel. */
export class WasmModel implements LoadedModel {
  constructor(
    readonly backend: 'wasm' | 'wasm-scalar',
    private readonly ctx: WasmContext,
    /** The kernel build it runs on (relaxed, simd or scalar). */
    readonly kernelBuild: KernelBuild,
  ) {}

  get config(): ModelConfig {
    return this.ctx.config;
  }

  /** Threads its linear products and SSD decode steps run on (threads.ts): 1, or the kernel threads and the caller. */
  get threads(): number {
    return this.ctx.threads?.count ?? 1;
  }

  newSequence(maxTokens: number, part: StatePart = 'trunk'): WasmSequenceState {
    const { tensors, config } = this.ctx;
    return new WasmSequenceState(this.ctx.heap, config, maxTokens, part, (il) => tensors.has(`${config.layers[il].prefix}norm.weight`), this.ctx.kvDtype);
  }

  upload(data: Float32Array, rows: number, cols: number): WasmAct {
    if (data.length !== rows * cols) throw new OpArgumentError('upload', `${data.length} values for a (${rows}, ${cols}) matrix`);
    const x = newAct(this.ctx, rows, cols);
    this.ctx.heap.f32(x.ptr, rows * cols).set(data);
    return x;
  }

  download(x: Act): Float32Array {
    const a = wasmAct(x, 'download', this.ctx);
    return this.ctx.heap.f32(a.ptr, a.rows * a.cols).slice();
  }

  free(x: Act): void {
    freeAct(wasmAct(x, 'free', this.ctx));
  }

  sliceRows(x: Act, start: number, count: number): WasmAct {
    const a = wasmAct(x, 'sliceRows', this.ctx);
    if (start < 0 || count < 0 || start + count > a.rows) throw new OpArgumentError('sliceRows', `rows [${start}, ${start + count}) of ${a.rows}`);
    const y = newAct(this.ctx, count, a.cols);
    this.ctx.heap.copy(y.ptr, a.row(start), count * a.cols * 4);
    return y;
  }

  concatCols(a: Act, b: Act): WasmAct {
    const x = wasmAct(a, 'concatCols', this.ctx);
    const y = wasmAct(b, 'concatCols', this.ctx);
    if (x.rows !== y.rows) throw new OpArgumentError('concatCols', `(${x.rows}, ${x.cols}) beside (${y.rows}, ${y.cols})`);
    // (T, n) ‖ (T, m) → (T, n + m): two row copies per row
    const out = newAct(this.ctx, x.rows, x.cols + y.cols);
    for (let t = 0; t < x.rows; t++) {
      this.ctx.heap.copy(out.row(t), x.row(t), x.cols * 4);
      this.ctx.heap.copy(out.row(t) + x.cols * 4, y.row(t), y.cols * 4);
    }
    return out;
  }

  embed(tokens: Int32Array): WasmAct {
    const { vocabSize: V, dModel: d } = this.ctx.config;
    for (const t of tokens) if (!(t >= 0 && t < V)) throw new TokenOutOfRangeError(t, V);
    // one row of Emb per token: (T) → (T, d)
    const emb = this.ctx.tensors.linear('backbone.embeddings.weight');
    const x = newAct(this.ctx, tokens.length, d);
    tokens.forEach((tok, t) => linearRow(this.ctx, emb, tok, x.row(t)));
    return x;
  }

  rmsnorm(x: Act, weight: string): WasmAct {
    const a = wasmAct(x, 'rmsnorm', this.ctx);
    const y = newAct(this.ctx, a.rows, a.cols);
    this.ctx.kernels.f32_rmsnorm(a.ptr, this.ctx.tensors.vector(weight), y.ptr, a.rows, a.cols, this.ctx.config.normEps);
    return y;
  }

  addInPlace(x: Act, y: Act): void {
    const a = wasmAct(x, 'addInPlace', this.ctx);
    const b = wasmAct(y, 'addInPlace', this.ctx);
    if (a.rows !== b.rows || a.cols !== b.cols) throw new OpArgumentError('addInPlace', `(${a.rows}, ${a.cols}) + (${b.rows}, ${b.cols})`);
    this.ctx.kernels.f32_add(a.ptr, b.ptr, a.rows * a.cols);
  }

  mamba2(il: number, u: Act, state: SequenceState): WasmAct {
    return mamba2(this.ctx, il, wasmAct(u, 'mamba2', this.ctx), wasmState(state, this.ctx).mambaLayer(il));
  }

  attention(il: number, u: Act, state: SequenceState): WasmAct {
    return attention(this.ctx, il, wasmAct(u, 'attention', this.ctx), wasmState(state, this.ctx));
  }

  moe(il: number, u: Act): WasmAct {
    return moe(this.ctx, il, wasmAct(u, 'moe', this.ctx));
  }

  mlp(il: number, u: Act): WasmAct {
    return mlp(this.ctx, il, wasmAct(u, 'mlp', this.ctx));
  }

  matmul(x: Act, weight: string): WasmAct {
    return linear(this.ctx, wasmAct(x, 'matmul', this.ctx), weight);
  }

  head(h: Act): Float32Array {
    const logits = linear(this.ctx, wasmAct(h, 'head', this.ctx), headTensorName(this.ctx.config)); // (rows, V)
    const out = this.download(logits);
    freeAct(logits);
    return out;
  }

  weightBytes(): number {
    return this.ctx.tensors.bytes;
  }

  /**
   * Bytes of WASM memory in live blocks: weights, sequence states, snapshots, activations.
   * @example const before = model.usedBytes(); model.free(model.embed(tokens)); // usedBytes() === before
   */
  usedBytes(): number {
    return this.ctx.heap.usedBytes;
  }

  dispose(): void {
    this.ctx.threads?.dispose();
    this.ctx.tensors.dispose();
  }
}

/**
 * A wasm Backend with the given kernel source; its models are named 'wasm' or 'wasm-scalar'.
 * @example
 * const backend = createWasmBackend({ module: await WebAssembly.compileStreaming(fetch(url)), simd: true });
 */
export function createWasmBackend(options: WasmBackendOptions = {}, name = 'wasm'): Backend {
  return {
    name,
    async load(config: ModelConfig, tensors: ReadonlyMap<string, TensorEntry>, onProgress) {
      const kvDtype = options.kvDtype ?? 'f32';
      if (kvDtype !== 'f32' && kvDtype !== 'bf16') throw new InvalidOptionError('kvDtype', kvDtype, "'f32' or 'bf16'");
      const { kernels, threads } = await loadEngine(options);
      let weights: WasmTensors;
      try {
        weights = await WasmTensors.load(kernels.heap, config, tensors, onProgress, kernels.exports);
      } catch (e) {
        threads?.dispose();
        throw e;
      }
      const ctx: WasmContext = { config, kernels: kernels.exports, heap: kernels.heap, tensors: weights, relaxed: kernels.relaxed, threads, kvDtype };
      return new WasmModel(kernels.simd ? 'wasm' : 'wasm-scalar', ctx, kernels.build);
    },
  };
}

/**
 * The wasm backend: the relaxed-SIMD build where the engine runs it (Node 20: its flag turned on),
 * else the SIMD build, else the scalar build; $EDGETRON_WASM_BUILD forces one.
 * @example const model = await wasmBackend.load(config, validateWeights(config, store));
 */
export const wasmBackend: Backend = createWasmBackend();

/**
 * The wasm backend forced onto the scalar build (engines without SIMD; tests).
 * @example const model = await wasmScalarBackend.load(config, tensors); // model.backend === 'wasm-scalar'
 */
export const wasmScalarBackend: Backend = createWasmBackend({ simd: false }, 'wasm-scalar');
