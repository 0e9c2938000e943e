// DESIGN §6, house style H18: every request field is checked here, before any token is
// generated. Bodies are capped in size, decoded as strict UTF-8, parsed as JSON, then turned
// into one normalised request; each failure is an InvalidRequestError naming the field.
// Unknown fields are ignored, as OpenAI-compatible servers do. `logprobs` differs by endpoint:
// chat takes `logprobs: true` + `top_logprobs` (0 … 20), completions the legacy `logprobs: N`
// (0 … 5); `logit_bias` ids are checked against the vocabulary in run.ts `prepare`.

import { SchemaError } from '../engine/core/errors.js';
import { ANY_OBJECT, compileSchema, type SchemaMode, type SchemaNode } from '../engine/text/json-schema.js';
import { JsonNumber, parseJsonKeepingFloats } from '../engine/text/jinja.js';
import type { ChatMessage } from '../engine/text/text.js';
import type { ToolSpec } from '../engine/text/tool-calls.js';
import { EFFORT_BUDGETS, REASONING_EFFORTS, type ReasoningEffort } from '../engine/text/reasoning.js';
import { BodyTimeoutError, InvalidRequestError, ModelNotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

/** Largest request body accepted. */
export const MAX_BODY_BYTES = 1 << 20;
/** Most stop sequences, and the longest (OpenAI's limits). */
export const MAX_STOP = 4;
const MAX_STOP_CHARS = 256;
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** Most choices (`n`) one request may ask for. */
export const MAX_CHOICES = 8;
/** Most alternatives per token: chat `top_logprobs`, legacy completions `logprobs` (OpenAI's limits). */
export const MAX_TOP_LOGPROBS = 20;
export const MAX_LEGACY_LOGPROBS = 5;
/** Most `logit_bias` entries (OpenAI's limit). */
export const MAX_LOGIT_BIAS = 300;

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
  /** Independent choices to generate (`n`), 1 … MAX_CHOICES. */
  readonly n: number;
  /** With logprobs: the alternatives listed per token (chat `top_logprobs`, legacy `logprobs`); null = no logprobs. */
  readonly logprobs: number | null;
  /** −2 … 2 (OpenAI's formula, engine/decode/penalties.ts). */
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  /** `logit_bias`: token id → bias in [−100, 100]. */
  readonly logitBias: ReadonlyMap<number, number>;
}

/** `tool_choice`: none, auto, required, or one named function. */
export type ToolChoice = 'none' | 'auto' | 'required' | { readonly name: string };

export interface ChatRequest extends SamplingRequest {
  readonly kind: 'chat';
  readonly messages: readonly ChatMessage[];
  readonly tools: readonly ToolSpec[];
  /** Tool definitions as sent (OpenAI `tools`), for the chat template. */
  readonly toolDefs: readonly Json[];
  /** `chat_template_kwargs` for the template (e.g. truncate_history_thinking), without the names the renderer sets itself. */
  readonly templateKwargs: Readonly<Json>;
  readonly toolChoice: ToolChoice;
  readonly thinking: boolean;
  /** Most reasoning tokens, or null for no budget. */
  readonly reasoningBudget: number | null;
  /** Test hook (EDGETRON_TEST_HOOKS=1 only): text the model is forced to generate. */
  readonly forcedOutput: string | null;
  /** `response_format` json_object / json_schema: the schema the answer is forced to; null for text. */
  readonly responseFormat: SchemaNode | null;
}

export interface CompletionRequest extends SamplingRequest {
  readonly kind: 'completion';
  readonly prompt: string;
}

/**
 * Read a JSON object body: 415 for a non-JSON content type, 413 over `limit` bytes, 408 when it
 * has not arrived in `timeoutMs`, 400 for invalid UTF-8, invalid JSON or a non-object.
 * @example const body = await readJsonBody(c.req.raw);
 */
export async function readJsonBody(req: Request, limit = MAX_BODY_BYTES, timeoutMs = BODY_TIMEOUT_MS): Promise<Json> {
  const type = req.headers.get('content-type');
  if (type !== null && !/^application\/(.+\+)?json\b/i.test(type.trim())) throw new UnsupportedMediaTypeError(type);
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit + DRAIN_BYTES) throw new PayloadTooLargeError(Number(declared), limit);
  const bytes = await readCapped(req, limit, timeoutMs);
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

