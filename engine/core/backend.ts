// DESIGN §2: the one op interface every backend implements. Block level, not primitive level:
// a backend keeps a whole block (Mamba-2 mixer, attention, MoE, MLP) in its own memory, and the
// model graph (engine/core/model.ts) is written once against this file.

import type { LayerSpec, ModelConfig } from './config.js';
import type { TensorEntry } from './weights.js';

/**
 * An activation matrix of `rows` tokens × `cols` features, owned by a backend (a Float64Array
 * for `reference`, a region of WASM memory for `wasm`, a GPU buffer for `webgpu`).
 * It is opaque to the graph; `free` returns its memory.
 */
export interface Act {
  readonly rows: number; // T
  readonly cols: number; // width
}

/**
 * Saved copy of a sequence's recurrent state (conv windows, SSM states, KV lengths), for
 * speculative-decoding rollback.
 */
export interface StateSnapshot {
  /** Tokens the sequence had consumed when the snapshot was taken. */
  readonly position: number;
  free(): void;
}

/**
 * Per-sequence state (spec §19.10): a KV cache for every `*` layer; a conv window
 * (convKernel−1, convDim) and an fp32 SSM state (H, P, N) for every `M` layer.
 */
export interface SequenceState {
  /** Tokens consumed so far (the KV length of every attention layer). */
  readonly position: number;
  /** Advance the position after a forward pass of `n` tokens (called by the graph). */
  advance(n: number): void;
  snapshot(): StateSnapshot;
  /** Return to a snapshot taken from this sequence; the snapshot stays valid. */
  restore(snapshot: StateSnapshot): void;
  free(): void;
}

/**
 * Which layers a sequence holds state for: the trunk's (`il < nTrunkLayers`), or the MTP block's
 * (spec §11: its attention sub-layer has its own KV cache, one entry per trunk position, filled
 * one token behind the trunk, so it keeps its own position).
 */
export type StatePart = 'trunk' | 'mtp';

/**
 * The layers whose state a sequence of `part` holds.
 * @example stateLayers(config, 'mtp').map((l) => l.kind); // ['*', 'E']
 */
export function stateLayers(config: ModelConfig, part: StatePart): readonly LayerSpec[] {
  return part === 'trunk' ? config.layers.slice(0, config.nTrunkLayers) : config.layers.slice(config.nTrunkLayers);
}

/** The ops of a model loaded on one backend. Layer `il` indexes `config.layers`. */
export interface LoadedModel {
  readonly backend: string;
  readonly config: ModelConfig;

  /** Fresh state for one sequence (the layers of `part`, default 'trunk'); attention caches hold up to `maxTokens`. */
  newSequence(maxTokens: number, part?: StatePart): SequenceState;

  /** Copy host data (rows × cols, row-major) into an activation. */
  upload(data: Float32Array, rows: number, cols: number): Act;
  /** Copy an activation back to the host (row-major). */
  download(x: Act): Float32Array;
  free(x: Act): void;
  /** Copy rows [start, start+count) of x into a new activation. */
  sliceRows(x: Act, start: number, count: number): Act;
  /** Y[t] = [A[t], B[t]]: (T, n) and (T, m) → (T, n + m), e.g. spec §11's [enorm(e), hnorm(h)]. */
  concatCols(a: Act, b: Act): Act;

  /** spec §4.1: X[t] = Emb[tokens[t]]; (T) → (T, d). */
  embed(tokens: Int32Array): Act;
  /** spec §5: w ⊙ x / sqrt(mean(x²) + ε) per row, with the norm weight tensor `weight`. */
  rmsnorm(x: Act, weight: string): Act;
  /** Residual add in place: x ← x + y. */
  addInPlace(x: Act, y: Act): void;
  /** spec §6: Mamba-2 mixer of layer il; consumes u (T, d) and advances the conv/SSM state. */
  mamba2(il: number, u: Act, state: SequenceState): Act;
  /** spec §7: NoPE causal GQA attention of layer il over the KV cache, appending T entries. */
  attention(il: number, u: Act, state: SequenceState): Act;
  /** spec §8: sigmoid-routed MoE of layer il (router, top-k, experts, shared expert, LatentMoE). */
  moe(il: number, u: Act): Act;
  /** spec §9: dense relu² MLP of layer il. */
  mlp(il: number, u: Act): Act;
  /**
   * Optional fast path: layers [from, to) of spec §4 step 2 (x ← x + Mixer_il(RMSNorm_il(x)), in
   * turn), x updated in place, `state` not advanced. A sharded model (engine/shard) sends x once
   * per shard for the whole range instead of once per op; the others leave it out.
   */
  blocks?(from: number, to: number, x: Act, state: SequenceState): void;
  /** Y = X · Wᵀ for the linear weight tensor `weight` ([out, in]): (T, in) → (T, out). */
  matmul(x: Act, weight: string): Act;
  /** spec §4.4: logits = h · W_lmᵀ for every row of h: (T, d) → (T, V), as host floats. */
  head(h: Act): Float32Array;

  /** Bytes of weights resident in this backend. */
  weightBytes(): number;
  /** Release all weights and memory. */
  dispose(): void;
}

/** A backend: turns validated tensors into a LoadedModel. */
export interface Backend {
  readonly name: string;
  /**
   * Load the tensors (already checked by `validateWeights`) keyed by canonical name.
   * `onProgress` receives bytes loaded so far.
   */
  load(
    config: ModelConfig,
    tensors: ReadonlyMap<string, TensorEntry>,
    onProgress?: (loadedBytes: number, totalBytes: number) => void,
  ): Promise<LoadedModel>;
}
