// DESIGN §6, house style H18: every request field is checked here, before any token is
// generated. Bodies are capped in size, decoded as strict UTF-8, parsed as JSON, then turned
// into one normalised request; each failure is an InvalidRequestError naming the field.
// Unknown fields are ignored, as OpenAI-compatible servers do; fields edgetron cannot honour
// (`n` > 1, `logprobs`) are refused.

import type { ChatMessage } from '../engine/text.js';
import type { ToolSpec } from '../engine/tool-calls.js';
import { EFFORT_BUDGETS, REASONING_EFFORTS, type ReasoningEffort } from '../engine/reasoning.js';
import { InvalidRequestError, ModelNotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

/** Largest request body accepted. */
export const MAX_BODY_BYTES = 1 << 20;
/** Most stop sequences, and the longest (OpenAI's limits). */
export const MAX_STOP = 4;
const MAX_STOP_CHARS = 256;
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sampling and output fields shared by both endpoints. */
export interface SamplingRequest {
  readonly model: string;
  /** null: as many as the context leaves (capped by the worker's default). */
  readonly maxTokens: number | null;
  readonly maxTokensParam: string;
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number | null;
  readonly stop: readonly string[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

/** `tool_choice`: none, auto, required, or one named function. */
export type ToolChoice = 'none' | 'auto' | 'required' | { readonly name: string };

export interface ChatRequest extends SamplingRequest {
  readonly kind: 'chat';
  readonly messages: readonly ChatMessage[];
  readonly tools: readonly ToolSpec[];
  /** Tool definitions as sent (OpenAI `tools`), for the chat template. */
  readonly toolDefs: readonly Json[];
  readonly toolChoice: ToolChoice;
  readonly thinking: boolean;
  /** Most reasoning tokens, or null for no budget. */
  readonly reasoningBudget: number | null;
  /** Test hook (EDGETRON_TEST_HOOKS=1 only): text the model is forced to generate. */
  readonly forcedOutput: string | null;
}

export interface CompletionRequest extends SamplingRequest {
  readonly kind: 'completion';
  readonly prompt: string;
}

/**
 * Read a JSON object body: 415 for a non-JSON content type, 413 over `limit` bytes, 400 for
 * invalid UTF-8, invalid JSON or a non-object.
 * @example const body = await readJsonBody(c.req.raw);
 */
export async function readJsonBody(req: Request, limit = MAX_BODY_BYTES): Promise<Json> {
  const type = req.headers.get('content-type');
  if (type !== null && !/^application\/(.+\+)?json\b/i.test(type.trim())) throw new UnsupportedMediaTypeError(type);
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw new PayloadTooLargeError(Number(declared), limit);
  const bytes = await readCapped(req, limit);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidRequestError(null, 'the request body is not valid UTF-8', 'invalid_utf8');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new InvalidRequestError(null, `the request body is not valid JSON: ${(e as Error).message}`, 'invalid_json');
  }
  if (!isObject(body)) throw new InvalidRequestError(null, 'the request body must be a JSON object', 'invalid_type');
  return body;
}

async function readCapped(req: Request, limit: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw new PayloadTooLargeError(null, limit);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const wrongType = (param: string, expected: string, v: unknown) =>
  new InvalidRequestError(param, `${param} must be ${expected}, got ${typeName(v)}`, 'invalid_type');

function optNumber(body: Json, key: string, fallback: number, min: number, max: number, minOpen = false): number {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw wrongType(key, 'a number', v);
  if (v > max || v < min || (minOpen && v === min)) throw new InvalidRequestError(key, `${key} must be in ${minOpen ? '(' : '['}${min}, ${max}], got ${v}`);
  return v;
}

function optInt(body: Json, key: string, min: number, max: number): number | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw wrongType(key, 'an integer', v);
  if (v < min || v > max) throw new InvalidRequestError(key, `${key} must be in [${min}, ${max}], got ${v}`);
  return v;
}

function optBool(obj: Json, key: string, param = key): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw wrongType(param, 'a boolean', v);
  return v;
}

function parseStop(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw wrongType('stop', 'a string or an array of strings', v);
  if (list.length > MAX_STOP) throw new InvalidRequestError('stop', `stop takes at most ${MAX_STOP} sequences, got ${list.length}`);
  for (const s of list) {
    if (typeof s !== 'string') throw wrongType('stop', 'a string or an array of strings', s);
    if (s.length === 0 || s.length > MAX_STOP_CHARS) throw new InvalidRequestError('stop', `each stop sequence must have 1 to ${MAX_STOP_CHARS} characters`);
  }
  return list as string[];
}

/** Fields common to both endpoints; `served` is the model id this worker serves. */
function parseSampling(body: Json, served: string, maxContext: number): SamplingRequest {
  const model = body.model;
  if (model === undefined) throw new InvalidRequestError('model', 'model is required', 'missing_required_parameter');
  if (typeof model !== 'string') throw wrongType('model', 'a string', model);
  if (model !== served) throw new ModelNotFoundError(model, served);
  const n = optInt(body, 'n', 1, Number.MAX_SAFE_INTEGER);
  if (n !== null && n !== 1) throw new InvalidRequestError('n', `n must be 1, got ${n}`, 'unsupported_value');
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) {
    throw new InvalidRequestError('logprobs', 'logprobs is not supported', 'unsupported_value');
  }
  const maxCompletion = optInt(body, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER);
  const maxTokensField = optInt(body, 'max_tokens', 1, Number.MAX_SAFE_INTEGER);
  const maxTokens = maxCompletion ?? maxTokensField;
  if (maxTokens !== null && maxTokens > maxContext) {
    throw new InvalidRequestError(maxCompletion !== null ? 'max_completion_tokens' : 'max_tokens', `${maxCompletion !== null ? 'max_completion_tokens' : 'max_tokens'} = ${maxTokens} exceeds the context limit of ${maxContext}`, 'context_length_exceeded');
  }
  const stream = optBool(body, 'stream') ?? false;
  const streamOptions = body.stream_options;
  let includeUsage = false;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isObject(streamOptions)) throw wrongType('stream_options', 'an object', streamOptions);
    includeUsage = optBool(streamOptions, 'include_usage', 'stream_options.include_usage') ?? false;
  }
  const seed = optInt(body, 'seed', -(2 ** 53) + 1, 2 ** 53 - 1);
  return {
    model,
    maxTokens,
    maxTokensParam: maxCompletion !== null ? 'max_completion_tokens' : 'max_tokens',
    temperature: optNumber(body, 'temperature', 1, 0, 2),
    topP: optNumber(body, 'top_p', 1, 0, 1, true),
    seed: seed === null ? null : Number(BigInt.asIntN(32, BigInt(seed))),
    stop: parseStop(body.stop),
    stream,
    includeUsage,
  };
}

