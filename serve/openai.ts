// DESIGN §6: the OpenAI wire shapes: chat.completion(.chunk) and text_completion objects,
// built from the runner's deltas (run.ts), and the SSE framing `data: {json}\n\n` … `data: [DONE]\n\n`.
// logprobs: chat `{ content: [{ token, logprob, bytes, top_logprobs: [{ token, logprob, bytes }] }],
// refusal: null }`; legacy completions `{ tokens, token_logprobs, top_logprobs: [{ token: logprob }],
// text_offset }`, whose top_logprobs also hold the sampled token (so up to N + 1 entries, as OpenAI's).

import type { ChoiceEvent, Delta, FinishReason, LogprobEntry, RunUsage, TokenText, ToolCallDelta } from './run.js';
import type { ChatRequest, CompletionRequest } from './validate.js';
import type { ApiError } from './errors.js';

type Json = Record<string, unknown>;

/** Identity of one response, shared by all its chunks. */
export interface ResponseMeta {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/**
 * OpenAI `usage`, with reasoning tokens in completion_tokens_details.
 * @example usageJson({ promptTokens: 5, completionTokens: 3, reasoningTokens: 2 }).total_tokens; // 8
 */
export function usageJson(u: RunUsage): Json {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

/** 'abort' never reaches a client (the stream is gone); report it as 'stop'. */
const finish = (r: FinishReason | null) => (r === 'abort' ? 'stop' : r);

/** The fields every response object and chunk shares. */
const envelope = (meta: ResponseMeta, object: string, choices: Json[]): Json => ({ id: meta.id, object, created: meta.created, model: meta.model, choices });

/**
 * One chat.completion.chunk of choice `index`.
 * @example chatChunk(meta, { content: 'Hi' }, null).choices; // [{ index: 0, delta: { content: 'Hi' }, logprobs: null, finish_reason: null }]
 */
export function chatChunk(meta: ResponseMeta, delta: Json, finishReason: FinishReason | null, index = 0, logprobs: Json | null = null): Json {
  return envelope(meta, 'chat.completion.chunk', [{ index, delta, logprobs, finish_reason: finish(finishReason) }]);
}

const tokenJson = (t: TokenText): Json => ({ token: t.token, logprob: t.logprob, bytes: t.bytes });

/**
 * A chat choice's `logprobs` object.
 * @example chatLogprobs([entry]).content[0]; // { token: 'Hi', logprob: -0.1, bytes: [72, 105], top_logprobs: [...] }
 */
export function chatLogprobs(entries: readonly LogprobEntry[]): Json {
  return { content: entries.map((e) => ({ ...tokenJson(e), top_logprobs: e.top.map(tokenJson) })), refusal: null };
}

/**
 * A legacy text_completion choice's `logprobs` object (the sampled token joins its top_logprobs).
 * @example textLogprobs([entry]); // { tokens: ['Hi'], token_logprobs: [-0.1], top_logprobs: [{ Hi: -0.1 }], text_offset: [0] }
 */
export function textLogprobs(entries: readonly LogprobEntry[]): Json {
  return {
    tokens: entries.map((e) => e.token),
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => Object.fromEntries([...e.top, e].map((t) => [t.token, t.logprob]))),
    text_offset: entries.map((e) => e.offset),
  };
}

/**
 * The stream chunk of one choice event (a delta or a choice's finish).
 * @example choiceChunk(meta, request, { kind: 'delta', index: 1, delta: { content: 'Hi' } }).choices[0].index; // 1
 */
export function choiceChunk(meta: ResponseMeta, request: ChatRequest | CompletionRequest, ev: Exclude<ChoiceEvent, { kind: 'done' }>): Json {
  const chat = request.kind === 'chat';
  if (ev.kind === 'finish') return chat ? chatChunk(meta, {}, ev.finishReason, ev.index) : textChunk(meta, '', ev.finishReason, ev.index);
  const { delta } = ev;
  if (chat) return chatChunk(meta, chatDelta(delta), null, ev.index, delta.logprobs ? chatLogprobs(delta.logprobs) : null);
  return textChunk(meta, delta.content ?? '', null, ev.index, delta.logprobs ? textLogprobs(delta.logprobs) : null);
}

/**
 * The chunk delta of a runner delta.
 * @example chatDelta({ reasoning: 'hm' }); // { reasoning_content: 'hm' }
 */
export function chatDelta(d: Delta): Json {
  return {
    ...(d.reasoning !== undefined && { reasoning_content: d.reasoning }),
    ...(d.content !== undefined && { content: d.content }),
    ...(d.toolCalls !== undefined && { tool_calls: d.toolCalls }),
  };
}

/**
 * One text_completion chunk of choice `index`.
 * @example textChunk(meta, 'Once', null).object; // 'text_completion'
 */
export function textChunk(meta: ResponseMeta, text: string, finishReason: FinishReason | null, index = 0, logprobs: Json | null = null): Json {
  return envelope(meta, 'text_completion', [textChoice(text, finishReason, index, logprobs)]);
}

const textChoice = (text: string, finishReason: FinishReason | null, index: number, logprobs: Json | null): Json => ({ index, text, logprobs, finish_reason: finish(finishReason) });

/**
 * The final usage-only chunk of a stream with stream_options.include_usage.
 * @example usageChunk(meta, 'chat.completion.chunk', usage).choices; // []
 */
export function usageChunk(meta: ResponseMeta, object: string, usage: RunUsage): Json {
  return { ...envelope(meta, object, []), usage: usageJson(usage) };
}

/** One choice of a non-streamed answer: its text, reasoning, tool calls, logprobs, finish reason. */
class ChoiceAnswer {
  reasoning = '';
  content = '';
  finishReason: FinishReason = 'stop';
  readonly logprobs: LogprobEntry[] = [];
  private readonly calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];

