// DESIGN §2: the `webgpu` backend. WGSL kernels (gpu/kernels, one per file) run on a WebGPU
// device owned by a device thread (gpu/worker.ts → build/gpu-device.js); this file is the
// LoadedModel the graph calls, on the model's thread. Weights, activations and sequence state
// stay on the device; each op is posted to the device thread and encoded into one pending
// command buffer, submitted only when bytes come back: `download`, `head` (the logits) and
// `greedy` (the argmax token of each row, computed on the device: 4 bytes read back per row).
// The protocol and why reads block: gpu/channel.ts. Block encoders: mamba2.ts, attention.ts,
// moe.ts, mlp.ts (+ linear.ts, norm.ts); state: state.ts; weights: tensors.ts.
//
// Device loss: every later read throws DeviceLostError; `reload()` starts a new device thread and
// uploads the weights again (activations and sequences of the lost device are gone).

import type { Act, Backend, LoadedModel, SequenceState, StatePart, StateSnapshot } from '../engine/core/backend.js';
import type { ModelConfig } from '../engine/core/config.js';
import * as errors from '../engine/core/errors.js';
import {
  ContextWindowExceededError,
  DeviceLostError,
  GpuDeviceError,
  MissingTensorError,
  NoGpuAdapterError,
  OpArgumentError,
  SequenceStateError,
  TokenOutOfRangeError,
} from '../engine/core/errors.js';
import { linearWeight, type TensorEntry } from '../engine/core/weights.js';
import { errorFromWire, type WireError } from '../runtime/wire.js';
import { readBuffer, waitAnswer, type DeviceThread, type FromDevice, type OpMessage, type ReadMessage } from './channel.js';
import type { GpuInfo, GpuOptions } from './device.js';

export type { GpuInfo, GpuOptions } from './device.js';

/** Options of the webgpu backend. */
export interface WebGpuBackendOptions {
  /** Starts the device thread; default in Node: a worker_threads Worker (gpu/node.ts). */
  readonly spawn?: () => DeviceThread | Promise<DeviceThread>;
  readonly device?: GpuOptions;
  /** Longest wait for one read, in ms (default 10 minutes). */
  readonly timeoutMs?: number;
}

const NODE_SPAWN = './node.js';

async function defaultSpawn(): Promise<DeviceThread> {
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new NoGpuAdapterError('outside Node, pass `spawn` (a Worker running build/gpu-device.js)');
  }
  const node: typeof import('./node.js') = await import(/* @vite-ignore */ NODE_SPAWN);
  return node.nodeDeviceThread();
}

/** How this side rebuilds the device thread's errors (runtime/wire.ts): an unknown name is a GpuDeviceError. */
const DEVICE_ERRORS = { classes: errors, unknown: (w: WireError) => new GpuDeviceError(`${w.name}: ${w.message}`), thread: 'the webgpu device thread' };
const fromWire = (w: WireError) => errorFromWire(w, DEVICE_ERRORS);

// Setup answers of `thread`, one at a time, in order.
function replies(thread: DeviceThread): () => Promise<FromDevice> {
  const queue: FromDevice[] = [];
  let wake: (() => void) | null = null;
  thread.listen((m) => {
    queue.push(m);
    wake?.();
  });
  return async () => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift()!;
  };
}

/** A started device thread with its adapter, and the reader of its setup answers. */
interface StartedDevice {
  readonly thread: DeviceThread;
  readonly info: GpuInfo;
  readonly reply: () => Promise<FromDevice>;
}

// Start a device thread and its device; on no adapter, try the thread's fallback once.
async function startDevice(options: WebGpuBackendOptions): Promise<StartedDevice> {
  let thread: DeviceThread | null = await (options.spawn ?? defaultSpawn)();
  let error: WireError = { name: 'NoGpuAdapterError', message: 'no device thread' };
  for (let attempt = 0; thread && attempt < 2; attempt++) {
    const reply = replies(thread);
    thread.hold?.(true);
    thread.post({ op: 'init', options: options.device ?? {} });
    const ready = await reply();
    if (ready.op === 'ready') return { thread, info: ready.info, reply };
    thread.terminate();
    error = ready.op === 'failed' ? ready.error : { name: 'GpuDeviceError', message: `unexpected ${ready.op}` };
    thread = error.name === 'NoGpuAdapterError' ? (thread.fallback?.() ?? null) : null;
  }
  throw fromWire(error);
}

