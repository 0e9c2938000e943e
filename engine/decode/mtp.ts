// spec §11: the multi-token-prediction (MTP) block, over the op interface (house style H2: no
// arithmetic here). One MTP step at trunk position t, with h_t the trunk's final-normed hidden
// state (after norm_f, as vLLM passes it) and x_{t+1} the token after t:
//   z = eh_proj · [enorm(Emb(x_{t+1})), hnorm(h_t)]          eh_proj: [d, 2d], concat order [e, h]
//   z ← z + Mixer_c(RMSNorm_j(z)) for each sub-layer j of mtp_hybrid_override_pattern ("*E")
//   ĥ = final_layernorm(z);  draft logits = lm_head(ĥ)          (the trunk's head, shared)
// The concatenation is one op (`concatCols`), so eh_proj stays one [d, 2d] matmul in whatever
// format it is stored (f32, bf16, nvfp4 with its per-16 scales along the input) instead of two
// column halves that no backend can address. Recursive drafting feeds ĥ back as the next "h" with
// the drafted token's embedding (shared weights). The attention sub-layer has its own KV cache:
// a sequence of part 'mtp', one entry per trunk position t whose x_{t+1} is known.

import type { Act, SequenceState, StateSnapshot } from '../core/backend.js';
import { InvalidOptionError } from '../core/errors.js';
import type { Model } from '../core/model.js';

/** Draft logits of one MTP step and its output ĥ (the next step's "h"). */
export interface MtpStep {
  /** (V) logits of the token after the last input row. */
  readonly logits: Float32Array;
  /** ĥ of the last row, (1, d), owned by the caller. */
  readonly hidden: Act;
}

/** What `Mtp.draft` returns. */
export interface Draft {
  /** The k drafted ids, d_1 … d_k. */
  readonly drafts: Int32Array;
  /** The MTP state right after the first step (k > 1), else null. */
  readonly rewind: StateSnapshot | null;
}

/**
 * The MTP block of a model whose checkpoint carries `mtp.*` weights.
 * @example
 * const mtp = new Mtp(model);
 * const seq = mtp.newSequence(4096);
 * const { logits, hidden } = mtp.step(seq, h, Int32Array.of(next)); // h: (1, d) trunk hidden
 */
export class Mtp {
  private readonly first: string; // tensor prefix of the first sub-layer (enorm, hnorm, eh_proj)
  private readonly last: string; // tensor prefix of the last sub-layer (final_layernorm)
  private readonly sub: readonly number[]; // layer indices il of the sub-layers

  constructor(readonly model: Model) {
    const { config } = model;
    if (!config.mtp || config.layers.length === config.nTrunkLayers) {
      throw new InvalidOptionError('mtp', config.mtp, 'a model with an MTP block (num_nextn_predict_layers > 0)');
    }
    const layers = config.layers.slice(config.nTrunkLayers);
    this.first = layers[0].prefix;
    this.last = layers[layers.length - 1].prefix;
    this.sub = layers.map((l) => l.il);
  }

  /** State for the MTP block's own layers (its attention KV cache), for up to `maxTokens` positions. */
  newSequence(maxTokens: number): SequenceState {
    return this.model.ops.newSequence(maxTokens, 'mtp');
  }

  /**
   * MTP steps for R consecutive positions t: rows of `h` are h_t (R, d), `next` the tokens x_{t+1}
   * (R). Appends R entries to `seq`'s KV cache; returns the draft logits of the last row only.
   * `h` is not freed.
   */
  step(seq: SequenceState, h: Act, next: Int32Array): MtpStep {
    const { ops } = this.model;
    if (h.rows !== next.length) throw new InvalidOptionError('next', next.length, `one token per hidden row (${h.rows})`);
    // z = eh_proj · [enorm(Emb(x_{t+1})), hnorm(h_t)]   (R, 2d) → (R, d)
    const emb = ops.embed(next);
    const e = ops.rmsnorm(emb, `${this.first}enorm.weight`);
    ops.free(emb);
    const hn = ops.rmsnorm(h, `${this.first}hnorm.weight`);
    const eh = ops.concatCols(e, hn);
    ops.free(e);
    ops.free(hn);
    const z = ops.matmul(eh, `${this.first}eh_proj.weight`);
    ops.free(eh);
    // the sub-layers, each z ← z + Mixer(RMSNorm(z)), on the MTP block's own state
    for (const il of this.sub) this.model.block(il, z, seq);
    seq.advance(next.length);
    // ĥ = final_layernorm(z) of the last row; logits = lm_head(ĥ)
    const lastRow = z.rows > 1 ? ops.sliceRows(z, z.rows - 1, 1) : z;
    if (lastRow !== z) ops.free(z);
    const hidden = ops.rmsnorm(lastRow, `${this.last}final_layernorm.weight`);
    ops.free(lastRow);
    return { logits: ops.head(hidden), hidden };
  }

  /**
   * Draft `k` tokens: one step over the pending rows (h, next), then k − 1 recursive steps on
   * (ĥ, the token just drafted). `choose` picks a token from each row of draft logits (and may
   * record the distribution it drew from). `seq` advances by next.length + k − 1; only the first
   * step's entries are built from true trunk states, so `rewind` (k > 1) is a snapshot of `seq`
   * right after that step, for the caller to restore to and free once the drafts are verified.
   * @example const { drafts } = mtp.draft(seq, h, Int32Array.of(last), 1, argmax);
   */
  draft(seq: SequenceState, h: Act, next: Int32Array, k: number, choose: (logits: Float32Array) => number): Draft {
    const { ops } = this.model;
    const drafts = new Int32Array(k);
    let step = this.step(seq, h, next);
    const rewind = k > 1 ? seq.snapshot() : null;
    for (let i = 0; ; i++) {
      drafts[i] = choose(step.logits);
      if (i + 1 === k) break;
      const prev = step.hidden;
      step = this.step(seq, prev, drafts.subarray(i, i + 1));
      ops.free(prev);
    }
    ops.free(step.hidden);
    return { drafts, rewind };
  }
}
