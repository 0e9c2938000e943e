// OpenAI's presence / frequency penalties and logit bias, as a logits processor:
//   l_j ← l_j + bias_j − c_j · frequencyPenalty − [c_j > 0] · presencePenalty
// where c_j counts the times token j was sampled so far in this generation (every sampled token,
// reasoning included; prompt tokens do not count). It runs before any constraint mask, so a
// masked token stays −∞ whatever its bias (−∞ + b = −∞), and the mask always wins.

import { InvalidOptionError } from '../core/errors.js';
import type { LogitsProcessor } from './logits-processor.js';

export interface PenaltyOptions {
  /** Subtracted once from every token already sampled (default 0). */
  readonly presencePenalty?: number;
  /** Subtracted per earlier occurrence of a token (default 0). */
  readonly frequencyPenalty?: number;
  /** Token id → added to its logit on every step. */
  readonly logitBias?: ReadonlyMap<number, number>;
}

/**
 * Check penalty options against a vocabulary of `vocabSize` ids; throws InvalidOptionError.
 * @example validatePenaltyOptions({ logitBias: new Map([[9999, 1]]) }, 4096); // throws: logitBias
 */
export function validatePenaltyOptions(options: PenaltyOptions, vocabSize: number): void {
  const { presencePenalty = 0, frequencyPenalty = 0, logitBias } = options;
  if (!Number.isFinite(presencePenalty)) throw new InvalidOptionError('presencePenalty', presencePenalty, 'a finite number');
  if (!Number.isFinite(frequencyPenalty)) throw new InvalidOptionError('frequencyPenalty', frequencyPenalty, 'a finite number');
  for (const [id, bias] of logitBias ?? []) {
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) throw new InvalidOptionError('logitBias', id, `a token id in [0, ${vocabSize})`);
    if (!Number.isFinite(bias)) throw new InvalidOptionError('logitBias', bias, 'a finite bias');
  }
}

/** Whether the options change any logit (so generate can skip the processor). */
export function hasPenalties(options: PenaltyOptions): boolean {
  return (options.presencePenalty ?? 0) !== 0 || (options.frequencyPenalty ?? 0) !== 0 || (options.logitBias?.size ?? 0) > 0;
}

/**
 * The penalties and bias of one generation (see the header).
 * @example
 * const p = new Penalties({ presencePenalty: 1, logitBias: new Map([[3, -100]]) });
 * p.accept(5);
 * p.process(logits); // logits[5] −= 1, logits[3] −= 100
 */
export class Penalties implements LogitsProcessor {
  private readonly counts = new Map<number, number>(); // token id → c_j
  private readonly presence: number;
  private readonly frequency: number;
  private readonly bias: ReadonlyMap<number, number>;

  constructor(options: PenaltyOptions) {
    this.presence = options.presencePenalty ?? 0;
    this.frequency = options.frequencyPenalty ?? 0;
    this.bias = options.logitBias ?? new Map();
  }

  process(logits: Float32Array): void {
    for (const [id, b] of this.bias) logits[id] += b;
    for (const [id, c] of this.counts) logits[id] -= c * this.frequency + this.presence;
  }

  accept(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }
}
