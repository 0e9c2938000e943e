// DESIGN §1, §6: one request through the engine. `prepare` renders and encodes the prompt and
// checks it against the context limit (so every request error comes before the response
// starts); `run` drives engine/generate and turns its token events into answer deltas:
//   token ids ──► ReasoningSplitter (`</think>` id) ──► reasoning_content | content
//   content   ──► StopFilter (stop sequences) ──► ToolCallParser (spec §15.3) ──► content | tool_calls
// Logits processors inside generate: the thinking budget (spec §15.4); a forced tool call for
// tool_choice "required" or a named function, and no `<tool_call>` for "none" with tools
// (engine/text/tool-constraint.ts), or the JSON document of `response_format`
// (engine/text/json-schema-grammar.ts), both through engine/text/grammar-constraint.ts, whose shortest
// document `prepare` checks against max_tokens; before them, in generate, presence/frequency penalties and
// logit_bias (engine/decode/penalties.ts), so a constraint's −∞ always wins.
// logprobs (engine/decode/logprobs.ts: log-softmax of the raw logits, before temperature, penalties,
// bias and masks, as vLLM and llama.cpp server report them) are given for the answer's tokens
// only, as vLLM does: reasoning tokens and `</think>` get none; tool-call tokens do. A delta
// carries the logprobs of the tokens sampled since the last delta (text a stop filter holds
// back arrives later), and the stop token has none.
// `n` > 1 (runChoices): the choices run one after another in the request's one generation slot
// (one sequence state alive at a time, as the limiter budgets), choice i with seed + i (int32).

import { chainProcessors, generate } from '../engine/decode/generate.js';
import type { TokenLogprob } from '../engine/decode/logprobs.js';
import { ReasoningSplitter, thinkingBudgetFor } from '../engine/text/reasoning.js';
import { requireText, type Session } from '../engine/core/session.js';
import { GrammarConstraint } from '../engine/text/grammar-constraint.js';
import { JsonSchemaGrammar } from '../engine/text/json-schema-grammar.js';
import { BannedText, TOOL_CALL_TAG, ToolCallConstraint } from '../engine/text/tool-constraint.js';
import { ToolCallParser, type ToolCallEvent } from '../engine/text/tool-calls.js';
import type { TextCodec } from '../engine/text/text.js';
import { ContextLengthError, InvalidRequestError } from './errors.js';
import { StopFilter } from './stop.js';
import type { ChatRequest, CompletionRequest } from './validate.js';
import type { LogitsProcessor } from '../engine/decode/logits-processor.js';

/** The model a worker serves. */
export interface ServedModel {
  readonly id: string;
  readonly session: Session;
  /** Largest prompt + completion per request. */
  readonly maxContext: number;
  /** Draft depth of speculative decoding with the MTP block (EDGETRON_MTP), 0 or absent = off. */
  readonly mtp?: number;
  /** Unix seconds when it was loaded. */
  readonly created: number;
}

/** Completion tokens when the request gives no max_tokens (capped by what the context leaves). */
export const DEFAULT_MAX_TOKENS = 256;

/** An OpenAI tool-call delta. */
export interface ToolCallDelta {
  readonly index: number;
  readonly id?: string;
  readonly type?: 'function';
  readonly function: { readonly name?: string; readonly arguments: string };
}

/** A token as OpenAI's logprobs list it: its text, its exact bytes, its log-probability. */
export interface TokenText {
  readonly token: string;
  readonly bytes: readonly number[];
  readonly logprob: number;
}

/** One answer token's logprob, its best alternatives, and where its text starts in the answer (Σ earlier token lengths). */
export interface LogprobEntry extends TokenText {
  readonly top: readonly TokenText[];
  readonly offset: number;
}

export interface Delta {
  readonly reasoning?: string;
  readonly content?: string;
  readonly toolCalls?: readonly ToolCallDelta[];
  /** With logprobs: the answer tokens sampled since the last delta. */
  readonly logprobs?: readonly LogprobEntry[];
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'abort';

export interface RunUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly reasoningTokens: number;
}

export type RunEvent = { readonly kind: 'delta'; readonly delta: Delta } | { readonly kind: 'done'; readonly finishReason: FinishReason; readonly usage: RunUsage };

/**
 * The events of `n` choices: their deltas and finishes by choice index, then one `done` with the
 * usage summed (the prompt counted once). An aborted choice has no `finish`: `done` follows it.
 */
