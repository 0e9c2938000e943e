// spec §11: self-speculative decoding with the model's own MTP block, exact under greedy and
// under sampling. One round, with the trunk at position P and x_P the last emitted token:
//   1. draft d_1 … d_k with the MTP block (engine/decode/mtp.ts), d_i ~ q_i;
//   2. verify [x_P, d_1 … d_k] in ONE trunk pass of k + 1 tokens → p_0 … p_k;
//   3. accept d_{i+1} with probability min(1, p_i(d_{i+1}) / q_{i+1}(d_{i+1})); at the first
//      rejection draw from normalize(max(0, p_i − q_{i+1})) and stop; if all k are accepted,
//      draw one more from p_k (Leviathan et al. 2023 / Chen et al. 2023: each emitted token is
//      distributed exactly as the trunk's p). p and q are the same processed distributions
//      engine/decode/sample.ts draws from (temperature, top-k, top-p); under greedy both are one-point
//      and the rule reduces to "accept while d_{i+1} = argmax p_i, then take argmax p_j".
//      A LogitsProcessor (reasoning budget) edits each p_i after the tokens before it were
//      accepted, as in plain decoding; drafts are drawn from the unedited q (still exact).
//   4. rollback: the trunk state is snapshotted before the verify pass; after a rejection at j
//      it is restored (Mamba conv/SSM states cannot be cut back to a position inside a pass) and
//      brought to P + j + 1 tokens by one of two strategies (bench/mtp.ts measures both):
//      'replay' (default) re-runs only the Mamba-2 layers on their inputs kept from the verify
//      pass, rows 0 … j (attention KV rows are only appended, MoE/MLP hold no state);
//      'recompute' re-runs the whole trunk on [x_P, d_1 … d_j]. The MTP block's KV cache is
//      rewound to just after its first draft step (the only entry built from a true trunk state).
// The MTP block then catches up on the j + 1 accepted positions (true h from the verify pass)
// in the first step of the next round's draft.

import type { Act, SequenceState } from '../core/backend.js';
import type { MambaInputs, Model } from '../core/model.js';
import type { LogitsProcessor } from './logits-processor.js';
import { Mtp } from './mtp.js';
import { Prng } from './prng.js';
import { distribution, type Distribution, type SamplerOptions } from './sample.js';

/** Counts of a speculative generation. */
export interface SpeculativeStats {
  /** Verification passes (rounds with k ≥ 1). */
  readonly rounds: number;
  /** Tokens drafted in those rounds. */
  readonly drafted: number;
  /** Drafts the trunk accepted. */
  readonly accepted: number;
  /** Rounds that rolled the trunk back (a draft was rejected). */
  readonly rollbacks: number;
  /** Time spent restoring and recomputing after rejections, ms. */
  readonly rollbackMs: number;
  /** Tokens emitted per verification pass: 1 + accepted / rounds (0 without a round). */
  readonly acceptLen: number;
}