/** Message content: a string, null (assistant with tool calls), or an array of text parts. */
function messageText(v: unknown, param: string, allowNull: boolean): string {
  if (typeof v === 'string') return v;
  if ((v === null || v === undefined) && allowNull) return '';
  if (!Array.isArray(v)) throw wrongType(param, 'a string or an array of text parts', v);
  return v
    .map((part, j) => {
      if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
        throw new InvalidRequestError(`${param}[${j}]`, `${param}[${j}] must be {"type": "text", "text": string}; only text parts are supported`);
      }
      return part.text;
    })
    .join('');
}

function parseToolCalls(v: unknown, param: string): Json[] {
  if (!Array.isArray(v)) throw wrongType(param, 'an array', v);
  return v.map((tc, j) => {
    const p = `${param}[${j}]`;
    if (!isObject(tc) || !isObject(tc.function)) throw wrongType(p, 'an object with a function', tc);
    const { name, arguments: args } = tc.function;
    if (typeof name !== 'string' || !TOOL_NAME.test(name)) throw new InvalidRequestError(`${p}.function.name`, `${p}.function.name must match ${TOOL_NAME}`);
    let parsed: unknown = args ?? {};
    if (typeof args === 'string') {
      try {
        parsed = JSON.parse(args);
      } catch {
        throw new InvalidRequestError(`${p}.function.arguments`, `${p}.function.arguments must be a JSON object string`);
      }
    }
    if (!isObject(parsed)) throw wrongType(`${p}.function.arguments`, 'a JSON object', parsed);
    return { id: typeof tc.id === 'string' ? tc.id : `call_${j}`, type: 'function', function: { name, arguments: parsed } };
  });
}