export type ChoiceEvent =
  | { readonly kind: 'delta'; readonly index: number; readonly delta: Delta }
  | { readonly kind: 'finish'; readonly index: number; readonly finishReason: Exclude<FinishReason, 'abort'> }
  | { readonly kind: 'done'; readonly usage: RunUsage };

/** A validated request, encoded and ready to generate. */
export interface Prepared {
  readonly ids: readonly number[];
  readonly maxTokens: number;
  readonly request: ChatRequest | CompletionRequest;
  readonly thinking: boolean;
}

/**
 * Forces a fixed token sequence (the EDGETRON_TEST_HOOKS `x_force_output` field): every
 * logit but the next forced id is masked; the caller ends the sequence with a stop id.
 */
class ForcedTokens implements LogitsProcessor {
  private i = 0;
  constructor(private readonly ids: readonly number[]) {}
  process(logits: Float32Array): void {
    if (this.i >= this.ids.length) return;
    const keep = this.ids[this.i];
    logits.fill(-Infinity);
    logits[keep] = 0;
  }
  accept(): void {
    this.i++;
  }
}

/**
 * The prompt the chat template renders for a validated chat request, before tokenising: its
 * messages (tool-call arguments already parsed into objects, reasoning_content passed through),
 * the tools tool_choice leaves, enable_thinking, and the other chat_template_kwargs (e.g.
 * truncate_history_thinking). `edgetron template` prints exactly this.
 * @example chatPrompt(text, parseChatRequest(body, model.id, model.maxContext, false)); // '<|im_start|>system\n…'
 */
export function chatPrompt(text: TextCodec, request: ChatRequest): string {
  const choice = request.toolChoice;
  const tools = choice === 'none' ? [] : request.toolDefs.filter((d) => typeof choice !== 'object' || (d.function as { name: string }).name === choice.name);
  return text.renderChat(request.messages, { enableThinking: request.thinking, kwargs: request.templateKwargs, ...(tools.length > 0 && { tools }) });
}

/**
 * Render and encode the prompt, and check prompt + max_tokens against the context.
 * @example const prepared = prepare(model, parseChatRequest(body, model.id, model.maxContext, false));
 */
export function prepare(model: ServedModel, request: ChatRequest | CompletionRequest): Prepared {
  const text = requireText(model.session);
  let ids: number[];
  let thinking = false;
  if (request.kind === 'chat') {
    thinking = request.thinking && model.session.text?.special.thinkEnd != null;
    ids = text.encode(chatPrompt(text, request));
  } else {
    const bos = model.session.model.config.bosTokenId;
    ids = [...(text.addBosToken && bos !== null ? [bos] : []), ...text.encode(request.prompt)];
  }
  const vocabSize = model.session.model.config.vocabSize;
  for (const id of request.logitBias.keys()) {
    if (id >= vocabSize) throw new InvalidRequestError('logit_bias', `logit_bias names token ${id}, outside the vocabulary of ${vocabSize} tokens`);
  }
  const left = model.maxContext - ids.length;
  const maxTokens = request.maxTokens ?? Math.min(DEFAULT_MAX_TOKENS, left);
  if (ids.length === 0 || maxTokens < 1 || ids.length + maxTokens > model.maxContext) {
    throw new ContextLengthError(ids.length + Math.max(1, maxTokens), model.maxContext, request.kind === 'chat' ? 'messages' : 'prompt');
  }
  // a forced tool call or JSON document is refused here when max_tokens cannot hold it
  const forced = request.kind === 'chat' ? grammarConstraint(model, request, maxTokens, thinking) : null;
  if (forced && forced.minTokens > maxTokens) {
    const what = request.kind === 'chat' && request.responseFormat ? 'JSON document of response_format' : 'tool call tool_choice asks for';
    throw new InvalidRequestError(request.maxTokensParam, `${request.maxTokensParam} = ${maxTokens} cannot hold the shortest ${what}: it needs ${forced.minTokens} tokens${thinking ? ' (`</think>` and the stop token included)' : ' (the stop token included)'}`);
  }
  return { ids, maxTokens, request, thinking };
}