/** Probability of `id` under a distribution (0 outside its support; ids are ascending). */
export function probability(dist: Distribution, id: number): number {
  let lo = 0;
  let hi = dist.ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (dist.ids[mid] === id) return dist.probs[mid];
    if (dist.ids[mid] < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/**
 * The residual distribution of a rejection: normalize(max(0, p − q)) over p's support; p itself
 * when p ≤ q everywhere (then a rejection has probability 0, and only rounding can get here).
 * @example residual(p, q) // p = {0: .5, 1: .5}, q = {0: 1} → {1: 1}
 */
export function residual(p: Distribution, q: Distribution): Distribution {
  const probs = new Float64Array(p.ids.length);
  let total = 0;
  p.ids.forEach((id, i) => {
    probs[i] = Math.max(0, p.probs[i] - probability(q, id));
    total += probs[i];
  });
  if (!(total > 0)) return p;
  for (let i = 0; i < probs.length; i++) probs[i] /= total;
  return { ids: p.ids, probs };
}

/** One draw from a distribution with a uniform u ∈ [0, 1). */
export function draw(dist: Distribution, u: number): number {
  let r = u;
  for (let i = 0; i < dist.ids.length; i++) {
    r -= dist.probs[i];
    if (r < 0) return dist.ids[i];
  }
  return dist.ids[dist.ids.length - 1]; // r landed in the rounding slack of Σ probs
}

/**
 * The acceptance test of one draft: true with probability min(1, p(d) / q(d)), given a uniform
 * u ∈ [0, 1). Exported so tests can check that a wrong rule is caught.
 */
export type AcceptRule = (pd: number, qd: number, u: number) => boolean;

/** The standard rule: accept when u · q(d) < p(d). */
export const standardAccept: AcceptRule = (pd, qd, u) => u * qd < pd;

/**
 * Step 3 of a round: the tokens a verification emits. `drafts[i]` was drawn from `qs[i]`;
 * `target(i)` is the trunk's distribution p_i after the tokens before it (called in order, after
 * `emit` of each of them); `uniform` gives u ∈ [0, 1). Returns d_1 … d_j and one more token.
 * @example verifyDrafts(Int32Array.of(3), [q], (i) => p[i], () => {}, () => rng.uniform(), standardAccept)
 */
export function verifyDrafts(
  drafts: Int32Array,
  qs: readonly Distribution[],
  target: (i: number) => Distribution,
  emit: (id: number) => void,
  uniform: () => number,
  accept: AcceptRule = standardAccept,
): number[] {
  const out: number[] = [];
  for (let j = 0; ; j++) {
    const p = target(j);
    const d = drafts[j];
    const accepted = j < drafts.length && accept(probability(p, d), probability(qs[j], d), uniform());
    const id = accepted ? d : draw(j < drafts.length ? residual(p, qs[j]) : p, uniform());
    emit(id);
    out.push(id);
    if (!accepted) return out;
  }
}

/** How the trunk returns to the last accepted token after a rejection (see the header, step 4). */
export type RollbackStrategy = 'replay' | 'recompute';

export interface SpeculativeOptions extends SamplerOptions {
  /** Draft depth k ≥ 1. */
  readonly k: number;
  /** Default 'replay'. */
  readonly rollback?: RollbackStrategy;
  readonly logitsProcessor?: LogitsProcessor;
  /** Replaces the acceptance rule (tests only). */
  readonly accept?: AcceptRule;
}

/**
 * Generates tokens by MTP drafting and one-pass trunk verification. `first` prefills the prompt;
 * each `next` runs one round and returns the 1 … k + 1 tokens it emits.
 * @example
 * const dec = new SpeculativeDecoder(model, { k: 3, temperature: 0 }, 512);
 * let ids = [dec.first(prompt)];
 * ids = dec.next(100); // up to 4 tokens
 * dec.free();
 */
export class SpeculativeDecoder {
  private readonly mtp: Mtp;
  private readonly seq: SequenceState;
  private readonly mtpSeq: SequenceState;
  private readonly rng: Prng;
  private readonly accept: AcceptRule;
  private pendingH: Act | null = null; // true trunk h_t of the positions the MTP block has not seen, (R, d)
  private pendingNext: Int32Array = new Int32Array(0); // x_{t+1} of those positions, (R)
  private last = -1;
  private counts = { rounds: 0, drafted: 0, accepted: 0, rollbacks: 0, rollbackMs: 0 };

  constructor(
    private readonly model: Model,
    private readonly options: SpeculativeOptions,
    capacity: number,
  ) {
    this.mtp = new Mtp(model);
    this.rng = new Prng(options.seed ?? 0, 'speculative');
    this.accept = options.accept ?? standardAccept;
    this.seq = model.newSequence(capacity);
    this.mtpSeq = this.mtp.newSequence(capacity);
  }

  /** Prefill the prompt (T tokens) and return the first token. */
  first(prompt: Int32Array): number {
    const { logits, hidden } = this.model.forwardHidden(this.seq, prompt, 'last');
    const id = this.pick(logits);
    this.setPending(hidden, Int32Array.of(...prompt.subarray(1), id));
    return id;
  }

  /** One round: at most `limit` (≥ 1) tokens, drafting k' = min(k, limit − 1). */
  next(limit: number): number[] {
    const k = Math.min(this.options.k, limit - 1);
    if (k === 0) return [this.plainStep()];
    const V = this.model.config.vocabSize;
    // 1. draft d_1 … d_k, keeping each q_i
    const qs: Distribution[] = [];
    const { drafts, rewind } = this.mtp.draft(this.mtpSeq, this.pendingH!, this.pendingNext, k, (logits) => {
      const q = distribution(logits, this.options);
      qs.push(q);
      return draw(q, this.rng.uniform());
    });
    // 2. verify [x_P, d_1 … d_k] in one pass: rows p_0 … p_k
    const before = this.seq.snapshot();
    const verify = Int32Array.of(this.last, ...drafts);
    const replay = this.options.rollback !== 'recompute';
    const mambaInputs: MambaInputs = new Map();
    const { logits, hidden } = this.model.forwardHidden(this.seq, verify, 'all', undefined, replay ? mambaInputs : undefined);
    // 3. accept drafts while the rule says so; then one token from the residual or from p_j
    const processor = this.options.logitsProcessor;
    const out = verifyDrafts(drafts, qs, (j) => {
      const row = logits.subarray(j * V, (j + 1) * V);
      processor?.process(row);
      return distribution(row, this.options);
    }, (id) => {
      processor?.accept(id);
      this.last = id;
    }, () => this.rng.uniform(), this.accept);
    const j = out.length - 1; // drafts accepted
    // 4. roll back to P + j + 1 tokens: restore, then replay or recompute the accepted prefix; rewind the MTP cache
    if (j < k) {
      const t0 = performance.now();
      this.seq.restore(before);
      if (replay) this.model.replayMamba(this.seq, mambaInputs, j + 1);
      else this.model.consume(this.seq, verify.subarray(0, j + 1));
      this.counts.rollbacks++;
      this.counts.rollbackMs += performance.now() - t0;
    }
    this.model.freeMambaInputs(mambaInputs);
    before.free();
    if (rewind) {
      this.mtpSeq.restore(rewind);
      rewind.free();
    }
    this.counts.rounds++;
    this.counts.drafted += k;
    this.counts.accepted += j;
    const accepted = j + 1 < hidden.rows ? this.model.ops.sliceRows(hidden, 0, j + 1) : hidden;
    if (accepted !== hidden) this.model.ops.free(hidden);
    this.setPending(accepted, Int32Array.from(out));
    return out;
  }

  /** The trunk's state: P tokens consumed, the last emitted token not yet (tests compare it with plain decoding). */
  get trunkState(): SequenceState {
    return this.seq;
  }

  /** The counts so far. */
  get stats(): SpeculativeStats {
    const { rounds, accepted } = this.counts;
    return { ...this.counts, acceptLen: rounds > 0 ? 1 + accepted / rounds : 0 };
  }

  free(): void {
    if (this.pendingH) this.model.ops.free(this.pendingH);
    this.pendingH = null;
    this.seq.free();
    this.mtpSeq.free();
  }

  /** A round without drafts (the last token): the MTP block catches up first, so it stays in step. */
  private plainStep(): number {
    this.mtp.draft(this.mtpSeq, this.pendingH!, this.pendingNext, 1, () => 0);
    const { logits, hidden } = this.model.forwardHidden(this.seq, Int32Array.of(this.last), 'last');
    const id = this.pick(logits);
    this.setPending(hidden, Int32Array.of(id));
    return id;
  }

  private pick(logits: Float32Array): number {
    this.options.logitsProcessor?.process(logits);
    const id = draw(distribution(logits, this.options), this.rng.uniform());
    this.options.logitsProcessor?.accept(id);
    this.last = id;
    return id;
  }

  private setPending(h: Act, next: Int32Array): void {
    if (this.pendingH) this.model.ops.free(this.pendingH);
    this.pendingH = h;
    this.pendingNext = next;
  }
}