/** Longest a request body may take to arrive (then 408). */
export const BODY_TIMEOUT_MS = 10_000;
/**
 * A body over the cap is still read, and thrown away, up to this many bytes more before the 413:
 * an HTTP/1.1 connection whose request body was left unread cannot carry the next request.
 */
const DRAIN_BYTES = 16 << 20;

/** The body's bytes: 413 past `limit` (after draining), 408 past `timeoutMs`. */
async function readCapped(req: Request, limit: number, timeoutMs: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BodyTimeoutError(timeoutMs / 1000)), timeoutMs);
  });
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), expired]);
      if (done) break;
      total += value.byteLength;
      if (total > limit + DRAIN_BYTES) break;
      if (total <= limit) parts.push(value);
    }
  } catch (err) {
    void reader.cancel().catch(() => {});
    if (total > limit) throw new PayloadTooLargeError(null, limit);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (total > limit) {
    void reader.cancel().catch(() => {});
    throw new PayloadTooLargeError(null, limit);
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

/** Chat: `logprobs` (boolean) with `top_logprobs`; completions: the legacy `logprobs` count. */
function parseLogprobs(body: Json, kind: 'chat' | 'completion'): number | null {
  if (kind === 'completion') return optInt(body, 'logprobs', 0, MAX_LEGACY_LOGPROBS);
  const on = optBool(body, 'logprobs') ?? false;
  const top = optInt(body, 'top_logprobs', 0, MAX_TOP_LOGPROBS);
  if (top !== null && !on) throw new InvalidRequestError('top_logprobs', 'top_logprobs needs logprobs: true');
  return on ? (top ?? 0) : null;
}

/** `logit_bias`: an object of token-id strings → numbers in [−100, 100], at most MAX_LOGIT_BIAS entries. */
function parseLogitBias(v: unknown): Map<number, number> {
  if (v === undefined || v === null) return new Map();
  if (!isObject(v)) throw wrongType('logit_bias', 'an object mapping token ids to biases', v);
  const entries = Object.entries(v);
  if (entries.length > MAX_LOGIT_BIAS) throw new InvalidRequestError('logit_bias', `logit_bias takes at most ${MAX_LOGIT_BIAS} tokens, got ${entries.length}`);
  return new Map(
    entries.map(([key, bias]) => {
      if (!/^(0|[1-9]\d{0,9})$/.test(key)) throw new InvalidRequestError('logit_bias', `logit_bias keys must be token ids, got ${JSON.stringify(key)}`);
      if (typeof bias !== 'number' || !Number.isFinite(bias)) throw wrongType('logit_bias', 'an object of numbers', bias);
      if (bias < -100 || bias > 100) throw new InvalidRequestError('logit_bias', `logit_bias values must be in [-100, 100], got ${bias} for token ${key}`);
      return [Number(key), bias];
    }),
  );
}

/** Fields common to both endpoints; `served` is the model id this worker serves. */
function parseSampling(body: Json, served: string, maxContext: number, kind: 'chat' | 'completion'): SamplingRequest {
  // one model is served: an omitted `model` means it (as llama.cpp's server does); a wrong name is a 404
  const model = body.model ?? served;
  if (typeof model !== 'string') throw wrongType('model', 'a string', model);
  if (model !== served) throw new ModelNotFoundError(model, served);
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
    n: optInt(body, 'n', 1, MAX_CHOICES) ?? 1,
    logprobs: parseLogprobs(body, kind),
    presencePenalty: optNumber(body, 'presence_penalty', 0, -2, 2),
    frequencyPenalty: optNumber(body, 'frequency_penalty', 0, -2, 2),
    logitBias: parseLogitBias(body.logit_bias),
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
        // as json.loads reads them: `2.0` stays a float the template prints as 2.0
        parsed = parseJsonKeepingFloats(args);
      } catch {
        throw new InvalidRequestError(`${p}.function.arguments`, `${p}.function.arguments must be a JSON object string`);
      }
    }
    if (!isObject(parsed) || parsed instanceof JsonNumber) throw wrongType(`${p}.function.arguments`, 'a JSON object', parsed instanceof JsonNumber ? parsed.toJSON() : parsed);
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
    // passed through as apply_chat_template sees them (some templates print a tool result's call id or a speaker name)
    if (role === 'tool' && typeof m.tool_call_id === 'string') out.tool_call_id = m.tool_call_id;
    if (typeof m.name === 'string') out.name = m.name;
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
    if (params !== undefined) {
      for (const name of Object.keys(params.properties ?? {})) {
        if (!TOOL_PARAM.test(name)) throw new InvalidRequestError(`${p}.function.parameters.properties`, `${p}.function.parameters: property name ${JSON.stringify(name)} must be non-empty without '<', '>' or a line feed`);
      }
      schemaNode(params, `${p}.function.parameters`, 'lenient');
    }
    specs.push({ name: f.name, parameters: params as ToolSpec['parameters'] });
    // as sent, as apply_chat_template sees them: a template tests `description is defined` and renders extra keys
    defs.push(t);
  });
  return { specs, defs };
}