/** The grammar a chat answer is forced to (a tool call, or response_format's JSON), or null. */
function grammarConstraint(model: ServedModel, request: ChatRequest, maxTokens: number, thinking: boolean): GrammarConstraint | null {
  const { session } = model;
  const text = requireText(session);
  const choice = request.toolChoice;
  const base = { decoder: text, vocabSize: session.model.config.vocabSize, stopIds: session.stopIds, maxTokens, thinkEndId: thinking ? text.special.thinkEnd : null };
  if (request.responseFormat) return new GrammarConstraint({ ...base, grammar: JsonSchemaGrammar.start(request.responseFormat) });
  if (choice !== 'required' && typeof choice !== 'object') return null;
  return new ToolCallConstraint({ ...base, tools: typeof choice === 'object' ? request.tools.filter((t) => t.name === choice.name) : request.tools });
}

/** The request's logits processors, in order: thinking budget, then the tool-choice or response_format constraint. */
function logitsProcessor(model: ServedModel, prepared: Prepared): LogitsProcessor | undefined {
  const { session } = model;
  const text = requireText(session);
  const { request, thinking } = prepared;
  if (request.kind !== 'chat') return undefined;
  const vocabSize = session.model.config.vocabSize;
  const parts: LogitsProcessor[] = [];
  if (thinking && request.reasoningBudget != null) parts.push(thinkingBudgetFor(text, vocabSize, request.reasoningBudget));
  const forced = grammarConstraint(model, request, prepared.maxTokens, thinking);
  if (forced) parts.push(forced);
  else if (request.toolChoice === 'none' && request.tools.length > 0) parts.push(new BannedText(TOOL_CALL_TAG, text, vocabSize));
  return chainProcessors(parts);
}

/** Tool-call parser events → one delta. */
function toDelta(events: readonly ToolCallEvent[]): Delta | null {
  let content = '';
  const toolCalls: ToolCallDelta[] = [];
  for (const ev of events) {
    if (ev.kind === 'content') content += ev.text;
    else if (ev.kind === 'call-start') toolCalls.push({ index: ev.index, id: ev.id, type: 'function', function: { name: ev.name, arguments: '' } });
    else if (ev.kind === 'call-args') toolCalls.push({ index: ev.index, function: { arguments: ev.arguments } });
  }
  if (!content && toolCalls.length === 0) return null;
  return { ...(content && { content }), ...(toolCalls.length > 0 && { toolCalls }) };
}

/**
 * Generate the answer of a prepared request as deltas, then one `done`. Stops at a stop
 * sequence, the stop token, max_tokens, or when `signal` aborts; the sequence state is freed
 * in every case.
 * @example
 * for await (const ev of run(model, prepared, signal)) if (ev.kind === 'delta') send(ev.delta);
 */
