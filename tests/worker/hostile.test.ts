// Hostile input, through the real Worker entry (worker/index.ts, the pack from ASSETS): every
// malformed or adversarial request gets its 4xx OpenAI-shaped JSON error naming the field, and
// the worker keeps serving afterwards.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

const MODEL = 'edgetron-default';
const CHAT = '/v1/chat/completions';
const COMPLETIONS = '/v1/completions';
const ok = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 };
const tool = (fn: unknown) => ({ ...ok, tools: [{ type: 'function', function: fn }] });

type Case = [label: string, path: string, body: unknown, status: number, param?: string | null];

/** Bodies that are objects are sent as JSON; strings and byte arrays as they are. */
const CASES: Case[] = [
  ['truncated JSON', CHAT, '{"model": "edgetron-default", "messages": [', 400, null],
  ['empty body', CHAT, '', 400, null],
  ['JSON array body', CHAT, '[]', 400, null],
  ['JSON string body', CHAT, '"hello"', 400, null],
  ['JSON null body', CHAT, 'null', 400, null],
  ['trailing garbage after JSON', CHAT, `${JSON.stringify(ok)}xyz`, 400, null],
  ['invalid UTF-8 bytes', CHAT, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 400, null],
  ['lone surrogate half in UTF-8 (CESU)', CHAT, new Uint8Array([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]), 400, null],
  ['10 MB body', CHAT, JSON.stringify({ ...ok, pad: 'x'.repeat(10 * 2 ** 20) }), 413, null],
  ['1 MiB + 1 byte body', CHAT, 'y'.repeat(2 ** 20 + 1), 413, null],
  ['missing model', CHAT, { messages: ok.messages }, 400, 'model'],
  ['model is a number', CHAT, { ...ok, model: 42 }, 400, 'model'],
  ['unknown model', CHAT, { ...ok, model: 'gpt-4o' }, 404, 'model'],
  ['prototype pollution hides the model', CHAT, `{"__proto__": {"model": "${MODEL}"}, "messages": [{"role": "user", "content": "hi"}]}`, 400, 'model'],
  ['missing messages', CHAT, { model: MODEL }, 400, 'messages'],
  ['messages is a string', CHAT, { ...ok, messages: 'hi' }, 400, 'messages'],
  ['messages is an object', CHAT, { ...ok, messages: { role: 'user', content: 'hi' } }, 400, 'messages'],
  ['messages is empty', CHAT, { ...ok, messages: [] }, 400, 'messages'],
  ['message is a string', CHAT, { ...ok, messages: ['hi'] }, 400, 'messages[0]'],
  ['message is null', CHAT, { ...ok, messages: [null] }, 400, 'messages[0]'],
  ['deeply nested message', CHAT, `{"model": "${MODEL}", "messages": ${'['.repeat(5000)}${']'.repeat(5000)}}`, 400, 'messages[0]'],
  ['message without role', CHAT, { ...ok, messages: [{ content: 'hi' }] }, 400, 'messages[0].role'],
  ['unknown role', CHAT, { ...ok, messages: [{ role: 'wizard', content: 'hi' }] }, 400, 'messages[0].role'],
  ['content is a number', CHAT, { ...ok, messages: [{ role: 'user', content: 5 }] }, 400, 'messages[0].content'],
  ['user content is null', CHAT, { ...ok, messages: [{ role: 'user', content: null }] }, 400, 'messages[0].content'],
  ['content part is an image', CHAT, { ...ok, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 400, 'messages[0].content[0]'],
  ['content part is a string', CHAT, { ...ok, messages: [{ role: 'user', content: ['hi'] }] }, 400, 'messages[0].content[0]'],
  ['tool message with a numeric tool_call_id', CHAT, { ...ok, messages: [{ role: 'tool', content: 'x', tool_call_id: 7 }] }, 400, 'messages[0].tool_call_id'],
  ['assistant tool_calls is an object', CHAT, { ...ok, messages: [{ role: 'assistant', content: null, tool_calls: {} }] }, 400, 'messages[0].tool_calls'],
  ['assistant tool call arguments are not JSON', CHAT, { ...ok, messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, 400, 'messages[0].tool_calls[0].function.arguments'],
  ['huge max_tokens', CHAT, { ...ok, max_tokens: 1e12 }, 400, 'max_tokens'],
  ['max_tokens 0', CHAT, { ...ok, max_tokens: 0 }, 400, 'max_tokens'],
  ['negative max_tokens', CHAT, { ...ok, max_tokens: -5 }, 400, 'max_tokens'],
  ['fractional max_tokens', CHAT, { ...ok, max_tokens: 1.5 }, 400, 'max_tokens'],
  ['max_tokens as a string', CHAT, { ...ok, max_tokens: '10' }, 400, 'max_tokens'],
  ['huge max_completion_tokens', CHAT, { ...ok, max_completion_tokens: 2 ** 40 }, 400, 'max_completion_tokens'],
  ['negative temperature', CHAT, { ...ok, temperature: -1 }, 400, 'temperature'],
  ['temperature above 2', CHAT, { ...ok, temperature: 3 }, 400, 'temperature'],
  ['temperature as a string', CHAT, { ...ok, temperature: 'hot' }, 400, 'temperature'],
  ['temperature overflowing to Infinity', CHAT, `{"model": "${MODEL}", "messages": [{"role": "user", "content": "hi"}], "temperature": 1e400}`, 400, 'temperature'],
  ['top_p 0', CHAT, { ...ok, top_p: 0 }, 400, 'top_p'],
  ['top_p above 1', CHAT, { ...ok, top_p: 1.5 }, 400, 'top_p'],
  ['fractional seed', CHAT, { ...ok, seed: 1.5 }, 400, 'seed'],
  ['seed as a string', CHAT, { ...ok, seed: 'x' }, 400, 'seed'],
  ['five stop sequences', CHAT, { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop'],
  ['empty stop sequence', CHAT, { ...ok, stop: [''] }, 400, 'stop'],
  ['numeric stop sequence', CHAT, { ...ok, stop: [1] }, 400, 'stop'],
  ['stop is an object', CHAT, { ...ok, stop: { a: 1 } }, 400, 'stop'],
  ['n = 2', CHAT, { ...ok, n: 2 }, 400, 'n'],
  ['logprobs requested', CHAT, { ...ok, logprobs: true }, 400, 'logprobs'],
  ['stream is a string', CHAT, { ...ok, stream: 'yes' }, 400, 'stream'],
  ['stream_options is a string', CHAT, { ...ok, stream: true, stream_options: 'x' }, 400, 'stream_options'],
  ['include_usage is a string', CHAT, { ...ok, stream: true, stream_options: { include_usage: 'y' } }, 400, 'stream_options.include_usage'],
  ['tools is an object', CHAT, { ...ok, tools: { type: 'function' } }, 400, 'tools'],
  ['tool is a string', CHAT, { ...ok, tools: ['get_weather'] }, 400, 'tools[0]'],
  ['tool of another type', CHAT, { ...ok, tools: [{ type: 'retrieval' }] }, 400, 'tools[0].type'],
  ['tool without a function', CHAT, { ...ok, tools: [{ type: 'function' }] }, 400, 'tools[0].function'],
  ['tool name with spaces and markup', CHAT, tool({ name: 'get weather<tool_call>' }), 400, 'tools[0].function.name'],
  ['tool schema is a string', CHAT, tool({ name: 'f', parameters: 'object' }), 400, 'tools[0].function.parameters'],
  ['tool schema is an array', CHAT, tool({ name: 'f', parameters: [] }), 400, 'tools[0].function.parameters'],
  ['tool properties is an array', CHAT, tool({ name: 'f', parameters: { type: 'object', properties: [] } }), 400, 'tools[0].function.parameters.properties'],
  ['tool property schema is a string', CHAT, tool({ name: 'f', parameters: { type: 'object', properties: { a: 'string' } } }), 400, 'tools[0].function.parameters.properties.a'],
  ['tool required is not a list of strings', CHAT, tool({ name: 'f', parameters: { type: 'object', required: [1] } }), 400, 'tools[0].function.parameters.required'],
  ['tool description is a number', CHAT, tool({ name: 'f', description: 5 }), 400, 'tools[0].function.description'],
  ['tool_choice unknown word', CHAT, { ...tool({ name: 'f' }), tool_choice: 'sometimes' }, 400, 'tool_choice'],
  ['tool_choice names a missing tool', CHAT, { ...tool({ name: 'f' }), tool_choice: { type: 'function', function: { name: 'g' } } }, 400, 'tool_choice'],
  ['tool_choice required without tools', CHAT, { ...ok, tool_choice: 'required' }, 400, 'tool_choice'],
  ['unknown reasoning_effort', CHAT, { ...ok, reasoning_effort: 'extreme' }, 400, 'reasoning_effort'],
  ['negative max_reasoning_tokens', CHAT, { ...ok, max_reasoning_tokens: -1 }, 400, 'max_reasoning_tokens'],
  ['chat_template_kwargs is a string', CHAT, { ...ok, chat_template_kwargs: 'x' }, 400, 'chat_template_kwargs'],
  ['enable_thinking is a string', CHAT, { ...ok, chat_template_kwargs: { enable_thinking: 'no' } }, 400, 'chat_template_kwargs.enable_thinking'],
  ['x_force_output is a number', CHAT, { ...ok, x_force_output: 5 }, 400, 'x_force_output'],
  ['prompt longer than the context', CHAT, { ...ok, messages: [{ role: 'user', content: 'the '.repeat(5000) }] }, 400, 'messages'],
  ['completions: missing prompt', COMPLETIONS, { model: MODEL }, 400, 'prompt'],
  ['completions: numeric prompt', COMPLETIONS, { model: MODEL, prompt: 12 }, 400, 'prompt'],
  ['completions: two prompts', COMPLETIONS, { model: MODEL, prompt: ['a', 'b'] }, 400, 'prompt'],
  ['completions: token-id prompt', COMPLETIONS, { model: MODEL, prompt: [1, 2, 3] }, 400, 'prompt'],
  ['completions: empty prompt', COMPLETIONS, { model: MODEL, prompt: '' }, 400, 'prompt'],
  ['completions: suffix', COMPLETIONS, { model: MODEL, prompt: 'a', suffix: 'b' }, 400, 'suffix'],
  ['completions: huge max_tokens', COMPLETIONS, { model: MODEL, prompt: 'a', max_tokens: 1e9 }, 400, 'max_tokens'],
];

async function send(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return SELF.fetch(`http://worker${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload, ...init });
}

async function expectError(res: Response, status: number, param?: string | null) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const { error } = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof error.message).toBe('string');
  expect((error.message as string).length).toBeGreaterThan(0);
  expect(typeof error.code).toBe('string');
  expect(error.type).toMatch(/^(invalid_request_error|rate_limit_error)$/);
  if (param !== undefined) expect(error.param).toBe(param);
}

describe('hostile input', () => {
  it(`has at least 50 cases`, () => expect(CASES.length).toBeGreaterThanOrEqual(50));

  it.each<Case>(CASES)('%s → %i', async (_label, path, body, status, param) => {
    await expectError(await send(path, body), status, param);
  });

  it('wrong methods, unknown routes and content types', async () => {
    await expectError(await SELF.fetch(`http://worker${CHAT}`), 405);
    await expectError(await SELF.fetch('http://worker/v1/models', { method: 'PUT' }), 405);
    await expectError(await SELF.fetch('http://worker/v1/../../etc/passwd'), 404);
    await expectError(await SELF.fetch('http://worker/v1/engines'), 404);
    await expectError(await send(CHAT, ok, { headers: { 'content-type': 'text/plain' } }), 415);
    await expectError(await send(CHAT, ok, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
    await expectError(await SELF.fetch('http://worker/v1/backend?simd=maybe'), 400, 'simd');
    await expectError(await SELF.fetch('http://worker/v1/backend?memory_gb=-1'), 400, 'memory_gb');
  });

  it('keeps serving: health and a real completion, streamed and not, after all of the above', async () => {
    expect((await SELF.fetch('http://worker/health')).status).toBe(200);
    const res = await send(CHAT, { ...ok, seed: 1 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
    const stream = await send(CHAT, { ...ok, stream: true });
    expect((await stream.text()).endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
