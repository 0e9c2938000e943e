// One Engine interface on both sides of the Web Worker boundary (house style H23): the page's
// element talks to a RemoteEngine (SSE from the worker's OpenAI API) or a LocalEngine (the
// model in a Web Worker) the same way. Messages between the page and the engine worker are
// `{ kind, id, … }` unions handled by one switch on each side; errors cross as
// `{ name, message, fields }` and are rebuilt as the same class (H20).
//
//   page ──load──────────────► worker           worker ──progress/notice──► page
//   page ──generate(id, body)─► worker           worker ──token(id)*──────► page
//   page ──stop(id)───────────► worker           worker ──done(id) | failed(id)──► page

import * as engineErrors from '../engine/core/errors.js';
import { errorFromWire as rebuild, toWire, type WireError } from '../runtime/wire.js';
import type { ClientBackend } from '../serve/backend-choice.js';
import * as embedErrors from './errors.js';

export { toWire, type WireError };

/** A chat turn as the element keeps it. */
export interface Turn {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

/** One generation. */
export interface GenerateRequest {
  readonly messages: readonly Turn[];
  readonly maxTokens: number;
  readonly thinking: boolean;
  /** Most reasoning tokens (spec §15.4), or null for no budget. */
  readonly thinkingBudget: number | null;
  /** 0 = greedy; default: the server's (1). */
  readonly temperature?: number;
  /** Sampling seed (same seed, same answer); default: a random one. */
  readonly seed?: number;
  /** A JSON Schema the answer is forced to (response_format json_schema); default: free text. */
  readonly schema?: Readonly<Record<string, unknown>>;
}

export type TokenKind = 'content' | 'reasoning';

/** Why a generation ended (the OpenAI finish_reason, 'abort' after stop()). */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'abort';

/** Where the engine runs: in the tab on a client backend, or on the worker. */
export type EmbedBackend = ClientBackend | 'remote';

/** What the element drives, wherever the model runs. */
export interface Engine {
  readonly backend: EmbedBackend;
  /** Threads the model's kernels run on in this tab (WASM kernel threads); 1 for WebGPU and remote. */
  readonly threads: number;
  /** Stream one answer; `signal` stops it (the promise then resolves with 'abort'). */
  generate(request: GenerateRequest, onToken: (kind: TokenKind, text: string) => void, signal: AbortSignal): Promise<FinishReason>;
  dispose(): void;
}

/** Bytes of the model's shards so far, for the progress bar. */
export interface Progress {
  readonly loaded: number;
  readonly total: number;
  /** Bytes of `loaded` that came from the cache. */
  readonly cached: number;
}

/** What the page asks the engine worker to load. */
export interface LoadOptions {
  /** Folder URL of the pack (ends with '/'): the worker's /v1/pack/ or the `model` attribute. */
  readonly packBase: string;
  /** Folder URL of the embed bundle's lazy files (engine.js, gpu-device.js, *.wasm). */
  readonly assetBase: string;
  readonly backend: ClientBackend;
  /** Headers for every request (Authorization when the element has an api-key). */
  readonly headers: Readonly<Record<string, string>>;
  /** Most bytes the model may use in this tab. */
  readonly memoryBudget: number;
  /** Where `memoryBudget` comes from, for the message when it is not enough. */
  readonly memorySource: string;
  /** Kernel threads on WASM (the threads attribute): a count, or 'auto' (the cores, up to 8, for packs of 64 MiB or more). */
  readonly threads: number | 'auto';
}

export type ToEngine =
  | { readonly kind: 'load'; readonly id: 0; readonly options: LoadOptions }
  | { readonly kind: 'generate'; readonly id: number; readonly body: Record<string, unknown> }
  | { readonly kind: 'stop'; readonly id: number };

export type FromEngine =
  | { readonly kind: 'progress'; readonly id: 0; readonly progress: Progress }
  | { readonly kind: 'notice'; readonly id: 0; readonly error: WireError }
  | { readonly kind: 'ready'; readonly id: 0; readonly backend: ClientBackend; readonly reason: string; readonly threads: number }
  | { readonly kind: 'token'; readonly id: number; readonly token: TokenKind; readonly text: string }
  | { readonly kind: 'done'; readonly id: number; readonly finishReason: FinishReason }
  | { readonly kind: 'failed'; readonly id: number; readonly error: WireError };

/** Model id the engine worker serves a local pack as. */
export const LOCAL_MODEL_ID = 'edgetron-local';

/**
 * The OpenAI chat request of one generation (both engines send it: over HTTP, or to the engine
 * worker, which validates it with the worker's own parser).
 * @example chatBody('edgetron-default', { messages: [{ role: 'user', content: 'Hi' }], maxTokens: 64, thinking: false, thinkingBudget: null }, true);
 */
export function chatBody(model: string, request: GenerateRequest, stream: boolean): Record<string, unknown> {
  return {
    model,
    messages: request.messages,
    stream,
    max_tokens: request.maxTokens,
    chat_template_kwargs: { enable_thinking: request.thinking },
    ...(request.thinking && request.thinkingBudget !== null && { max_reasoning_tokens: request.thinkingBudget }),
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.seed !== undefined && { seed: request.seed }),
    ...(request.schema !== undefined && { response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: request.schema } } }),
  };
}

const CLASSES: Record<string, unknown> = { ...engineErrors, ...embedErrors };

/**
 * Rebuild an error that crossed the boundary: the same named class with its message and
 * fields, else a plain Error with that name.
 * @example throw errorFromWire({ name: 'LocalMemoryError', message: 'not enough memory…' });
 */
export function errorFromWire(w: WireError): Error {
  return rebuild(w, { classes: CLASSES, unknown: (e) => Object.assign(new Error(e.message), e.fields, { name: e.name }), thread: 'the engine worker' });
}