  add(d: Delta): void {
    this.reasoning += d.reasoning ?? '';
    this.content += d.content ?? '';
    for (const tc of d.toolCalls ?? []) this.addCall(tc);
    this.logprobs.push(...(d.logprobs ?? []));
  }

  private addCall(tc: ToolCallDelta): void {
    if (tc.id !== undefined) this.calls[tc.index] = { id: tc.id, type: 'function', function: { name: tc.function.name ?? '', arguments: '' } };
    this.calls[tc.index].function.arguments += tc.function.arguments;
  }

  message(): Json {
    const message: Json = { role: 'assistant', content: this.calls.length > 0 && !this.content ? null : this.content };
    if (this.reasoning) message.reasoning_content = this.reasoning;
    if (this.calls.length > 0) message.tool_calls = this.calls;
    return message;
  }
}

/**
 * Accumulates the choice events of a request into its non-streamed answer (`n` choices).
 * @example
 * const answer = new AnswerBuilder(request);
 * answer.add({ kind: 'delta', index: 0, delta: { content: 'Hi' } });
 * answer.chat(meta, usage).choices[0].message; // { role: 'assistant', content: 'Hi' }
 */
export class AnswerBuilder {
  private readonly choices: ChoiceAnswer[];
  private readonly logprobs: boolean;

  constructor(request: ChatRequest | CompletionRequest) {
    this.choices = Array.from({ length: request.n }, () => new ChoiceAnswer());
    this.logprobs = request.logprobs !== null;
  }

  add(ev: Exclude<ChoiceEvent, { kind: 'done' }>): void {
    const choice = this.choices[ev.index];
    if (ev.kind === 'finish') choice.finishReason = ev.finishReason;
    else choice.add(ev.delta);
  }

  /** The chat.completion object. */
  chat(meta: ResponseMeta, usage: RunUsage): Json {
    const choices = this.choices.map((c, index) => ({ index, message: c.message(), logprobs: this.logprobs ? chatLogprobs(c.logprobs) : null, finish_reason: finish(c.finishReason) }));
    return { ...envelope(meta, 'chat.completion', choices), usage: usageJson(usage) };
  }

  /** The text_completion object. */
  text(meta: ResponseMeta, usage: RunUsage): Json {
    const choices = this.choices.map((c, index) => textChoice(c.content, c.finishReason, index, this.logprobs ? textLogprobs(c.logprobs) : null));
    return { ...envelope(meta, 'text_completion', choices), usage: usageJson(usage) };
  }
}

const encoder = new TextEncoder();

/**
 * `data: {json}\n\n` as bytes.
 * @example new TextDecoder().decode(sseData('[DONE]')); // 'data: [DONE]\n\n'
 */
export function sseData(value: Json | '[DONE]'): Uint8Array {
  return encoder.encode(`data: ${value === '[DONE]' ? value : JSON.stringify(value)}\n\n`);
}

/**
 * The one final chunk of a stream that failed after it started (house style H19).
 * @example sseError(new InternalError(err)); // data: {"error": {…}}\n\n
 */
export function sseError(err: ApiError): Uint8Array {
  return sseData(err.toJSON());
}
