// DESIGN §1: the generation loop. The prompt goes through the model in ONE forward call of
// T tokens (prefill), then one token per forward call (decode); each step samples from the
// last row of logits (engine/decode/sample.ts) and streams a UTF-8-safe text delta
// (engine/text/text.ts). With `mtp: k` a decode round drafts k tokens with the MTP block and
// verifies them in one forward call instead (spec §11, engine/decode/speculative.ts). Options are checked before any compute (house style H18); the loop
// itself never throws on a stop, a length limit or an abort: it reports them in `done`.

import { ContextWindowExceededError, InvalidOptionError, TokenOutOfRangeError } from '../core/errors.js';
import { requireText, type Session } from '../core/session.js';
import type { IncrementalDetokenizer } from '../text/text.js';
import type { LogitsProcessor } from './logits-processor.js';
import { LogprobRecorder, type TokenLogprob } from './logprobs.js';
import { hasPenalties, Penalties, validatePenaltyOptions, type PenaltyOptions } from './penalties.js';
import { Sampler, type SamplerOptions } from './sample.js';
import { SpeculativeDecoder, type SpeculativeStats } from './speculative.js';

export interface GenerateOptions extends SamplerOptions, PenaltyOptions {
  /** Most tokens to generate, stop token included (default 256, or what the context has left). */
  readonly maxTokens?: number;
  /** Ids that end generation (default: the session's eos ids incl. `<|im_end|>`). */
  readonly stopIds?: readonly number[];
  /** Largest prompt + completion length allowed (default config max_position_embeddings). */
  readonly maxContext?: number;
  /** Applied to every row of logits before sampling, after the penalties and logit bias. */
  readonly logitsProcessor?: LogitsProcessor;
  /**
   * Give every token event its log-probability under the raw logits (engine/decode/logprobs.ts) with
   * this many best alternatives (≥ 0); absent = off.
   */
  readonly logprobs?: number;
  /**
   * Speculative decoding with the model's MTP block (spec §11): draft this many tokens per
   * round, 0 = off (default). Needs a session loaded with the `mtp.*` weights.
   */
  readonly mtp?: number;
}

/** Largest draft depth `mtp` accepts. */
export const MAX_MTP = 16;

export type FinishReason = 'stop' | 'length' | 'abort';

export interface Usage {
  readonly promptTokens: number;
  /** Tokens sampled, including a final stop token. */
  readonly completionTokens: number;
}

export interface Timings {
  /** Prompt forward pass plus the first sample. */
  readonly prefillMs: number;
  /** Every later forward pass plus its sample (time spent in the consumer is excluded). */
  readonly decodeMs: number;
  readonly prefillTokPerS: number;
  readonly decodeTokPerS: number;
}

/** One generated token: its id and the text it completes (may be '' mid-character). */
export interface TokenEvent {
  readonly kind: 'token';
  readonly id: number;
  readonly text: string;
  /** With `logprobs`: the token's log-probability and its best alternatives. */
  readonly logprob?: TokenLogprob;
}

/** The end of a generation. */
export interface DoneEvent {
  readonly kind: 'done';
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  readonly timings: Timings;
  /** Text the detokenizer still held when generation ended (usually ''). */
  readonly text: string;
  /** With `mtp` > 0: rounds, drafts, acceptance length. */
  readonly speculative?: SpeculativeStats;
}

export type GenerateEvent = TokenEvent | DoneEvent;

const DEFAULT_MAX_TOKENS = 256;

/** Let timers, I/O and abort listeners run between tokens (and between other long steps). */
export const yieldToEventLoop: () => Promise<void> =
  typeof setImmediate === 'function' ? () => new Promise((r) => setImmediate(r)) : () => new Promise((r) => setTimeout(r, 0));

const perSecond = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);

/**
 * Generate up to `maxTokens` tokens after `promptIds`. Options are validated and the context
 * limit checked synchronously, so a bad request throws before any compute; everything after
 * that is reported through the events.
 * @example
 * for await (const ev of generate(session, ids, { maxTokens: 32, temperature: 0 })) {
 *   if (ev.kind === 'token') process.stdout.write(ev.text);
 *   else console.error(ev.finishReason, ev.usage);
 * }
 */
