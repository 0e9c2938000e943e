// Per-sequence state by layer (spec §19.10): a backend's Mamba buffers (conv window, SSM state)
// for every 'M' layer and its KV buffers for every '*' layer, keyed by the layer's il. The
// reference, wasm and webgpu sequence states extend this with their own buffer types.

import { SequenceStateError } from './errors.js';

/** Maps from layer il to a backend's state buffers, with lookups that name a missing layer. */
export class LayerStates<Mamba, Kv> {
  protected readonly mamba = new Map<number, Mamba>();
  protected readonly kv = new Map<number, Kv>();

  /** Conv window and SSM state of Mamba layer il. */
  mambaLayer(il: number): Mamba {
    const s = this.mamba.get(il);
    if (!s) throw new SequenceStateError(`layer ${il} has no Mamba state (freed, or not an 'M' layer)`);
    return s;
  }

  /** KV cache of attention layer il. */
  kvLayer(il: number): Kv {
    const s = this.kv.get(il);
    if (!s) throw new SequenceStateError(`layer ${il} has no KV cache (freed, or not a '*' layer)`);
    return s;
  }
}