function parseMessages(v: unknown): ChatMessage[] {
  if (v === undefined) throw new InvalidRequestError('messages', 'messages is required', 'missing_required_parameter');
  if (!Array.isArray(v)) throw wrongType('messages', 'an array', v);
  if (v.length === 0) throw new InvalidRequestError('messages', 'messages must not be empty');
  return v.map((m, i) => {
    const p = `messages[${i}]`;
    if (!isObject(m)) throw wrongType(p, 'an object', m);
    const role = m.role;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      throw new InvalidRequestError(`${p}.role`, `${p}.role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`);
    }
    const hasCalls = role === 'assistant' && m.tool_calls !== undefined && m.tool_calls !== null;
    const content = messageText(m.content, `${p}.content`, role === 'assistant');
    const out: Record<string, unknown> = { role: role === 'developer' ? 'system' : role, content };
    if (hasCalls) out.tool_calls = parseToolCalls(m.tool_calls, `${p}.tool_calls`);
    if (role === 'assistant' && typeof m.reasoning_content === 'string') out.reasoning_content = m.reasoning_content;
    if (role === 'tool' && m.tool_call_id !== undefined && typeof m.tool_call_id !== 'string') throw wrongType(`${p}.tool_call_id`, 'a string', m.tool_call_id);
    return out as unknown as ChatMessage;
  });
}

function parseTools(v: unknown): { specs: ToolSpec[]; defs: Json[] } {
  if (v === undefined || v === null) return { specs: [], defs: [] };
  if (!Array.isArray(v)) throw wrongType('tools', 'an array', v);
  const specs: ToolSpec[] = [];
  const defs: Json[] = [];
  v.forEach((t, i) => {
    const p = `tools[${i}]`;
    if (!isObject(t)) throw wrongType(p, 'an object', t);
    if (t.type !== 'function') throw new InvalidRequestError(`${p}.type`, `${p}.type must be 'function'`);
    const f = t.function;
    if (!isObject(f)) throw wrongType(`${p}.function`, 'an object', f);
    if (typeof f.name !== 'string' || !TOOL_NAME.test(f.name)) throw new InvalidRequestError(`${p}.function.name`, `${p}.function.name must match ${TOOL_NAME}`);
    if (f.description !== undefined && typeof f.description !== 'string') throw wrongType(`${p}.function.description`, 'a string', f.description);
    const params = f.parameters;
    if (params !== undefined && !isObject(params)) throw wrongType(`${p}.function.parameters`, 'a JSON Schema object', params);
    if (params?.properties !== undefined) {
      if (!isObject(params.properties)) throw wrongType(`${p}.function.parameters.properties`, 'an object', params.properties);
      for (const [name, schema] of Object.entries(params.properties)) {
        if (!isObject(schema)) throw wrongType(`${p}.function.parameters.properties.${name}`, 'a JSON Schema object', schema);
      }
    }
    if (params?.required !== undefined && !(Array.isArray(params.required) && params.required.every((r) => typeof r === 'string'))) {
      throw wrongType(`${p}.function.parameters.required`, 'an array of strings', params.required);
    }
    specs.push({ name: f.name, parameters: params as ToolSpec['parameters'] });
    defs.push({ type: 'function', function: { name: f.name, description: f.description ?? '', parameters: params ?? { type: 'object', properties: {} } } });
  });
  return { specs, defs };
}