/**
 * The adapter the webgpu backend would use, or null with the reason when there is none; starts
 * and stops a device thread (about a second).
 * @example const { info, reason } = await probeWebGpu(); // info.isFallback: a software adapter
 */
export async function probeWebGpu(options: WebGpuBackendOptions = {}): Promise<{ info: GpuInfo | null; reason: string }> {
  try {
    const { thread, info } = await startDevice(options);
    thread.terminate();
    return { info, reason: `adapter ${info.adapter}` };
  } catch (e) {
    return { info: null, reason: (e as Error).message };
  }
}

/** An activation on the device, named by id. */
class GpuAct implements Act {
  constructor(
    readonly owner: WebGpuModel,
    readonly generation: number,
    readonly id: number,
    readonly rows: number,
    readonly cols: number,
  ) {}
}

class GpuSnapshot implements StateSnapshot {
  freed = false;
  constructor(
    readonly owner: GpuSequenceState,
    readonly id: number,
    readonly position: number,
  ) {}

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.owner.model.post({ op: 'freeSnap', snap: this.id });
  }
}

/** A sequence whose buffers live on the device. */
class GpuSequenceState implements SequenceState {
  private pos = 0;
  freed = false;

  constructor(
    readonly model: WebGpuModel,
    readonly generation: number,
    readonly id: number,
    readonly maxTokens: number,
  ) {}

  get position(): number {
    return this.pos;
  }

  advance(n: number): void {
    if (this.pos + n > this.maxTokens) throw new ContextWindowExceededError(this.pos + n, this.maxTokens);
    this.pos += n;
  }

  snapshot(): StateSnapshot {
    if (this.freed) throw new SequenceStateError('the sequence was freed');
    const snap = new GpuSnapshot(this, this.model.nextId(), this.pos);
    this.model.post({ op: 'snapshot', seq: this.id, snap: snap.id, position: this.pos });
    return snap;
  }

  restore(snapshot: StateSnapshot): void {
    if (!(snapshot instanceof GpuSnapshot) || snapshot.owner !== this) throw new SequenceStateError('the snapshot was not taken from this sequence');
    if (snapshot.freed) throw new SequenceStateError('the snapshot was freed');
    this.model.post({ op: 'restore', seq: this.id, snap: snapshot.id });
    this.pos = snapshot.position;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.model.post({ op: 'freeSeq', seq: this.id });
  }
}

/**
 * The webgpu backend's LoadedModel.
 * @example
 * const model = (await webgpuBackend.load(config, tensors)) as WebGpuModel;
 * const token = model.greedy(h)[0]; // argmax on the device, 4 bytes read back
 */
export class WebGpuModel implements LoadedModel {
  readonly backend = 'webgpu';
  private thread: DeviceThread | null = null;
  private generation = 0;
  private ids = 0;
  private bytes = 0;
  /** The adapter and what the backend uses of it (known after load). */
  info: GpuInfo | null = null;

  constructor(
    readonly config: ModelConfig,
    private readonly tensors: ReadonlyMap<string, TensorEntry>,
    private readonly options: WebGpuBackendOptions,
  ) {}

  /** A fresh id for an activation, sequence or snapshot. */
  nextId(): number {
    return ++this.ids;
  }

  /** Post an op to the device thread (no answer). */
  post(m: OpMessage): void {
    if (!this.thread) throw new DeviceLostError('the model was disposed');
    this.thread.post(m);
  }

