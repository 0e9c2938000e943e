// DESIGN §1, §6: one request through the engine. `prepare` renders and encodes the prompt and
// checks it against the context limit (so every request error comes before the response
// starts); `run` drives engine/generate and turns its token events into answer deltas:
//   token ids ──► ReasoningSplitter (`</think>` id) ──► reasoning_content | content
//   content   ──► StopFilter (stop sequences) ──► ToolCallParser (spec §15.3) ──► content | tool_calls
// Logits processors inside generate: the thinking budget (spec §15.4); a forced tool call for
// tool_choice "required" or a named function, and no `<tool_call>` for "none" with tools
// (engine/tool-constraint.ts).

import { generate, type LogitsProcessor } from '../engine/generate.js';
import { ReasoningSplitter, thinkingBudgetFor } from '../engine/reasoning.js';
import { requireText, type Session } from '../engine/session.js';
import { BannedText, TOOL_CALL_TAG, ToolCallConstraint } from '../engine/tool-constraint.js';
import { ToolCallParser, type ToolCallEvent } from '../engine/tool-calls.js';
import { ContextLengthError } from './errors.js';
import { StopFilter } from './stop.js';
import type { ChatRequest, CompletionRequest } from './validate.js';

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

export interface Delta {
  readonly reasoning?: string;
  readonly content?: string;
  readonly toolCalls?: readonly ToolCallDelta[];
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'abort';

export interface RunUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly reasoningTokens: number;
}

export type RunEvent = { readonly kind: 'delta'; readonly delta: Delta } | { readonly kind: 'done'; readonly finishReason: FinishReason; readonly usage: RunUsage };

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
 * Render and encode the prompt, and check prompt + max_tokens against the context.
 * @example const prepared = prepare(model, parseChatRequest(body, model.id, model.maxContext, false));
 */
export function prepare(model: ServedModel, request: ChatRequest | CompletionRequest): Prepared {
  const text = requireText(model.session);
  let ids: number[];
  let thinking = false;
  if (request.kind === 'chat') {
    const tools = request.toolChoice === 'none' ? [] : request.toolDefs.filter((d) => typeof request.toolChoice !== 'object' || (d.function as { name: string }).name === request.toolChoice.name);
    thinking = request.thinking && model.session.text?.special.thinkEnd != null;
    ids = text.encodeChat(request.messages, { enableThinking: request.thinking, ...(tools.length > 0 && { tools }) });
  } else {
    const bos = model.session.model.config.bosTokenId;
    ids = [...(text.addBosToken && bos !== null ? [bos] : []), ...text.encode(request.prompt)];
  }
  const left = model.maxContext - ids.length;
  const maxTokens = request.maxTokens ?? Math.min(DEFAULT_MAX_TOKENS, left);
  if (ids.length === 0 || maxTokens < 1 || ids.length + maxTokens > model.maxContext) {
    throw new ContextLengthError(ids.length + Math.max(1, maxTokens), model.maxContext, request.kind === 'chat' ? 'messages' : 'prompt');
  }
  return { ids, maxTokens, request, thinking };
}

/** The request's logits processors, in order: thinking budget, then the tool-choice constraint. */
function logitsProcessor(model: ServedModel, prepared: Prepared): LogitsProcessor | undefined {
  const { session } = model;
  const text = requireText(session);
  const { request, thinking } = prepared;
  if (request.kind !== 'chat') return undefined;
  const vocabSize = session.model.config.vocabSize;
  const parts: LogitsProcessor[] = [];
  if (thinking && request.reasoningBudget != null) parts.push(thinkingBudgetFor(text, vocabSize, request.reasoningBudget));
  const choice = request.toolChoice;
  if (choice === 'none' && request.tools.length > 0) parts.push(new BannedText(TOOL_CALL_TAG, text, vocabSize));
  else if (choice === 'required' || typeof choice === 'object') {
    const tools = typeof choice === 'object' ? request.tools.filter((t) => t.name === choice.name) : request.tools;
    const thinkEndId = thinking ? text.special.thinkEnd : null;
    parts.push(new ToolCallConstraint({ tools, decoder: text, vocabSize, stopIds: session.stopIds, maxTokens: prepared.maxTokens, thinkEndId }));
  }
  if (parts.length <= 1) return parts[0];
  return { process: (logits) => parts.forEach((p) => p.process(logits)), accept: (id) => parts.forEach((p) => p.accept(id)) };
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

  const events = generate(
    session,
    prepared.ids,
    {
      maxTokens: prepared.maxTokens,
      maxContext: model.maxContext,
      temperature: request.temperature,
      topP: request.topP,
      seed: request.seed ?? Math.floor(Math.random() * 2 ** 31),
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
      const routed = splitter.push(ev.id, ev.text);
      if (routed.channel === 'reasoning') {
        if (routed.text) yield { kind: 'delta', delta: { reasoning: routed.text } };
        continue;
      }
      const { text: released, stopped: hit } = stop.push(routed.text);
      const delta = content(released);
      if (delta) yield { kind: 'delta', delta };
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
    const delta = toDelta(finalEvents.filter((e) => e.kind !== 'content' || e.text));
    if (delta) yield { kind: 'delta', delta };
    const finishReason: FinishReason = ev.finishReason === 'stop' || last.stopped ? (tools && tools.callCount > 0 ? 'tool_calls' : 'stop') : ev.finishReason;
    yield { kind: 'done', finishReason, usage: { promptTokens: ev.usage.promptTokens, completionTokens: ev.usage.completionTokens, reasoningTokens: splitter.reasoningTokens } };
    return;
  }
  if (stopped) {
    const delta = tools ? toDelta(tools.flush()) : null;
    if (delta) yield { kind: 'delta', delta };
    yield { kind: 'done', finishReason: tools && tools.callCount > 0 ? 'tool_calls' : 'stop', usage: { promptTokens: prepared.ids.length, completionTokens: generated, reasoningTokens: splitter.reasoningTokens } };
  }
}
