// spec §15.4 (recipe 2): the reasoning budget as a logits processor, and the split of the
// generated stream into reasoning and answer (spec §15.2: the generation prompt opens
// `<think>\n` when thinking is on, `<think></think>` when it is off).
//
// Budget state machine, one step per sampled token while thinking:
//   thinking  ── n ≥ budget ──► grace     (n = reasoning tokens generated so far)
//   grace     ── last token ended a line, or `grace` extra tokens spent ──► forcing
//   forcing   ── every logit but the next of END = [newline, `</think>`] set to −∞ ──► done
//   any state ── `</think>` sampled ──► done (the model closed its thinking itself)
// The prompt ends `<think>\n`, so a budget of 0 forces `</think>` at once.

import { InvalidOptionError } from '../core/errors.js';
import type { LogitsProcessor } from '../decode/logits-processor.js';
import type { TextCodec } from './text.js';

/** `reasoning_effort` values and their reasoning budgets in tokens; `none` turns thinking off. */
export const REASONING_EFFORTS = ['none', 'low', 'medium', 'high'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];
/** low / medium / high → max reasoning tokens (high = no cap beyond max_tokens). */
export const EFFORT_BUDGETS: Readonly<Record<Exclude<ReasoningEffort, 'none'>, number | null>> = {
  low: 128,
  medium: 1024,
  high: null,
};
/** Extra tokens the budget waits for a line end before it forces `</think>` ([BUDGET] grace_period). */
export const DEFAULT_GRACE_TOKENS = 16;

export interface ThinkingBudgetOptions {
  /** Most reasoning tokens before `</think>` is forced (≥ 0). */
  readonly budget: number;
  /** Extra tokens allowed while waiting for a line end (default DEFAULT_GRACE_TOKENS). */
  readonly grace?: number;
  /** Id of `</think>`. */
  readonly thinkEndId: number;
  /** Id of a newline token forced before `</think>`, or null to force `</think>` alone. */
  readonly newlineId: number | null;
  /** Whether a token's text ends a line (spec §15.4: "newline-ending tokens"). */
  readonly endsLine: (id: number) => boolean;
}

type BudgetState = 'thinking' | 'grace' | 'forcing' | 'done';

/**
 * The thinking-budget logits processor (spec §15.4 recipe 2). Use only when the prompt ends
 * with an open `<think>` block.
 * @example
 * const budget = new ThinkingBudget({ budget: 64, thinkEndId: 13, newlineId: 1010, endsLine: (id) => id === 1010 });
 * generate(session, ids, { logitsProcessor: budget });
 */
export class ThinkingBudget implements LogitsProcessor {
  private state: BudgetState;
  /** Reasoning tokens sampled so far. */
  private n = 0;
  /** Tokens sampled since the budget ran out. */
  private extra = 0;
  /** The prompt ends `<think>\n`, a line end. */
  private lastEndedLine = true;
  /** What is left to force, in order. */
  private readonly forced: number[];
  private readonly grace: number;

  constructor(private readonly options: ThinkingBudgetOptions) {
    const { budget, grace = DEFAULT_GRACE_TOKENS } = options;
    if (!(Number.isInteger(budget) && budget >= 0)) throw new InvalidOptionError('max_reasoning_tokens', budget, 'an integer ≥ 0');
    if (!(Number.isInteger(grace) && grace >= 0)) throw new InvalidOptionError('grace', grace, 'an integer ≥ 0');
    this.grace = grace;
    this.forced = options.newlineId === null ? [options.thinkEndId] : [options.newlineId, options.thinkEndId];
    this.state = 'thinking';
    this.advance();
  }

  /** True once `</think>` has been sampled, forced or not. */
  get finished(): boolean {
    return this.state === 'done';
  }

  process(logits: Float32Array): void {
    if (this.state !== 'forcing') return;
    const keep = this.forced[0];
    const kept = logits[keep];
    logits.fill(-Infinity);
    logits[keep] = Number.isNaN(kept) ? 0 : kept;
  }

  accept(id: number): void {
    if (this.state === 'done') return;
    if (id === this.options.thinkEndId) {
      this.state = 'done';
      return;
    }
    if (this.state === 'forcing') {
      this.forced.shift();
      return;
    }
    this.n++;
    if (this.state === 'grace') this.extra++;
    this.lastEndedLine = this.options.endsLine(id);
    this.advance();
  }

  private advance(): void {
    if (this.state === 'thinking' && this.n >= this.options.budget) this.state = 'grace';
    if (this.state === 'grace' && (this.lastEndedLine || this.extra >= this.grace)) this.state = 'forcing';
  }
}

/**
 * Ids whose text ends with a line feed, computed once per codec (the "newline-ending tokens"
 * of spec §15.4).
 * @example
 * const endsLine = lineEndingIds(text, config.vocabSize); endsLine.has(text.encode('\n')[0]); // true
 */
export function lineEndingIds(text: TextCodec, vocabSize: number): ReadonlySet<number> {
  let ids = LINE_ENDINGS.get(text);
  if (!ids) {
    ids = new Set();
    for (let id = 0; id < vocabSize; id++) if (text.decode([id]).endsWith('\n')) ids.add(id);
    LINE_ENDINGS.set(text, ids);
  }
  return ids;
}
const LINE_ENDINGS = new WeakMap<TextCodec, Set<number>>();

/**
 * A budget for a checkpoint's codec: `</think>` must be in the vocabulary; the forced newline
 * is the single-token encoding of '\n' when there is one.
 * @example
 * const budget = thinkingBudgetFor(text, config.vocabSize, 32);
 */
export function thinkingBudgetFor(text: TextCodec, vocabSize: number, budget: number, grace?: number): ThinkingBudget {
  const thinkEndId = text.special.thinkEnd;
  if (thinkEndId === null) throw new InvalidOptionError('max_reasoning_tokens', budget, 'a model whose vocabulary has </think>');
  const nl = text.encode('\n');
  const endsLine = lineEndingIds(text, vocabSize);
  return new ThinkingBudget({ budget, grace, thinkEndId, newlineId: nl.length === 1 ? nl[0] : null, endsLine: (id) => endsLine.has(id) });
}

/** Which part of the answer a piece of text belongs to. */
export type Channel = 'reasoning' | 'content';

/** One routed piece of generated text. */
export interface RoutedText {
  readonly channel: Channel;
  readonly text: string;
}

/**
 * Routes generated tokens to reasoning or content: while thinking, everything up to the
 * `</think>` id is reasoning (the tag itself is dropped); after it, or when thinking is off,
 * everything is content.
 * @example
 * const split = new ReasoningSplitter(true, 6);
 * split.push(40, 'Hmm'); // { channel: 'reasoning', text: 'Hmm' }
 * split.push(6, '</think>'); // { channel: 'content', text: '' }
 */
export class ReasoningSplitter {
  /** Reasoning tokens seen (the closing `</think>` included). */
  reasoningTokens = 0;
  private thinking: boolean;

  constructor(
    thinking: boolean,
    private readonly thinkEndId: number | null,
  ) {
    this.thinking = thinking && thinkEndId !== null;
  }

  /** Route one token's text. */
  push(id: number, text: string): RoutedText {
    if (!this.thinking) return { channel: 'content', text };
    this.reasoningTokens++;
    if (id !== this.thinkEndId) return { channel: 'reasoning', text };
    this.thinking = false;
    return { channel: 'content', text: '' };
  }

  /** The channel of text that arrives next (e.g. the detokenizer's final flush). */
  get channel(): Channel {
    return this.thinking ? 'reasoning' : 'content';
  }
}