  /**
   * (Re)start the device thread and upload the weights: after a DeviceLostError, or the first
   * time (load). Activations and sequences made before are invalid afterwards.
   */
  async reload(onProgress?: (loadedBytes: number, totalBytes: number) => void): Promise<void> {
    this.thread?.terminate();
    this.thread = null;
    this.generation++;
    const { thread, info, reply } = await startDevice(this.options);
    this.info = info;
    const total = [...this.tensors.values()].reduce((n, e) => n + e.byteLength, 0);
    let loaded = 0;
    for (const [name, entry] of this.tensors) {
      const bytes = new Uint8Array(entry.byteLength);
      await entry.readInto(bytes);
      thread.post({ op: 'tensor', name, dtype: entry.dtype, shape: entry.shape, bytes }, [bytes.buffer]);
      onProgress?.((loaded += entry.byteLength), total);
    }
    thread.post({ op: 'build', config: this.config });
    const built = await reply();
    if (built.op !== 'built') {
      thread.terminate();
      throw fromWire(built.op === 'failed' ? built.error : { name: 'GpuDeviceError', message: `unexpected ${built.op}` });
    }
    thread.hold?.(false);
    this.bytes = built.bytes;
    this.thread = thread;
  }

  private read(m: (sab: SharedArrayBuffer) => ReadMessage, bytes: number): Uint8Array {
    if (!this.thread) throw new DeviceLostError('the model was disposed');
    const sab = readBuffer(bytes);
    this.thread.post(m(sab));
    const r = waitAnswer(sab, this.options.timeoutMs ?? 600_000);
    if (!(r instanceof Uint8Array)) throw fromWire(r);
    return r;
  }

  private act(x: Act, op: string): GpuAct {
    if (!(x instanceof GpuAct) || x.owner !== this) throw new OpArgumentError(op, 'the activation does not belong to this webgpu model');
    if (x.generation !== this.generation) throw new OpArgumentError(op, 'the activation belongs to a device that was reloaded');
    return x;
  }

  private state(s: SequenceState): GpuSequenceState {
    if (!(s instanceof GpuSequenceState) || s.model !== this) throw new SequenceStateError('the sequence was not created by this webgpu model');
    if (s.freed) throw new SequenceStateError('the sequence was freed');
    if (s.generation !== this.generation) throw new SequenceStateError('the sequence belongs to a device that was reloaded');
    return s;
  }

  private newAct(rows: number, cols: number): GpuAct {
    return new GpuAct(this, this.generation, this.nextId(), rows, cols);
  }

  newSequence(maxTokens: number, part: StatePart = 'trunk'): SequenceState {
    const s = new GpuSequenceState(this, this.generation, this.nextId(), maxTokens);
    this.post({ op: 'newSeq', seq: s.id, maxTokens, part });
    return s;
  }

  upload(data: Float32Array, rows: number, cols: number): Act {
    if (data.length !== rows * cols) throw new OpArgumentError('upload', `${data.length} values for a (${rows}, ${cols}) matrix`);
    const y = this.newAct(rows, cols);
    this.post({ op: 'upload', id: y.id, rows, cols, data: data.slice() });
    return y;
  }

  download(x: Act): Float32Array {
    const a = this.act(x, 'download');
    const bytes = this.read((sab) => ({ op: 'download', x: a.id, sab }), a.rows * a.cols * 4);
    return new Float32Array(bytes.slice().buffer);
  }

  free(x: Act): void {
    this.post({ op: 'free', id: this.act(x, 'free').id });
  }

  sliceRows(x: Act, start: number, count: number): Act {
    const a = this.act(x, 'sliceRows');
    if (start < 0 || count < 0 || start + count > a.rows) throw new OpArgumentError('sliceRows', `rows [${start}, ${start + count}) of ${a.rows}`);
    const y = this.newAct(count, a.cols);
    this.post({ op: 'slice', id: y.id, x: a.id, start, count });
    return y;
  }

  concatCols(a: Act, b: Act): Act {
    const x = this.act(a, 'concatCols');
    const y = this.act(b, 'concatCols');
    if (x.rows !== y.rows) throw new OpArgumentError('concatCols', `(${x.rows}, ${x.cols}) beside (${y.rows}, ${y.cols})`);
    const out = this.newAct(x.rows, x.cols + y.cols);
    this.post({ op: 'concat', id: out.id, a: x.id, b: y.id });
    return out;
  }

  embed(tokens: Int32Array): Act {
    const { vocabSize: V, dModel: d } = this.config;
    for (const t of tokens) if (!(t >= 0 && t < V)) throw new TokenOutOfRangeError(t, V);
    const y = this.newAct(tokens.length, d);
    this.post({ op: 'embed', id: y.id, tokens: tokens.slice() });
    return y;
  }

