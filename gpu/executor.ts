// The device thread's side of the webgpu backend: owns the GpuDevice, the resident weights, the
// activations and sequences (by the ids the model's thread gave them), and runs each message
// (gpu/channel.ts) in order. Ops are encoded into the pending command buffer; reads submit it.

import type { ModelConfig } from '../engine/core/config.js';
import { DeviceLostError, GpuDeviceError, OpArgumentError, SequenceStateError } from '../engine/core/errors.js';
import { headTensorName } from '../engine/core/weights.js';
import { releaseAct, type DevAct, type GpuContext } from './act.js';
import { attention } from './attention.js';
import { toWire, type WireError } from '../runtime/wire.js';
import { answer, type FromDevice, type OpMessage, type ReadMessage, type DeviceMessage } from './channel.js';
import { GpuDevice } from './device.js';
import { embed, linear } from './linear.js';
import { mamba2 } from './mamba2.js';
import { mlp } from './mlp.js';
import { moe } from './moe.js';
import { addInPlace, concatCols, rmsnorm } from './norm.js';
import { PLAIN_KERNELS } from './shaders.js';
import { DevSequence, type DevSnapshot } from './state.js';
import { GpuTensors, type HostTensor } from './tensors.js';

/**
 * Runs the messages of one model on one device.
 * @example const ex = new Executor(navigator.gpu, (m) => postMessage(m)); onmessage = (e) => ex.receive(e.data);
 */