function parseToolChoice(v: unknown, tools: readonly ToolSpec[]): ToolChoice {
  if (v === undefined || v === null) return tools.length ? 'auto' : 'none';
  if (v === 'none' || v === 'auto' || v === 'required') {
    if (v === 'required' && tools.length === 0) throw new InvalidRequestError('tool_choice', "tool_choice 'required' needs tools");
    return v;
  }
  if (isObject(v) && v.type === 'function' && isObject(v.function) && typeof v.function.name === 'string') {
    const name = v.function.name;
    if (!tools.some((t) => t.name === name)) throw new InvalidRequestError('tool_choice', `tool_choice names '${name}', which is not in tools`);
    return { name };
  }
  throw new InvalidRequestError('tool_choice', "tool_choice must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": …}}");
}

/** Thinking on/off and the budget, from chat_template_kwargs, reasoning_effort, max_reasoning_tokens. */
function parseReasoning(body: Json, maxContext: number): { thinking: boolean; budget: number | null } {
  const kwargs = body.chat_template_kwargs;
  if (kwargs !== undefined && kwargs !== null && !isObject(kwargs)) throw wrongType('chat_template_kwargs', 'an object', kwargs);
  const enable = kwargs ? optBool(kwargs, 'enable_thinking', 'chat_template_kwargs.enable_thinking') : undefined;
  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null && !(REASONING_EFFORTS as readonly unknown[]).includes(effort)) {
    throw new InvalidRequestError('reasoning_effort', `reasoning_effort must be one of ${REASONING_EFFORTS.join(', ')}, got ${JSON.stringify(effort)}`);
  }
  const budget = optInt(body, 'max_reasoning_tokens', 0, maxContext);
  const thinking = enable !== false && effort !== 'none';
  const effortBudget = effort && effort !== 'none' ? EFFORT_BUDGETS[effort as Exclude<ReasoningEffort, 'none'>] : null;
  return { thinking, budget: thinking ? (budget ?? effortBudget) : null };
}

/**
 * Validate a `POST /v1/chat/completions` body.
 * @example const req = parseChatRequest(await readJsonBody(raw), 'edgetron-default', 4096, false);
 */
export function parseChatRequest(body: Json, served: string, maxContext: number, testHooks: boolean): ChatRequest {
  const sampling = parseSampling(body, served, maxContext);
  const messages = parseMessages(body.messages);
  const { specs, defs } = parseTools(body.tools);
  const toolChoice = parseToolChoice(body.tool_choice, specs);
  const { thinking, budget } = parseReasoning(body, maxContext);
  const forced = testHooks ? body.x_force_output : undefined;
  if (forced !== undefined && typeof forced !== 'string') throw wrongType('x_force_output', 'a string', forced);
  return {
    ...sampling,
    kind: 'chat',
    messages,
    tools: specs,
    toolDefs: defs,
    toolChoice,
    thinking,
    reasoningBudget: budget,
    forcedOutput: forced ?? null,
  };
}

/**
 * Validate a `POST /v1/completions` body (`prompt`: a string or an array of one string).
 * @example const req = parseCompletionRequest(body, 'edgetron-default', 4096);
 */
export function parseCompletionRequest(body: Json, served: string, maxContext: number): CompletionRequest {
  const sampling = parseSampling(body, served, maxContext);
  let prompt = body.prompt;
  if (prompt === undefined) throw new InvalidRequestError('prompt', 'prompt is required', 'missing_required_parameter');
  if (Array.isArray(prompt)) {
    if (prompt.length !== 1) throw new InvalidRequestError('prompt', 'prompt must be a string or an array of exactly one string', 'unsupported_value');
    prompt = prompt[0];
  }
  if (typeof prompt !== 'string') throw wrongType('prompt', 'a string', prompt);
  if (prompt.length === 0) throw new InvalidRequestError('prompt', 'prompt must not be empty');
  if (body.suffix !== undefined && body.suffix !== null) throw new InvalidRequestError('suffix', 'suffix is not supported', 'unsupported_value');
  return { ...sampling, kind: 'completion', prompt };
}