/** Property names a tool call can write (engine/text/tool-constraint.ts). */
const TOOL_PARAM = /^[^<>\n]+$/;

/** Compile a JSON Schema (engine/text/json-schema.ts); a SchemaError is a 400 on `param`. */
function schemaNode(schema: unknown, param: string, mode: SchemaMode): SchemaNode {
  try {
    return compileSchema(schema, mode);
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    throw new InvalidRequestError(param, `${param}: ${e.message}`, e.unsupported ? 'unsupported_value' : 'invalid_value');
  }
}

/**
 * `response_format`: text (null), json_object (any object) or json_schema (its `schema`, always
 * compiled strict: a feature the grammar cannot enforce is a 400 naming it and its path).
 */
function parseResponseFormat(v: unknown): SchemaNode | null {
  if (v === undefined || v === null) return null;
  const p = 'response_format';
  if (!isObject(v)) throw wrongType(p, 'an object', v);
  if (v.type === 'text') return null;
  if (v.type === 'json_object') return ANY_OBJECT;
  if (v.type !== 'json_schema') throw new InvalidRequestError(`${p}.type`, `${p}.type must be 'text', 'json_object' or 'json_schema', got ${JSON.stringify(v.type)}`);
  const spec = v.json_schema;
  if (!isObject(spec)) throw wrongType(`${p}.json_schema`, 'an object', spec);
  if (spec.name !== undefined && (typeof spec.name !== 'string' || !TOOL_NAME.test(spec.name))) throw new InvalidRequestError(`${p}.json_schema.name`, `${p}.json_schema.name must match ${TOOL_NAME}`);
  optBool(spec, 'strict', `${p}.json_schema.strict`);
  if (spec.schema === undefined) throw new InvalidRequestError(`${p}.json_schema.schema`, `${p}.json_schema.schema is required`, 'missing_required_parameter');
  return schemaNode(spec.schema, `${p}.json_schema.schema`, 'strict');
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

/** `chat_template_kwargs` passed to the template (the renderer's own variables override theirs, engine/text/text.ts renderChat); its booleans the Nemotron 3 template reads are checked (spec §15.2). */
function parseTemplateKwargs(body: Json): Json {
  const kwargs = body.chat_template_kwargs;
  if (kwargs === undefined || kwargs === null) return {};
  if (!isObject(kwargs)) throw wrongType('chat_template_kwargs', 'an object', kwargs);
  optBool(kwargs, 'truncate_history_thinking', 'chat_template_kwargs.truncate_history_thinking');
  return kwargs;
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
  const sampling = parseSampling(body, served, maxContext, 'chat');
  const messages = parseMessages(body.messages);
  const { specs, defs } = parseTools(body.tools);
  const toolChoice = parseToolChoice(body.tool_choice, specs);
  const { thinking, budget } = parseReasoning(body, maxContext);
  const templateKwargs = parseTemplateKwargs(body);
  const forced = testHooks ? body.x_force_output : undefined;
  if (forced !== undefined && typeof forced !== 'string') throw wrongType('x_force_output', 'a string', forced);
  const responseFormat = parseResponseFormat(body.response_format);
  if (responseFormat && (toolChoice === 'required' || typeof toolChoice === 'object')) {
    throw new InvalidRequestError('response_format', 'response_format cannot be combined with a forced tool_choice: the answer would have to be both a JSON document and a tool call');
  }
  return {
    ...sampling,
    kind: 'chat',
    messages,
    tools: specs,
    toolDefs: defs,
    templateKwargs,
    toolChoice,
    thinking,
    reasoningBudget: budget,
    forcedOutput: forced ?? null,
    responseFormat,
  };
}

/**
 * Validate a `POST /v1/completions` body (`prompt`: a string or an array of one string).
 * @example const req = parseCompletionRequest(body, 'edgetron-default', 4096);
 */
export function parseCompletionRequest(body: Json, served: string, maxContext: number): CompletionRequest {
  const sampling = parseSampling(body, served, maxContext, 'completion');
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
