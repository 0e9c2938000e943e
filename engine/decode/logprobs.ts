// Token log-probabilities (OpenAI `logprobs` / `top_logprobs`), from the model's own
// distribution: log p_i = l_i − logsumexp(l), with l the RAW logits of the step, before
// temperature, penalties, logit_bias, top-k/top-p and any constraint mask. This is vLLM's
// default (V1 sampler, logprobs_mode "raw_logprobs": "the original logits (before any penalties
// or temperature scaling)") and llama.cpp server's (n_probs with post_sampling_probs false:
// "a simple softmax of the logits without considering any other sampler settings"); OpenAI's
// values do not move with temperature either. So a forced or biased token can carry a low
// logprob, and a banned token can still be listed among the alternatives.
// logsumexp(l) = max l + log Σ_j exp(l_j − max l), accumulated in f64.

import type { LogitsProcessor } from './logits-processor.js';

/** One candidate token and its log-probability. */
export interface TopLogprob {
  readonly id: number;
  readonly logprob: number;
}

/** The sampled token's log-probability and the `top` most probable tokens of its step. */
export interface TokenLogprob {
  readonly id: number;
  readonly logprob: number;
  /** Most probable first; ties lowest id first. */
  readonly top: readonly TopLogprob[];
}

/**
 * log Σ_j exp(l_j) of a (V) row, in f64 (−∞ for an all −∞ row).
 * @example logSumExp(Float32Array.of(0, 0)); // Math.LN2
 */
export function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/**
 * The k largest logits as (id, log-probability) pairs, most probable first, ties lowest id
 * first; `lse` is logSumExp(logits).
 * @example topLogprobs(Float32Array.of(0, 2, 1), 2, logSumExp(row)); // [{ id: 1, … }, { id: 2, … }]
 */
export function topLogprobs(logits: Float32Array, k: number, lse: number): TopLogprob[] {
  const ids: number[] = []; // (≤ k) kept ids, best first
  for (let i = 0; i < logits.length && k > 0; i++) {
    const v = logits[i];
    if (ids.length === k && !(v > logits[ids[k - 1]])) continue;
    let at = ids.length;
    while (at > 0 && v > logits[ids[at - 1]]) at--; // strictly greater: an equal value keeps the lower id ahead
    ids.splice(at, 0, i);
    if (ids.length > k) ids.pop();
  }
  return ids.map((id) => ({ id, logprob: logits[id] - lse }));
}

/**
 * Records the log-probability of every sampled token, with its `k` best alternatives. Put it
 * FIRST in the processor chain: `process` reads the row before any other processor edits it,
 * `accept` pairs it with the sampled id. `take()` hands out the records in sampling order.
 * @example
 * const rec = new LogprobRecorder(5, V);
 * generate(session, ids, { logitsProcessor: rec }); // then rec.take() per sampled token
 */
export class LogprobRecorder implements LogitsProcessor {
  private readonly raw: Float32Array; // (V) the last row as the model gave it
  private lse = 0;
  private top: TopLogprob[] = [];
  private readonly queue: TokenLogprob[] = [];

  constructor(
    readonly k: number,
    vocabSize: number,
  ) {
    this.raw = new Float32Array(vocabSize);
  }

  process(logits: Float32Array): void {
    this.raw.set(logits);
    this.lse = logSumExp(logits);
    this.top = topLogprobs(logits, this.k, this.lse);
  }

  accept(id: number): void {
    this.queue.push({ id, logprob: this.raw[id] - this.lse, top: this.top });
  }

  /** The oldest record not yet taken (undefined when none is left). */
  take(): TokenLogprob | undefined {
    return this.queue.shift();
  }
}
