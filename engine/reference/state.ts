// spec §19.10: per-sequence decode state on the reference backend, in f64.
//   'M' layer: conv window (convKernel−1, convDim) of pre-activation xBC rows, oldest first;
//              SSM state S (H, P, N)
//   '*' layer: K and V caches (maxTokens, nKvHeads·hd); rows [0, position) are filled
// A snapshot deep-copies the conv windows, the SSM states and the filled KV rows [0, position), so
// it stays valid whatever runs after it (including a restore to an earlier snapshot that then
// overwrites those rows).

import { LayerStates } from '../core/layer-states.js';
import { stateLayers, type SequenceState, type StatePart, type StateSnapshot } from '../core/backend.js';
import type { ModelConfig } from '../core/config.js';
import { ContextWindowExceededError, SequenceStateError } from '../core/errors.js';

/** Recurrent state of one Mamba-2 layer. */
export interface MambaLayerState {
  readonly conv: Float64Array; // (convKernel−1, convDim)
  readonly ssm: Float64Array; // (H, P, N)
}

/** KV cache of one attention layer. */
export interface KvLayerState {
  readonly k: Float64Array; // (maxTokens, nKvHeads·hd)
  readonly v: Float64Array; // (maxTokens, nKvHeads·hd)
}

/** Deep copies of a sequence's state: Mamba states whole, KV caches' rows [0, position). */
interface SavedState {
  readonly mamba: Map<number, MambaLayerState>; // by layer il
  readonly kv: Map<number, KvLayerState>; // by layer il, (position, nKvHeads·hd)
}

class RefSnapshot implements StateSnapshot {
  constructor(
    readonly owner: RefSequenceState,
    readonly position: number,
    public saved: SavedState | null,
  ) {}

  free(): void {
    this.saved = null;
  }
}

/**
 * The reference backend's `SequenceState`: every layer of `part` (the trunk's or the MTP block's)
 * gets its state up front.
 * @example const seq = new RefSequenceState(config, 4096);
 */
export class RefSequenceState extends LayerStates<MambaLayerState, KvLayerState> implements SequenceState {
  private pos = 0;

  constructor(
    readonly config: ModelConfig,
    readonly maxTokens: number, // KV capacity in tokens
    part: StatePart = 'trunk',
  ) {
    super();
    for (const layer of stateLayers(config, part)) {
      if (layer.kind === 'M') {
        const m = config.mamba!;
        this.mamba.set(layer.il, {
          conv: new Float64Array((m.convKernel - 1) * m.convDim),
          ssm: new Float64Array(m.nHeads * m.headDim * m.dState),
        });
      } else if (layer.kind === '*') {
        const a = config.attention!;
        const width = a.nKvHeads * a.headDim;
        this.kv.set(layer.il, { k: new Float64Array(maxTokens * width), v: new Float64Array(maxTokens * width) });
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

  snapshot(): StateSnapshot {
    const mamba = new Map<number, MambaLayerState>();
    for (const [il, s] of this.mamba) mamba.set(il, { conv: s.conv.slice(), ssm: s.ssm.slice() });
    const kv = new Map<number, KvLayerState>();
    for (const [il, s] of this.kv) {
      const filled = (this.pos * s.k.length) / this.maxTokens; // rows [0, position)
      kv.set(il, { k: s.k.slice(0, filled), v: s.v.slice(0, filled) });
    }
    return new RefSnapshot(this, this.pos, { mamba, kv });
  }

  restore(snapshot: StateSnapshot): void {
    if (!(snapshot instanceof RefSnapshot) || snapshot.owner !== this) {
      throw new SequenceStateError('the snapshot was not taken from this sequence');
    }
    if (!snapshot.saved) throw new SequenceStateError('the snapshot was freed');
    // copy into the live buffers, so the snapshot survives later passes and can be restored again
    for (const [il, s] of snapshot.saved.mamba) {
      this.mambaLayer(il).conv.set(s.conv);
      this.mambaLayer(il).ssm.set(s.ssm);
    }
    for (const [il, s] of snapshot.saved.kv) {
      this.kvLayer(il).k.set(s.k);
      this.kvLayer(il).v.set(s.v);
    }
    this.pos = snapshot.position;
  }

  free(): void {
    this.mamba.clear();
    this.kv.clear();
  }
}
