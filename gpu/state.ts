// spec §19.10: per-sequence state on the device (f32 GPU buffers):
//   'M' layer: conv window (convKernel−1, convDim), oldest row first; SSM state S (H, P, N)
//   '*' layer: K and V caches (maxTokens, nKvHeads·hd); rows [0, position) are filled
// A snapshot copies the conv windows, the SSM states and the filled KV rows [0, position) on the
// device (buffer copies in the pending command buffer); restore copies them back.

import { LayerStates } from '../engine/core/layer-states.js';
import { stateLayers, type StatePart } from '../engine/core/backend.js';
import type { ModelConfig } from '../engine/core/config.js';
import type { GpuDevice } from './device.js';

/** Conv window and SSM state of one Mamba-2 layer. */
export interface MambaBuffers {
  readonly conv: GPUBuffer; // (convKernel−1, convDim)
  readonly ssm: GPUBuffer; // (H, P, N)
}

/** KV cache of one attention layer. */
export interface KvBuffers {
  readonly k: GPUBuffer; // (rows, nKvHeads·hd)
  readonly v: GPUBuffer; // (rows, nKvHeads·hd)
}

/** A copy of a sequence's state at `position`. */
export interface DevSnapshot {
  readonly position: number;
  readonly mamba: Map<number, MambaBuffers>;
  readonly kv: Map<number, KvBuffers>; // (position, nKvHeads·hd) each
}

/**
 * The buffers of one sequence; every 'M' and '*' layer of `part` (trunk or MTP) gets them up front.
 * @example const seq = new DevSequence(gpu, config, 4096);
 */
export class DevSequence extends LayerStates<MambaBuffers, KvBuffers> {
  readonly convBytes: number;
  readonly ssmBytes: number;
  readonly kvRowBytes: number;

  constructor(
    private readonly gpu: GpuDevice,
    config: ModelConfig,
    readonly maxTokens: number,
    part: StatePart = 'trunk',
  ) {
    super();
    const m = config.mamba;
    const a = config.attention;
    this.convBytes = m ? (m.convKernel - 1) * m.convDim * 4 : 0;
    this.ssmBytes = m ? m.nHeads * m.headDim * m.dState * 4 : 0;
    this.kvRowBytes = a ? a.nKvHeads * a.headDim * 4 : 0;
    for (const layer of stateLayers(config, part)) {
      if (layer.kind === 'M') this.mamba.set(layer.il, { conv: gpu.storage(this.convBytes, `conv window ${layer.il}`), ssm: gpu.storage(this.ssmBytes, `ssm state ${layer.il}`) });
      if (layer.kind === '*') this.kv.set(layer.il, { k: gpu.storage(maxTokens * this.kvRowBytes, `k cache ${layer.il}`), v: gpu.storage(maxTokens * this.kvRowBytes, `v cache ${layer.il}`) });
    }
  }

  snapshot(position: number): DevSnapshot {
    const mamba = new Map<number, MambaBuffers>();
    for (const [il, s] of this.mamba) mamba.set(il, { conv: this.clone(s.conv, this.convBytes), ssm: this.clone(s.ssm, this.ssmBytes) });
    const kv = new Map<number, KvBuffers>();
    const bytes = position * this.kvRowBytes;
    for (const [il, s] of this.kv) kv.set(il, { k: this.clone(s.k, bytes), v: this.clone(s.v, bytes) });
    return { position, mamba, kv };
  }

  restore(snap: DevSnapshot): void {
    for (const [il, s] of snap.mamba) {
      const dst = this.mambaLayer(il);
      this.gpu.copy(s.conv, 0, dst.conv, 0, this.convBytes);
      this.gpu.copy(s.ssm, 0, dst.ssm, 0, this.ssmBytes);
    }
    const bytes = snap.position * this.kvRowBytes;
    for (const [il, s] of snap.kv) {
      const dst = this.kvLayer(il);
      this.gpu.copy(s.k, 0, dst.k, 0, bytes);
      this.gpu.copy(s.v, 0, dst.v, 0, bytes);
    }
  }

  /** Release a snapshot's buffers. */
  freeSnapshot(snap: DevSnapshot): void {
    for (const s of snap.mamba.values()) [s.conv, s.ssm].forEach((b) => this.gpu.release(b));
    for (const s of snap.kv.values()) [s.k, s.v].forEach((b) => this.gpu.release(b));
  }

  free(): void {
    for (const s of this.mamba.values()) [s.conv, s.ssm].forEach((b) => this.gpu.release(b));
    for (const s of this.kv.values()) [s.k, s.v].forEach((b) => this.gpu.release(b));
    this.mamba.clear();
    this.kv.clear();
  }

  private clone(src: GPUBuffer, bytes: number): GPUBuffer {
    const dst = this.gpu.storage(bytes, `snapshot of ${src.label}`);
    this.gpu.copy(src, 0, dst, 0, bytes);
    return dst;
  }
}
