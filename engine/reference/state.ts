// spec §19.10: per-sequence decode state on the reference backend, in f64.
//   'M' layer: conv window (convKernel−1, convDim) of pre-activation xBC rows, oldest first;
//              SSM state S (H, P, N)
//   '*' layer: K and V caches (maxTokens, nKvHeads·hd); rows [0, position) are filled
// A snapshot deep-copies the conv windows and SSM states and records the position. KV rows below
// the position are never rewritten, so restoring only needs the position back.

import type { SequenceState, StateSnapshot } from '../backend.js';
import type { ModelConfig } from '../config.js';
import { ContextWindowExceededError, SequenceStateError } from '../errors.js';

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

class RefSnapshot implements StateSnapshot {
  constructor(
    readonly owner: RefSequenceState,
    readonly position: number,
    public mamba: Map<number, MambaLayerState> | null, // deep copies, by layer il
  ) {}

  free(): void {
    this.mamba = null;
  }
}

function copyMamba(src: ReadonlyMap<number, MambaLayerState>): Map<number, MambaLayerState> {
  const out = new Map<number, MambaLayerState>();
  for (const [il, s] of src) out.set(il, { conv: s.conv.slice(), ssm: s.ssm.slice() });
  return out;
}

/**
 * The reference backend's `SequenceState`: every layer of `config.layers` (trunk and MTP) gets
 * its state up front.
 * @example const seq = new RefSequenceState(config, 4096);
 */
export class RefSequenceState implements SequenceState {
  private pos = 0;
  private mamba = new Map<number, MambaLayerState>(); // by layer il
  private kv = new Map<number, KvLayerState>(); // by layer il

  constructor(
    readonly config: ModelConfig,
    readonly maxTokens: number, // KV capacity in tokens
  ) {
    for (const layer of config.layers) {
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

  /** Conv window and SSM state of Mamba layer il. */
  mambaLayer(il: number): MambaLayerState {
    const s = this.mamba.get(il);
    if (!s) throw new SequenceStateError(`layer ${il} has no Mamba state (freed, or not an 'M' layer)`);
    return s;
  }

  /** KV cache of attention layer il. */
  kvLayer(il: number): KvLayerState {
    const s = this.kv.get(il);
    if (!s) throw new SequenceStateError(`layer ${il} has no KV cache (freed, or not a '*' layer)`);
    return s;
  }

  snapshot(): StateSnapshot {
    return new RefSnapshot(this, this.pos, copyMamba(this.mamba));
  }

  restore(snapshot: StateSnapshot): void {
    if (!(snapshot instanceof RefSnapshot) || snapshot.owner !== this) {
      throw new SequenceStateError('the snapshot was not taken from this sequence');
    }
    if (!snapshot.mamba) throw new SequenceStateError('the snapshot was freed');
    // copy again so the snapshot survives later forward passes and can be restored twice
    this.mamba = copyMamba(snapshot.mamba);
    this.pos = snapshot.position;
  }

  free(): void {
    this.mamba.clear();
    this.kv.clear();
  }
}