  rmsnorm(x: Act, weight: string): Act {
    const a = this.act(x, 'rmsnorm');
    if (!this.tensors.has(weight)) throw new MissingTensorError(weight, 'the loaded tensors');
    const y = this.newAct(a.rows, a.cols);
    this.post({ op: 'rmsnorm', id: y.id, x: a.id, weight });
    return y;
  }

  addInPlace(x: Act, y: Act): void {
    const a = this.act(x, 'addInPlace');
    const b = this.act(y, 'addInPlace');
    if (a.rows !== b.rows || a.cols !== b.cols) throw new OpArgumentError('addInPlace', `(${a.rows}, ${a.cols}) + (${b.rows}, ${b.cols})`);
    this.post({ op: 'add', x: a.id, y: b.id });
  }

  private block(op: 'mamba2' | 'moe' | 'mlp', il: number, u: Act, seq?: SequenceState): Act {
    const a = this.act(u, op);
    const y = this.newAct(a.rows, this.config.dModel);
    if (op === 'mamba2') this.post({ op, id: y.id, il, u: a.id, seq: this.state(seq!).id });
    else this.post({ op, id: y.id, il, u: a.id });
    return y;
  }

  mamba2(il: number, u: Act, state: SequenceState): Act {
    return this.block('mamba2', il, u, state);
  }

  attention(il: number, u: Act, state: SequenceState): Act {
    const a = this.act(u, 'attention');
    const s = this.state(state);
    if (s.position + a.rows > s.maxTokens) throw new ContextWindowExceededError(s.position + a.rows, s.maxTokens);
    const y = this.newAct(a.rows, this.config.dModel);
    this.post({ op: 'attention', id: y.id, il, u: a.id, seq: s.id, position: s.position });
    return y;
  }

  moe(il: number, u: Act): Act {
    return this.block('moe', il, u);
  }

  mlp(il: number, u: Act): Act {
    return this.block('mlp', il, u);
  }

  matmul(x: Act, weight: string): Act {
    const a = this.act(x, 'matmul');
    const w = linearWeight(this.tensors, weight);
    if (w.cols !== a.cols) throw new OpArgumentError('matmul', `(${a.rows}, ${a.cols}) · ${weight} [${w.rows}, ${w.cols}]ᵀ`);
    const y = this.newAct(a.rows, w.rows);
    this.post({ op: 'matmul', id: y.id, x: a.id, weight });
    return y;
  }

  head(h: Act): Float32Array {
    const a = this.act(h, 'head');
    const bytes = this.read((sab) => ({ op: 'head', x: a.id, sab }), a.rows * this.config.vocabSize * 4);
    return new Float32Array(bytes.slice().buffer);
  }

  /**
   * Greedy decoding on the device: the argmax token of each row of h's logits (ties to the lower
   * id), equal to argmax over `head(h)`, reading back 4 bytes per row instead of V floats.
   * @example const next = model.greedy(h)[0];
   */
  greedy(h: Act): Int32Array {
    const a = this.act(h, 'greedy');
    const bytes = this.read((sab) => ({ op: 'greedy', x: a.id, sab }), a.rows * 4);
    return new Int32Array(bytes.slice().buffer);
  }

  weightBytes(): number {
    return this.bytes;
  }

  dispose(): void {
    this.thread?.terminate();
    this.thread = null;
  }
}

/**
 * A webgpu Backend with the given options (a browser passes `spawn`, a Worker running
 * build/gpu-device.js).
 * @example const backend = createWebGpuBackend({ device: { maxBindingBytes: 1 << 20 } });
 */
export function createWebGpuBackend(options: WebGpuBackendOptions = {}): Backend {
  return {
    name: 'webgpu',
    async load(config, tensors, onProgress) {
      const model = new WebGpuModel(config, tensors, options);
      await model.reload(onProgress);
      return model;
    },
  };
}

/**
 * The webgpu backend with default options (Node: Dawn in a worker thread).
 * @example const model = await webgpuBackend.load(config, validateWeights(config, store));
 */
export const webgpuBackend: Backend = createWebGpuBackend();
