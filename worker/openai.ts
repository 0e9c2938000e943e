// DESIGN §6: the OpenAI wire shapes: chat.completion(.chunk) and text_completion objects,
// built from the runner's deltas (run.ts), and the SSE framing `data: {json}\n\n` … `data: [DONE]\n\n`.

import type { Delta, FinishReason, RunUsage, ToolCallDelta } from './run.js';
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
 * One chat.completion.chunk.
 * @example chatChunk(meta, { content: 'Hi' }, null).choices; // [{ index: 0, delta: { content: 'Hi' }, logprobs: null, finish_reason: null }]
 */
export function chatChunk(meta: ResponseMeta, delta: Json, finishReason: FinishReason | null): Json {
  return envelope(meta, 'chat.completion.chunk', [{ index: 0, delta, logprobs: null, finish_reason: finish(finishReason) }]);
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
 * One text_completion chunk (streaming and not).
 * @example textChunk(meta, 'Once', null).object; // 'text_completion'
 */
export function textChunk(meta: ResponseMeta, text: string, finishReason: FinishReason | null): Json {
  return envelope(meta, 'text_completion', [{ index: 0, text, logprobs: null, finish_reason: finish(finishReason) }]);
}

/**
 * The final usage-only chunk of a stream with stream_options.include_usage.
 * @example usageChunk(meta, 'chat.completion.chunk', usage).choices; // []
 */
export function usageChunk(meta: ResponseMeta, object: string, usage: RunUsage): Json {
  return { ...envelope(meta, object, []), usage: usageJson(usage) };
}

/**
 * Accumulates deltas into a non-streamed answer.
 * @example
 * const answer = new AnswerBuilder();
 * answer.add({ content: 'Hi' });
 * answer.chat(meta, 'stop', usage).choices[0].message; // { role: 'assistant', content: 'Hi' }
 */
export class AnswerBuilder {
  reasoning = '';
  content = '';
  private readonly calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];

  add(d: Delta): void {
    this.reasoning += d.reasoning ?? '';
    this.content += d.content ?? '';
    for (const tc of d.toolCalls ?? []) this.addCall(tc);
  }

  private addCall(tc: ToolCallDelta): void {
    if (tc.id !== undefined) this.calls[tc.index] = { id: tc.id, type: 'function', function: { name: tc.function.name ?? '', arguments: '' } };
    this.calls[tc.index].function.arguments += tc.function.arguments;
  }

  /** The chat.completion object. */
  chat(meta: ResponseMeta, finishReason: FinishReason, usage: RunUsage): Json {
    const message: Json = { role: 'assistant', content: this.calls.length > 0 && !this.content ? null : this.content };
    if (this.reasoning) message.reasoning_content = this.reasoning;
    if (this.calls.length > 0) message.tool_calls = this.calls;
    return { ...envelope(meta, 'chat.completion', [{ index: 0, message, logprobs: null, finish_reason: finish(finishReason) }]), usage: usageJson(usage) };
  }

  /** The text_completion object. */
  text(meta: ResponseMeta, finishReason: FinishReason, usage: RunUsage): Json {
    return { ...textChunk(meta, this.content, finishReason), usage: usageJson(usage) };
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
