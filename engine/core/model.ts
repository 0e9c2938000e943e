// spec §4: the NemotronH forward pass, written once over the op interface (DESIGN §1–2).
// For each layer: u = RMSNorm(x); x = x + Mixer_kind(u). Then norm_f and the head.
// This file does no arithmetic itself (house style H2).
// A prompt longer than `prefillChunk` tokens goes through in passes of that many (`forward`,
// `hidden`): every op of spec §4 is causal and carries its state between passes, so the logits
// and the state are those of one pass up to the reassociation of the SSD's chunk sums (spec
// §6.6; the tolerance of prefill against decode), while a pass holds the activations of at most
// `prefillChunk` tokens instead of the whole prompt's.

import type { Act, LoadedModel, SequenceState } from './backend.js';
import { ContextWindowExceededError, TokenOutOfRangeError } from './errors.js';
import type { TraceHook } from './trace.js';
import { headTensorName } from './weights.js';
import { concatArrays } from '../formats/bytes.js';

/** The normed inputs u (T, d) of the Mamba-2 layers of one pass, by layer index il. */
export type MambaInputs = Map<number, Act>;

/** The trace name of each layer kind's mixer output (engine/core/trace.ts). */
const MIXER_NAMES = { M: 'mamba2', '*': 'attention', E: 'moe', '-': 'mlp' } as const;

/** Which rows of logits a forward pass returns. */
export type LogitRows = 'last' | 'all';

/** Prompt tokens one pass takes at most (Model.prefillChunk's default; see the header). */
export const PREFILL_CHUNK = 256;

/**
 * The model graph over one backend.
 * @example
 * const model = new Model(loaded);
 * const seq = model.newSequence(4096);
 * const logits = model.forward(seq, new Int32Array([1, 42, 7]), 'last'); // (1, V)
 */
export class Model {
  /** Receives every named intermediate (engine/core/trace.ts); unset, tracing costs nothing. */
  trace: TraceHook | null = null;
  /** Prompt tokens one pass of `forward` / `hidden` takes at most (see the header). */
  prefillChunk = PREFILL_CHUNK;

  constructor(readonly ops: LoadedModel) {}

  /** Report `x` as the tensor `name` of layer `il` to the trace hook (llama.cpp's `cb`). */
  private cb(x: Act, name: string, il: number): void {
    if (this.trace) this.trace({ name, layer: il }, this.ops.download(x));
  }

  get config() {
    return this.ops.config;
  }

  /** A new sequence whose attention caches hold up to `maxTokens` tokens. */
  newSequence(maxTokens: number): SequenceState {
    return this.ops.newSequence(maxTokens);
  }

  /**
   * Run T tokens through the trunk (prefill when T > 1, decode when T = 1), advancing `seq`.
   * Returns logits as (rows × V) host floats, rows = 1 for 'last', T for 'all'.
   */
  forward(seq: SequenceState, tokens: Int32Array, rows: LogitRows = 'last', maxTokens?: number): Float32Array {
    if (tokens.length <= this.prefillChunk) return this.pass(seq, tokens, rows, maxTokens);
    this.check(seq, tokens, maxTokens); // before the first pass: a bad token in a later one changes nothing
    const parts = this.chunks(tokens);
    const last = parts.pop()!;
    if (rows === 'last') {
      for (const part of parts) this.consume(seq, part);
      return this.pass(seq, last, 'last', maxTokens);
    }
    return concatRows([...parts, last].map((part) => this.pass(seq, part, 'all', maxTokens)));
  }

  /** `forward` in one pass. */
  private pass(seq: SequenceState, tokens: Int32Array, rows: LogitRows, maxTokens: number | undefined): Float32Array {
    const { ops } = this;
    const x = this.trunk(seq, tokens, maxTokens);
    // 3. h = RMSNorm_f(x), only on the rows whose logits are wanted
    const kept = rows === 'last' && x.rows > 1 ? ops.sliceRows(x, x.rows - 1, 1) : x;
    if (kept !== x) ops.free(x);
    const h = ops.rmsnorm(kept, 'backbone.norm_f.weight');
    ops.free(kept);
    this.cb(h, 'norm_f', -1);
    // 4. logits = h · W_lmᵀ   (rows, V)
    const logits = ops.head(h);
    ops.free(h);
    this.trace?.({ name: 'logits', layer: -1 }, logits);
    return logits;
  }

  /**
   * Re-run only the Mamba-2 layers on the first `n` rows of their inputs kept by `forwardHidden`,
   * then advance `seq` by n: after `restore` to the state before that pass, this reaches the
   * state after its first n tokens (attention KV rows are only appended, so the pass's rows stay
   * valid; MoE and MLP hold no state). A speculative rollback (engine/decode/speculative.ts).
   */
  replayMamba(seq: SequenceState, mambaInputs: MambaInputs, n: number): void {
    const { ops } = this;
    for (const [il, u] of mambaInputs) {
      const head = n < u.rows ? ops.sliceRows(u, 0, n) : u;
      ops.free(ops.mamba2(il, head, seq));
      if (head !== u) ops.free(head);
    }
    seq.advance(n);
  }

  /** Free the inputs kept by `forwardHidden` and empty the map. */
  freeMambaInputs(mambaInputs: MambaInputs): void {
    for (const u of mambaInputs.values()) this.ops.free(u);
    mambaInputs.clear();
  }