export function generate(
  session: Session,
  promptIds: readonly number[],
  options: GenerateOptions = {},
  signal?: AbortSignal,
): AsyncGenerator<GenerateEvent, void, undefined> {
  const { config } = session.model;
  const sampler = new Sampler(options);
  const maxContext = options.maxContext ?? config.maxPositionEmbeddings;
  if (!(Number.isInteger(maxContext) && maxContext > 0)) throw new InvalidOptionError('maxContext', maxContext, 'an integer > 0');
  if (promptIds.length === 0) throw new InvalidOptionError('prompt', [], 'at least one token');
  for (const id of promptIds) {
    if (!(Number.isInteger(id) && id >= 0 && id < config.vocabSize)) throw new TokenOutOfRangeError(id, config.vocabSize);
  }
  const maxTokens = options.maxTokens ?? Math.max(0, Math.min(DEFAULT_MAX_TOKENS, maxContext - promptIds.length));
  if (!(Number.isInteger(maxTokens) && maxTokens >= 0)) throw new InvalidOptionError('maxTokens', maxTokens, 'an integer ≥ 0');
  if (promptIds.length + maxTokens > maxContext) throw new ContextWindowExceededError(promptIds.length + maxTokens, maxContext);
  const mtp = options.mtp ?? 0;
  if (!(Number.isInteger(mtp) && mtp >= 0 && mtp <= MAX_MTP)) throw new InvalidOptionError('mtp', mtp, `an integer in [0, ${MAX_MTP}]`);
  if (mtp > 0 && !session.mtpLoaded) throw new InvalidOptionError('mtp', mtp, `0: ${session.source} has no MTP block (mtp.* weights)`);
  validatePenaltyOptions(options, config.vocabSize);
  const k = options.logprobs;
  if (k !== undefined && !(Number.isInteger(k) && k >= 0 && k <= config.vocabSize)) throw new InvalidOptionError('logprobs', k, `an integer in [0, ${config.vocabSize}]`);
  const stopIds = new Set(options.stopIds ?? session.stopIds);
  const text = requireText(session);
  const prompt = Int32Array.from(promptIds); // (T)
  // processors in order: the logprob recorder sees the raw row, then penalties/bias, then the caller's (constraints)
  const recorder = k !== undefined ? new LogprobRecorder(k, config.vocabSize) : undefined;
  const logitsProcessor = chainProcessors([recorder, hasPenalties(options) ? new Penalties(options) : undefined, options.logitsProcessor]);
  const decoder = decoderFor(session, { ...options, logitsProcessor }, sampler, mtp, prompt.length + maxTokens);
  return run(session, prompt, maxTokens, stopIds, text.detokenizer(), signal, decoder, recorder);
}

/**
 * Several processors as one, applied in order (absent ones skipped); undefined when none is left.
 * @example generate(session, ids, { logitsProcessor: chainProcessors([budget, toolConstraint]) });
 */
export function chainProcessors(parts: readonly (LogitsProcessor | undefined)[]): LogitsProcessor | undefined {
  const list = parts.filter((p): p is LogitsProcessor => p !== undefined);
  if (list.length <= 1) return list[0];
  return { process: (logits) => list.forEach((p) => p.process(logits)), accept: (id) => list.forEach((p) => p.accept(id)) };
}

/** Produces the tokens: `first` after the prompt's prefill, then 1 … limit tokens per `next`. */
interface Decoder {
  first(prompt: Int32Array): number;
  next(limit: number): number[];
  readonly stats?: SpeculativeStats;
  free(): void;
}

function decoderFor(session: Session, options: GenerateOptions, sampler: Sampler, mtp: number, capacity: number): () => Decoder {
  const { model } = session;
  if (mtp > 0) return () => new SpeculativeDecoder(model, { ...options, k: mtp }, capacity);
  const processor = options.logitsProcessor;
  const pick = (logits: Float32Array) => {
    processor?.process(logits);
    const id = sampler.sample(logits);
    processor?.accept(id);
    return id;
  };
  return () => {
    const seq = model.newSequence(capacity);
    let last = -1;
    return {
      // prefill: all T prompt tokens in one forward call → logits of the last row (V)
      first: (prompt) => (last = pick(model.forward(seq, prompt, 'last'))),
      // decode: one token in, next-token logits out
      next: () => [(last = pick(model.forward(seq, Int32Array.of(last), 'last')))],
      free: () => seq.free(),
    };
  };
}

async function* run(
  session: Session,
  prompt: Int32Array,
  maxTokens: number,
  stopIds: ReadonlySet<number>,
  detok: IncrementalDetokenizer,
  signal: AbortSignal | undefined,
  newDecoder: () => Decoder,
  recorder: LogprobRecorder | undefined,
): AsyncGenerator<GenerateEvent, void, undefined> {
  let prefillMs = 0;
  let decodeMs = 0;
  let completionTokens = 0;
  let decodeTokens = 0;
  let decoder: Decoder | undefined;
  const done = (finishReason: FinishReason): DoneEvent => ({
    kind: 'done',
    finishReason,
    usage: { promptTokens: prompt.length, completionTokens },
    timings: {
      prefillMs,
      decodeMs,
      prefillTokPerS: perSecond(prompt.length, prefillMs),
      decodeTokPerS: perSecond(decodeTokens, decodeMs),
    },
    text: detok.flush(),
    ...(decoder?.stats ? { speculative: decoder.stats } : {}),
  });

  if (maxTokens === 0) return yield done('length');
  if (signal?.aborted) return yield done('abort');
  decoder = newDecoder();
  // An abort frees the sequence state at once, even when this generator never runs again (its
  // consumer's request was torn down mid-await: serve/queue.ts); after it, the loop only returns.
  let freed = false;
  const free = () => {
    if (freed) return;
    freed = true;
    decoder!.free();
  };
  signal?.addEventListener('abort', free);
  try {
    let t0 = performance.now();
    let ids = [decoder.first(prompt)];
    prefillMs = performance.now() - t0;
    for (;;) {
      for (const id of ids) {
        completionTokens++;
        if (stopIds.has(id)) return yield done('stop');
        const logprob = recorder?.take(); // one record per sampled id, in order (the stop id's is dropped with it)
        yield { kind: 'token', id, text: detok.push(id), ...(logprob && { logprob }) };
        if (completionTokens >= maxTokens) return yield done('length');
      }
      await yieldToEventLoop();
      if (signal?.aborted) return yield done('abort');
      t0 = performance.now();
      ids = decoder.next(maxTokens - completionTokens);
      decodeMs += performance.now() - t0;
      decodeTokens += ids.length;
    }
  } finally {
    signal?.removeEventListener('abort', free);
    free();
  }
}