export async function* run(model: ServedModel, prepared: Prepared, signal?: AbortSignal): AsyncGenerator<RunEvent, void, undefined> {
  const { session } = model;
  const text = requireText(session);
  const { request, thinking } = prepared;
  const chat = request.kind === 'chat' ? request : null;
  const processor = chat?.forcedOutput != null ? new ForcedTokens([...text.encode(chat.forcedOutput), session.stopIds[0]]) : logitsProcessor(model, prepared);
  const splitter = new ReasoningSplitter(thinking, text.special.thinkEnd);
  const stop = new StopFilter(request.stop);
  const tools = chat && chat.toolChoice !== 'none' && chat.tools.length > 0 ? new ToolCallParser(chat.tools, (i) => `call_${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}_${i}`) : null;
  const content = (raw: string): Delta | null => (tools ? toDelta(tools.push(raw)) : raw ? { content: raw } : null);
  // logprobs of answer tokens not sent yet; `offset`: the answer's length in token text so far
  const pending: LogprobEntry[] = [];
  let offset = 0;
  const tokenText = (id: number, logprob: number): TokenText => ({ token: text.decode([id]), bytes: [...text.tokenBytes(id)], logprob });
  const record = (lp: TokenLogprob) => {
    const entry = { ...tokenText(lp.id, lp.logprob), top: lp.top.map((t) => tokenText(t.id, t.logprob)), offset };
    offset += entry.token.length;
    pending.push(entry);
  };
  const takeLogprobs = (): Pick<Delta, 'logprobs'> => (pending.length > 0 ? { logprobs: pending.splice(0) } : {});

  const events = generate(
    session,
    prepared.ids,
    {
      maxTokens: prepared.maxTokens,
      maxContext: model.maxContext,
      temperature: request.temperature,
      topP: request.topP,
      seed: request.seed ?? Math.floor(Math.random() * 2 ** 31),
      presencePenalty: request.presencePenalty,
      frequencyPenalty: request.frequencyPenalty,
      logitBias: request.logitBias,
      ...(request.logprobs !== null && { logprobs: request.logprobs }),
      logitsProcessor: processor,
      mtp: model.mtp ?? 0,
    },
    signal,
  );
  let stopped = false;
  let generated = 0;
  for await (const ev of events) {
    if (ev.kind === 'token') {
      generated++;
      const reasoningBefore = splitter.reasoningTokens;
      const routed = splitter.push(ev.id, ev.text);
      if (routed.channel === 'reasoning') {
        if (routed.text) yield { kind: 'delta', delta: { reasoning: routed.text } };
        continue;
      }
      if (ev.logprob && splitter.reasoningTokens === reasoningBefore) record(ev.logprob); // not `</think>`
      const { text: released, stopped: hit } = stop.push(routed.text);
      const delta = content(released);
      if (delta) yield { kind: 'delta', delta: { ...delta, ...takeLogprobs() } };
      if (hit) {
        stopped = true;
        await events.return(undefined);
        break;
      }
      continue;
    }
    // done: what the detokenizer still held, the stop filter's tail, the tool parser's rest
    const tail = ev.text;
    if (tail && splitter.channel === 'reasoning') yield { kind: 'delta', delta: { reasoning: tail } };
    const last = splitter.channel === 'content' ? stop.push(tail) : { text: '', stopped: false };
    const rest = last.stopped ? last.text : last.text + stop.flush();
    const finalEvents = tools ? [...tools.push(rest), ...tools.flush()] : [{ kind: 'content', text: rest } as const];
    const delta = { ...toDelta(finalEvents.filter((e) => e.kind !== 'content' || e.text)), ...takeLogprobs() };
    if (Object.keys(delta).length > 0) yield { kind: 'delta', delta };
    const finishReason: FinishReason = ev.finishReason === 'stop' || last.stopped ? (tools && tools.callCount > 0 ? 'tool_calls' : 'stop') : ev.finishReason;
    yield { kind: 'done', finishReason, usage: { promptTokens: ev.usage.promptTokens, completionTokens: ev.usage.completionTokens, reasoningTokens: splitter.reasoningTokens } };
    return;
  }
  if (stopped) {
    const delta = { ...(tools ? toDelta(tools.flush()) : null), ...takeLogprobs() };
    if (Object.keys(delta).length > 0) yield { kind: 'delta', delta };
    yield { kind: 'done', finishReason: tools && tools.callCount > 0 ? 'tool_calls' : 'stop', usage: { promptTokens: prepared.ids.length, completionTokens: generated, reasoningTokens: splitter.reasoningTokens } };
  }
}

/** Seed of choice `index` of a request seeded `seed`: seed + index, wrapped to int32 (choice 0 is the n = 1 answer). */
export const choiceSeed = (seed: number, index: number): number => (seed + index) | 0;

/**
 * Generate the request's `n` choices one after another (see the header), as ChoiceEvents; an
 * unseeded request draws one random base seed. Stops after a choice that was aborted.
 * @example
 * for await (const ev of runChoices(model, prepared, signal)) if (ev.kind === 'delta') send(ev.index, ev.delta);
 */
export async function* runChoices(model: ServedModel, prepared: Prepared, signal?: AbortSignal): AsyncGenerator<ChoiceEvent, void, undefined> {
  const { request } = prepared;
  const base = request.seed ?? Math.floor(Math.random() * 2 ** 31);
  let usage: RunUsage = { promptTokens: prepared.ids.length, completionTokens: 0, reasoningTokens: 0 };
  for (let index = 0; index < request.n; index++) {
    const choice: Prepared = { ...prepared, request: { ...request, seed: choiceSeed(base, index) } };
    for await (const ev of run(model, choice, signal)) {
      if (ev.kind === 'delta') {
        yield { kind: 'delta', index, delta: ev.delta };
        continue;
      }
      usage = { ...usage, completionTokens: usage.completionTokens + ev.usage.completionTokens, reasoningTokens: usage.reasoningTokens + ev.usage.reasoningTokens };
      if (ev.finishReason === 'abort') return yield { kind: 'done', usage };
      yield { kind: 'finish', index, finishReason: ev.finishReason };
    }
  }
  yield { kind: 'done', usage };
}
