// spec §19.10: per-sequence state of the WASM backend, in WASM memory (f32):
//   'M' layer: conv window (convKernel−1, convDim), oldest row first; SSM state S (H, P, N)
//   '*' layer: K and V caches (maxTokens, nKvHeads·hd); rows [0, position) are filled
// A snapshot copies the conv windows and SSM states and records the position. KV rows are only
// appended, so a snapshot needs no KV copy until rows below its position are overwritten (after
// a restore to an earlier point): before any KV write at rows [from, …) the state saves, for each
// live snapshot with position > from, the rows [from, position) it does not hold yet
// (copy-on-write), and restore writes them back.

import { LayerStates } from '../../engine/core/layer-states.js';
import { stateLayers, type SequenceState, type StatePart, type StateSnapshot } from '../../engine/core/backend.js';
import type { ModelConfig } from '../../engine/core/config.js';
import { ContextWindowExceededError, SequenceStateError } from '../../engine/core/errors.js';
import type { KvDtype } from './act.js';
import type { Heap } from './heap.js';

/** Conv window and SSM state of one Mamba-2 layer (byte addresses). */
export interface MambaBuffers {
  readonly conv: number; // (convKernel−1, convDim) f32
  readonly ssm: number; // (H, P, N) f32
}

/** KV cache of one attention layer (byte addresses). */
export interface KvBuffers {
  readonly k: number; // (maxTokens, nKvHeads·hd) f32 or bf16 (WasmSequenceState.kvDtype)
  readonly v: number; // (maxTokens, nKvHeads·hd) f32 or bf16
}

/** KV rows [from, to) of every attention layer, saved for a snapshot. */
interface KvSegment {
  readonly from: number;
  readonly to: number;
  readonly copies: Map<number, KvBuffers>; // by layer il: (to − from, nKvHeads·hd) each
}

class WasmSnapshot implements StateSnapshot {
  savedFrom: number; // KV rows [savedFrom, position) are held in `segments`
  segments: KvSegment[] = [];

  constructor(
    readonly owner: WasmSequenceState,
    readonly position: number,
    public mamba: Map<number, MambaBuffers> | null, // copies, by layer il
  ) {
    this.savedFrom = position;
  }

  free(): void {
    this.owner.release(this);
  }
}

/**
 * The WASM backend's SequenceState; every layer of `part` (trunk or MTP) gets its buffers up front.
 * @example const seq = new WasmSequenceState(heap, config, 4096);
 */
export class WasmSequenceState extends LayerStates<MambaBuffers, KvBuffers> implements SequenceState {
  private pos = 0;
  private freed = false;
  private readonly snapshots = new Set<WasmSnapshot>();
  private readonly convBytes: number;
  private readonly ssmBytes: number;
  private readonly kvRowBytes: number;

  constructor(
    private readonly heap: Heap,
    readonly config: ModelConfig,
    readonly maxTokens: number,
    part: StatePart = 'trunk',
    /** Whether this model holds layer il (a shard holds state only for its own layers). */
    holds: (il: number) => boolean = () => true,
    /** Element type of the KV caches. */
    readonly kvDtype: KvDtype = 'f32',
  ) {
    super();
    const m = config.mamba;
    const a = config.attention;
    this.convBytes = m ? (m.convKernel - 1) * m.convDim * 4 : 0;
    this.ssmBytes = m ? m.nHeads * m.headDim * m.dState * 4 : 0;
    this.kvRowBytes = a ? a.nKvHeads * a.headDim * (kvDtype === 'bf16' ? 2 : 4) : 0;
    for (const layer of stateLayers(config, part).filter((l) => holds(l.il))) {
      if (layer.kind === 'M') {
        this.mamba.set(layer.il, { conv: heap.allocZeroed(this.convBytes), ssm: heap.allocZeroed(this.ssmBytes) });
      } else if (layer.kind === '*') {
        this.kv.set(layer.il, { k: heap.alloc(maxTokens * this.kvRowBytes), v: heap.alloc(maxTokens * this.kvRowBytes) });
      }
    }
  }