  /**
   * `forward`, keeping the final-normed hidden states h = RMSNorm_f(x) of all T rows on the
   * backend, (T, d), for the caller to free: the MTP block's h_t input (spec §11, as vLLM passes it).
   * With `mambaInputs`, the normed input u (T, d) of every Mamba-2 layer is kept there by layer
   * index (for `replayMamba`; free with `freeMambaInputs`).
   * @example
   * const { logits, hidden } = model.forwardHidden(seq, Int32Array.of(1, 42, 7), 'all'); // (3, V), (3, d)
   */
  forwardHidden(seq: SequenceState, tokens: Int32Array, rows: LogitRows = 'last', maxTokens?: number, mambaInputs?: MambaInputs): { logits: Float32Array; hidden: Act } {
    const { ops } = this;
    const hidden = this.normed(seq, tokens, maxTokens, mambaInputs);
    const kept = rows === 'last' && hidden.rows > 1 ? ops.sliceRows(hidden, hidden.rows - 1, 1) : hidden;
    const logits = ops.head(kept);
    if (kept !== hidden) ops.free(kept);
    return { logits, hidden };
  }

  /**
   * The final-normed hidden states h = RMSNorm_f(x) of T tokens, advancing `seq` as `forward`
   * does: (T × d) host floats, row-major. The head is not applied (embeddings, probes).
   * @example
   * const h = model.hidden(model.newSequence(8), Int32Array.of(1, 42, 7)); // (3, d)
   */
  hidden(seq: SequenceState, tokens: Int32Array, maxTokens?: number): Float32Array {
    this.check(seq, tokens, maxTokens);
    return concatRows(
      this.chunks(tokens).map((part) => {
        const h = this.normed(seq, part, maxTokens);
        const rows = this.ops.download(h);
        this.ops.free(h);
        return rows;
      }),
    );
  }

  /** `tokens` in runs of at most prefillChunk. */
  private chunks(tokens: Int32Array): Int32Array[] {
    const out: Int32Array[] = [];
    for (let at = 0; at < tokens.length; at += this.prefillChunk) out.push(tokens.subarray(at, at + this.prefillChunk));
    return out;
  }

  /** Every token in the vocabulary and the sequence's room for them, or the error, before any compute. */
  private check(seq: SequenceState, tokens: Int32Array, maxTokens: number | undefined): void {
    const { vocabSize } = this.config;
    for (const t of tokens) if (!(t >= 0 && t < vocabSize)) throw new TokenOutOfRangeError(t, vocabSize);
    if (maxTokens !== undefined && seq.position + tokens.length > maxTokens) {
      throw new ContextWindowExceededError(seq.position + tokens.length, maxTokens);
    }
  }

  /**
   * Run T tokens through the trunk only for their effect on `seq` (no norm_f, no head): the
   * recompute after a speculative rollback.
   */
  consume(seq: SequenceState, tokens: Int32Array): void {
    this.ops.free(this.trunk(seq, tokens, undefined));
  }

  /**
   * One block with its residual (spec §4 step 2): x ← x + Mixer_kind(RMSNorm_il(x)), in place;
   * `seq` holds layer il's state (the trunk's, or the MTP block's for its sub-layers).
   */
  block(il: number, x: Act, seq: SequenceState, mambaInputs?: MambaInputs): void {
    const { ops } = this;
    const layer = this.config.layers[il];
    const u = ops.rmsnorm(x, `${layer.prefix}norm.weight`);
    this.cb(u, 'norm', il);
    let y;
    switch (layer.kind) {
      case 'M':
        y = ops.mamba2(il, u, seq);
        break;
      case '*':
        y = ops.attention(il, u, seq);
        break;
      case 'E':
        y = ops.moe(il, u);
        break;
      case '-':
        y = ops.mlp(il, u);
        break;
    }
    this.cb(y, MIXER_NAMES[layer.kind], il);
    if (layer.kind === 'M' && mambaInputs) mambaInputs.set(il, u);
    else ops.free(u);
    ops.addInPlace(x, y);
    ops.free(y);
    this.cb(x, 'residual', il);
  }

  /** Steps 1–3 of spec §4: h = RMSNorm_f(trunk(tokens)), (T, d), `seq` advanced. */
  private normed(seq: SequenceState, tokens: Int32Array, maxTokens: number | undefined, mambaInputs?: MambaInputs): Act {
    const x = this.trunk(seq, tokens, maxTokens, mambaInputs);
    const h = this.ops.rmsnorm(x, 'backbone.norm_f.weight');
    this.ops.free(x);
    this.cb(h, 'norm_f', -1);
    return h;
  }

  /** Steps 1–2 of spec §4 (embedding, then every layer with its residual): x (T, d), `seq` advanced. */
  private trunk(seq: SequenceState, tokens: Int32Array, maxTokens: number | undefined, mambaInputs?: MambaInputs) {
    const { ops, config } = this;
    this.check(seq, tokens, maxTokens);
    // 1. x = Emb[t]   (T, d)
    const x = ops.embed(tokens);
    this.cb(x, 'embed', -1);
    // 2. each layer: u = RMSNorm_il(x); x += Mixer_kind(u) (a whole range at once where the
    //    backend offers it and nothing asks for the layers' intermediates)
    if (ops.blocks && !this.trace && !mambaInputs) ops.blocks(0, config.nTrunkLayers, x, seq);
    else for (let il = 0; il < config.nTrunkLayers; il++) this.block(il, x, seq, mambaInputs);
    seq.advance(tokens.length);
    return x;
  }

  /** Name of the head's weight tensor (lm_head, or the embedding when tied). */
  get headWeight(): string {
    return headTensorName(this.config);
  }
}

/** Row blocks (each rows × cols, the same cols) one after another. */
function concatRows(blocks: readonly Float32Array[]): Float32Array {
  return blocks.length === 1 ? blocks[0] : concatArrays(blocks, Float32Array);
}