export class Executor {
  private gpu: GpuDevice | null = null;
  private ctx: GpuContext | null = null;
  private readonly host = new Map<string, HostTensor>();
  private readonly acts = new Map<number, DevAct>();
  private readonly seqs = new Map<number, DevSequence>();
  private readonly snaps = new Map<number, { seq: number; snap: DevSnapshot }>();
  private pendingError: WireError | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly navigatorGpu: GPU | undefined,
    private readonly reply: (m: FromDevice) => void,
  ) {}

  /** Queue a message; messages run one after another, in order. */
  receive(m: DeviceMessage): void {
    this.queue = this.queue.then(() => this.run(m));
  }

  /** Resolves once every message received so far has run. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async run(m: DeviceMessage): Promise<void> {
    try {
      if (m.op === 'init') {
        this.gpu = await GpuDevice.create(this.navigatorGpu, m.options);
        this.reply({ op: 'ready', info: this.gpu.info });
      } else if (m.op === 'tensor') {
        this.host.set(m.name, { name: m.name, dtype: m.dtype, shape: m.shape, bytes: m.bytes });
      } else if (m.op === 'build') {
        await this.build(m.config);
      } else if (m.op === 'download' || m.op === 'head' || m.op === 'greedy') {
        await this.read(m);
      } else {
        this.op(m);
      }
    } catch (e) {
      if (m.op === 'init' || m.op === 'build') this.reply({ op: 'failed', error: toWire(e, 'GpuDeviceError') });
      else if ('sab' in m) answer(m.sab, { error: toWire(e, 'GpuDeviceError') });
      else this.pendingError ??= toWire(e, 'GpuDeviceError');
    }
  }

  private async build(config: ModelConfig): Promise<void> {
    const gpu = this.device();
    const tensors = await GpuTensors.load(gpu, this.host);
    this.host.clear();
    this.ctx = { gpu, tensors, config };
    this.reply({ op: 'built', bytes: tensors.bytes });
  }

  private device(): GpuDevice {
    if (!this.gpu) throw new GpuDeviceError('the device is not initialised');
    if (this.gpu.lostReason !== null) throw new DeviceLostError(this.gpu.lostReason);
    return this.gpu;
  }

  private context(): GpuContext {
    this.device();
    if (!this.ctx) throw new GpuDeviceError('the model is not loaded');
    return this.ctx;
  }

  private act(id: number): DevAct {
    const a = this.acts.get(id);
    if (!a) throw new OpArgumentError('webgpu', `activation ${id} does not exist (freed?)`);
    return a;
  }

  private seq(id: number): DevSequence {
    const s = this.seqs.get(id);
    if (!s) throw new SequenceStateError(`sequence ${id} does not exist on the device (freed?)`);
    return s;
  }

  private op(m: OpMessage): void {
    const ctx = this.context();
    const put = (id: number, a: DevAct) => void this.acts.set(id, a);
    switch (m.op) {
      case 'upload':
        return put(m.id, { buf: ctx.gpu.upload(m.data), rows: m.rows, cols: m.cols });
      case 'embed':
        return put(m.id, embed(ctx, ctx.tensors.linear('backbone.embeddings.weight'), m.tokens));
      case 'rmsnorm':
        return put(m.id, rmsnorm(ctx, this.act(m.x), ctx.tensors.vector(m.weight)));
      case 'add':
        return addInPlace(ctx, this.act(m.x), this.act(m.y));
      case 'slice': {
        const x = this.act(m.x);
        const y = { buf: ctx.gpu.storage(m.count * x.cols * 4), rows: m.count, cols: x.cols };
        ctx.gpu.copy(x.buf, m.start * x.cols * 4, y.buf, 0, m.count * x.cols * 4);
        return put(m.id, y);
      }
      case 'concat':
        return put(m.id, concatCols(ctx, this.act(m.a), this.act(m.b)));
      case 'mamba2':
        return put(m.id, mamba2(ctx, m.il, this.act(m.u), this.seq(m.seq).mambaLayer(m.il)));
      case 'attention':
        return put(m.id, attention(ctx, m.il, this.act(m.u), this.seq(m.seq).kvLayer(m.il), m.position));
      case 'moe':
        return put(m.id, moe(ctx, m.il, this.act(m.u)));
      case 'mlp':
        return put(m.id, mlp(ctx, m.il, this.act(m.u)));
      case 'matmul':
        return put(m.id, linear(ctx, this.act(m.x), ctx.tensors.linear(m.weight)));
      case 'free': {
        const a = this.acts.get(m.id);
        this.acts.delete(m.id);
        if (a) releaseAct(ctx, a);
        return;
      }
      case 'newSeq':
        return void this.seqs.set(m.seq, new DevSequence(ctx.gpu, ctx.config, m.maxTokens, m.part));
      case 'freeSeq': {
        this.seqs.get(m.seq)?.free();
        this.seqs.delete(m.seq);
        for (const [id, s] of this.snaps) if (s.seq === m.seq) this.snaps.delete(id);
        return;
      }
      case 'snapshot':
        return void this.snaps.set(m.snap, { seq: m.seq, snap: this.seq(m.seq).snapshot(m.position) });
      case 'restore': {
        const s = this.snaps.get(m.snap);
        if (!s) throw new SequenceStateError('the snapshot was freed');
        return this.seq(m.seq).restore(s.snap);
      }
      case 'freeSnap': {
        const s = this.snaps.get(m.snap);
        this.snaps.delete(m.snap);
        if (s) this.seqs.get(s.seq)?.freeSnapshot(s.snap);
        return;
      }
    }
  }

  private async read(m: ReadMessage): Promise<void> {
    const ctx = this.context();
    const pending = this.pendingError;
    this.pendingError = null;
    if (pending) return answer(m.sab, { error: pending });
    const x = this.act(m.x);
    let out: DevAct | null = null;
    let bytes: ArrayBuffer;
    if (m.op === 'download') {
      bytes = await ctx.gpu.read(x.buf, 0, x.rows * x.cols * 4);
    } else {
      out = linear(ctx, x, ctx.tensors.linear(headTensorName(ctx.config))); // (rows, V)
      if (m.op === 'head') {
        bytes = await ctx.gpu.read(out.buf, 0, out.rows * out.cols * 4);
      } else {
        const idx = ctx.gpu.storage(out.rows * 4, 'greedy tokens'); // (rows) u32
        ctx.gpu.dispatch('argmax', PLAIN_KERNELS.argmax, { 1: out.buf, 2: idx }, [out.rows, out.cols], [out.rows]);
        bytes = await ctx.gpu.read(idx, 0, out.rows * 4);
        ctx.gpu.release(idx);
      }
      releaseAct(ctx, out);
    }
    ctx.gpu.flush();
    answer(m.sab, { bytes });
  }
}