  get position(): number {
    return this.pos;
  }

  advance(n: number): void {
    if (this.pos + n > this.maxTokens) throw new ContextWindowExceededError(this.pos + n, this.maxTokens);
    this.pos += n;
  }

  /** Call before writing KV rows from `from` on: live snapshots save the rows they still need. */
  protectKv(from: number, except?: WasmSnapshot): void {
    for (const snap of this.snapshots) {
      if (snap === except || from >= snap.savedFrom) continue;
      const copies = new Map<number, KvBuffers>();
      const bytes = (snap.savedFrom - from) * this.kvRowBytes;
      for (const [il, buf] of this.kv) {
        const k = this.heap.alloc(bytes);
        const v = this.heap.alloc(bytes);
        this.heap.copy(k, buf.k + from * this.kvRowBytes, bytes);
        this.heap.copy(v, buf.v + from * this.kvRowBytes, bytes);
        copies.set(il, { k, v });
      }
      snap.segments.push({ from, to: snap.savedFrom, copies });
      snap.savedFrom = from;
    }
  }

  snapshot(): StateSnapshot {
    if (this.freed) throw new SequenceStateError('the sequence was freed');
    const copies = new Map<number, MambaBuffers>();
    for (const [il, s] of this.mamba) {
      const conv = this.heap.alloc(this.convBytes);
      const ssm = this.heap.alloc(this.ssmBytes);
      this.heap.copy(conv, s.conv, this.convBytes);
      this.heap.copy(ssm, s.ssm, this.ssmBytes);
      copies.set(il, { conv, ssm });
    }
    const snap = new WasmSnapshot(this, this.pos, copies);
    this.snapshots.add(snap);
    return snap;
  }

  restore(snapshot: StateSnapshot): void {
    if (!(snapshot instanceof WasmSnapshot) || snapshot.owner !== this) {
      throw new SequenceStateError('the snapshot was not taken from this sequence');
    }
    if (!snapshot.mamba) throw new SequenceStateError('the snapshot was freed');
    for (const [il, s] of snapshot.mamba) {
      const dst = this.mambaLayer(il);
      this.heap.copy(dst.conv, s.conv, this.convBytes);
      this.heap.copy(dst.ssm, s.ssm, this.ssmBytes);
    }
    if (snapshot.segments.length > 0) {
      this.protectKv(snapshot.savedFrom, snapshot);
      for (const seg of snapshot.segments) {
        const bytes = (seg.to - seg.from) * this.kvRowBytes;
        for (const [il, c] of seg.copies) {
          const dst = this.kvLayer(il);
          this.heap.copy(dst.k + seg.from * this.kvRowBytes, c.k, bytes);
          this.heap.copy(dst.v + seg.from * this.kvRowBytes, c.v, bytes);
        }
      }
    }
    this.pos = snapshot.position;
  }

  /** Free a snapshot's copies (StateSnapshot.free). */
  release(snap: WasmSnapshot): void {
    if (!snap.mamba) return;
    for (const s of snap.mamba.values()) {
      this.heap.free(s.conv);
      this.heap.free(s.ssm);
    }
    for (const seg of snap.segments) {
      for (const c of seg.copies.values()) {
        this.heap.free(c.k);
        this.heap.free(c.v);
      }
    }
    snap.mamba = null;
    snap.segments = [];
    this.snapshots.delete(snap);
  }

  free(): void {
    if (this.freed) return;
    for (const snap of [...this.snapshots]) this.release(snap);
    for (const s of this.mamba.values()) {
      this.heap.free(s.conv);
      this.heap.free(s.ssm);
    }
    for (const s of this.kv.values()) {
      this.heap.free(s.k);
      this.heap.free(s.v);
    }
    this.mamba.clear();
    this.kv.clear();
    this.freed = true;
  }
}
