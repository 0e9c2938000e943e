// Route tests inside workerd (house style H22: app.request(), no server): the OpenAI routes on
// the default edge pack, SSE bytes, usage, stop sequences, seed determinism, reasoning on /
// off / budgeted, tool calls, abort, queueing, auth, CORS and every error status.
import { describe, expect, it } from 'vitest';
import { MODEL_ID, app, chat, defaultModel, post, sseEvents, trackedModel } from './served.js';

type Json = Record<string, any>;
const json = async (res: Response) => (await res.json()) as Json;

/** Stream a chat request; returns the parsed chunks (the final [DONE] checked and dropped). */
async function streamChat(a: ReturnType<typeof app>, body: Json) {
  const res = await post(a, '/v1/chat/completions', { ...body, stream: true });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events = sseEvents(await res.text());
  expect(events.pop()).toBe('[DONE]');
  return events.map((e) => JSON.parse(e) as Json);
}

/** What a client reconstructs from chat chunks. */
function foldChat(chunks: Json[]) {
  let reasoning = '';
  let content = '';
  const calls: Json[] = [];
  let finish: string | null = null;
  for (const c of chunks) {
    const choice = c.choices[0];
    if (!choice) continue;
    reasoning += choice.delta.reasoning_content ?? '';
    content += choice.delta.content ?? '';
    for (const tc of choice.delta.tool_calls ?? []) {
      if (tc.id) calls[tc.index] = { id: tc.id, name: tc.function.name, arguments: '' };
      calls[tc.index].arguments += tc.function.arguments;
    }
    finish = choice.finish_reason ?? finish;
  }
  return { reasoning, content, calls, finish };
}

describe('GET routes', () => {
  it('/v1/models lists the served model', async () => {
    const body = await json(await app().request('/v1/models'));
    expect(body).toEqual({ object: 'list', data: [{ id: MODEL_ID, object: 'model', created: 1700000000, owned_by: 'edgetron', max_context: 2048 }] });
  });

  it('/health reports the model and the WASM SIMD backend on its relaxed-SIMD kernel build (workerd runs relaxed SIMD)', async () => {
    expect(await json(await app().request('/health'))).toEqual({ status: 'ok', model: MODEL_ID, backend: 'wasm', build: 'relaxed', running: 0, queued: 0 });
  });

  it('/ serves the demo page: the <edgetron-chat> embed from /embed.js, cross-origin isolated for WebGPU', async () => {
    const res = await app().request('/');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/embed.js"></script>');
    expect(html).toMatch(/<edgetron-chat [^>]*mode="auto"/);
  });

  it('/v1/pack/:file serves the files of the served pack (the embed script\'s local mode); nothing else', async () => {
    const files: Record<string, Uint8Array> = { 'config.json': new TextEncoder().encode('{"a":1}'), 'model-00001-of-00001.safetensors': new Uint8Array([1, 2, 3]) };
    const a = app({ pack: () => ({ name: 'test:', read: async (f) => files[f] ?? null }), corsOrigin: '*' });
    const config = await a.request('/v1/pack/config.json', { headers: { origin: 'https://other.example' } });
    expect(config.status).toBe(200);
    expect(config.headers.get('content-type')).toBe('application/json');
    expect(config.headers.get('access-control-allow-origin')).toBe('*');
    expect(config.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(await config.text()).toBe('{"a":1}');
    const shard = await a.request('/v1/pack/model-00001-of-00001.safetensors');
    expect(new Uint8Array(await shard.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    for (const bad of ['missing.json', '..%2Fsecret.json', 'notes.txt', '.json']) expect((await a.request(`/v1/pack/${bad}`)).status).toBe(404);
    expect((await app().request('/v1/pack/config.json')).status).toBe(404);
  });

  it('/v1/backend advises the client from reported capabilities and client hints', async () => {
    const a = app();
    const get = async (q: string, headers: Record<string, string> = {}) => json(await a.request(`/v1/backend${q}`, { headers }));
    const none = await get('');
    expect(none.server).toEqual({ backend: 'wasm', build: 'relaxed', reason: 'the engine validates the WASM relaxed-SIMD probe' });
    expect(none.client).toMatchObject({ backend: 'wasm', bundle: 'edgetron-wasm-simd.js', memoryGb: null, reason: 'WASM SIMD not reported: every current engine has it (WebGPU not reported)' });
    expect((await get('?webgpu=1&simd=1')).client).toMatchObject({ backend: 'webgpu', bundle: 'edgetron-webgpu.js', reason: 'the client reports a WebGPU adapter' });
    expect((await get('?webgpu=0&simd=1')).client).toMatchObject({ backend: 'wasm', reason: 'WASM SIMD (no WebGPU: the client reports none)' });
    expect((await get('?simd=0')).client).toMatchObject({ backend: 'wasm-scalar', bundle: 'edgetron-wasm.js', reason: 'no WASM SIMD (WebGPU not reported)' });
    expect((await get('?backend=wasm-scalar&webgpu=1')).client).toMatchObject({ backend: 'wasm-scalar', reason: 'requested' });
    expect((await get('', { 'sec-ch-device-memory': '4' })).client.memoryGb).toBe(4);
    const bad = await a.request('/v1/backend?backend=webgl');
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({ param: 'backend', type: 'invalid_request_error' });
  });
});

describe('POST /v1/chat/completions', () => {
  it('an omitted model means the one served (as llama.cpp server); a wrong name stays a 404', async () => {
    const a = app();
    const { model: _, ...rest } = chat({ temperature: 0 });
    const omitted = await json(await post(a, '/v1/chat/completions', rest));
    const named = await json(await post(a, '/v1/chat/completions', chat({ temperature: 0 })));
    expect(omitted.model).toBe(MODEL_ID);
    expect(omitted.choices).toEqual(named.choices);
    const completion = await post(a, '/v1/completions', { prompt: 'Once', max_tokens: 2 });
    expect(completion.status).toBe(200);
    expect((await post(a, '/v1/chat/completions', chat({ model: 'gpt-4o' }))).status).toBe(404);
  });

  it('non-streaming: one chat.completion with usage; reasoning by default', async () => {
    const body = await json(await post(app(), '/v1/chat/completions', chat()));
    expect(body).toMatchObject({ object: 'chat.completion', model: MODEL_ID, choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant' } }] });
    expect(body.id).toMatch(/^chatcmpl-/);
    const prompt = (await defaultModel()).session.text!.encodeChat([{ role: 'user', content: 'Hello there' }]).length;
    expect(body.usage).toEqual({ prompt_tokens: prompt, completion_tokens: 8, total_tokens: prompt + 8, completion_tokens_details: { reasoning_tokens: 8 } });
    expect(body.choices[0].message.reasoning_content.length).toBeGreaterThan(0);
  });

  it('streaming: a role chunk, one chunk per delta, the finish chunk, usage, then data: [DONE] — the same text as non-streaming', async () => {
    const a = app();
    const chunks = await streamChat(a, chat({ stream_options: { include_usage: true } }));
    expect(chunks[0].choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.id).toBe(chunks[0].id);
    }
    const usage = chunks.pop()!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBe(8);
    expect(chunks.at(-1)!.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'length' });
    const whole = await json(await post(a, '/v1/chat/completions', chat()));
    const folded = foldChat(chunks);
    expect(folded.reasoning).toBe(whole.choices[0].message.reasoning_content);
    expect(folded.content).toBe(whole.choices[0].message.content);
  });

  it('streams the exact bytes: data: {chunk}\\n\\n per token, then data: [DONE]\\n\\n', async () => {
    const text = (await defaultModel()).session.text!;
    const forced = 'Four score and seven';
    const res = await post(app(), '/v1/chat/completions', chat({ stream: true, x_force_output: forced, reasoning_effort: 'none', max_tokens: 20 }));
    const body = await res.text();
    const first = JSON.parse(sseEvents(body)[0]);
    const chunk = (delta: Json, finish: string | null) =>
      `data: ${JSON.stringify({ id: first.id, object: 'chat.completion.chunk', created: first.created, model: MODEL_ID, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    const pieces = text.encode(forced).map((id) => text.decode([id]));
    const expected = chunk({ role: 'assistant', content: '' }, null) + pieces.map((p) => chunk({ content: p }, null)).join('') + chunk({}, 'stop') + 'data: [DONE]\n\n';
    expect(body).toBe(expected);
  });

  it('without include_usage the stream has no usage chunk', async () => {
    const chunks = await streamChat(app(), chat());
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
  });

  it('the same seed gives the same answer; another seed a different one', async () => {
    const a = app();
    const answer = async (seed: number) => (await json(await post(a, '/v1/chat/completions', chat({ seed, max_tokens: 12 })))).choices[0].message.reasoning_content;
    expect(await answer(11)).toBe(await answer(11));
    expect(await answer(11)).not.toBe(await answer(12));
  });

  it('greedy (temperature 0) ignores the seed', async () => {
    const a = app();
    const answer = async (seed: number) => (await json(await post(a, '/v1/chat/completions', chat({ seed, temperature: 0 })))).choices[0].message.reasoning_content;
    expect(await answer(1)).toBe(await answer(2));
  });

  it('a stop sequence ends the answer before it, with finish_reason stop, streamed and not', async () => {
    const a = app();
    const forced = 'Four score and seven years ago';
    const base = chat({ x_force_output: forced, reasoning_effort: 'none', max_tokens: 30 });
    const full = await json(await post(a, '/v1/chat/completions', { ...base, stop: 'NOT THERE' }));
    expect(full.choices[0].message.content).toBe(forced);
    const stopped = await json(await post(a, '/v1/chat/completions', { ...base, stop: ['xyz', 'seven'] }));
    expect(stopped.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Four score and ' } });
    expect(stopped.usage.completion_tokens).toBeLessThan(full.usage.completion_tokens);
    const streamed = foldChat(await streamChat(a, { ...base, stop: ['and s'] }));
    expect(streamed).toMatchObject({ content: 'Four score ', finish: 'stop' });
  });

  it('reasoning off (enable_thinking=false or reasoning_effort none): everything is content', async () => {
    const a = app();
    for (const extra of [{ chat_template_kwargs: { enable_thinking: false } }, { reasoning_effort: 'none' }]) {
      const body = await json(await post(a, '/v1/chat/completions', chat(extra)));
      expect(body.choices[0].message.reasoning_content).toBeUndefined();
      expect(body.choices[0].message.content.length).toBeGreaterThan(0);
      expect(body.usage.completion_tokens_details.reasoning_tokens).toBe(0);
    }
  });

  it('reasoning budgeted: max_reasoning_tokens forces </think> within budget + grace, then the answer streams as content', async () => {
    const a = app();
    for (const budget of [0, 3]) {
      const chunks = await streamChat(a, chat({ max_reasoning_tokens: budget, max_tokens: 40, stream_options: { include_usage: true } }));
      const usage = chunks.at(-1)!.usage;
      const folded = foldChat(chunks);
      // reasoning tokens = budget + at most grace (16) + the forced newline and </think>
      expect(usage.completion_tokens_details.reasoning_tokens).toBeGreaterThanOrEqual(budget + 2);
      expect(usage.completion_tokens_details.reasoning_tokens).toBeLessThanOrEqual(budget + 16 + 2);
      expect(folded.reasoning.endsWith('\n')).toBe(true);
      expect(folded.content.length).toBeGreaterThan(0);
      expect(chunks.some((c) => c.choices[0]?.delta.reasoning_content !== undefined && c.choices[0]?.delta.content !== undefined)).toBe(false);
    }
    // reasoning_effort low maps to a budget of 128: more reasoning than max_tokens allows, so all 24 are reasoning
    const low = await json(await post(a, '/v1/chat/completions', chat({ reasoning_effort: 'low', max_tokens: 24 })));
    expect(low.usage.completion_tokens_details.reasoning_tokens).toBe(24);
  });

  it('tools: a tool call split over many tokens comes back as tool_calls deltas with finish_reason tool_calls', async () => {
    const a = app();
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } }];
    const call = '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>';
    const text = (await defaultModel()).session.text!;
    expect(text.encode(call).length).toBeGreaterThan(20);
    const base = chat({ messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, x_force_output: `Sure.${call}`, reasoning_effort: 'none', max_tokens: 300 });
    const chunks = await streamChat(a, base);
    const folded = foldChat(chunks);
    expect(folded.content).toBe('Sure.');
    expect(folded.finish).toBe('tool_calls');
    expect(folded.calls).toHaveLength(1);
    expect(folded.calls[0].name).toBe('get_weather');
    expect(JSON.parse(folded.calls[0].arguments)).toEqual({ city: 'Paris', days: 3 });
    expect(chunks.filter((c) => c.choices[0]?.delta.tool_calls).length).toBeGreaterThanOrEqual(3);
    const whole = await json(await post(a, '/v1/chat/completions', base));
    expect(whole.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { content: 'Sure.', tool_calls: [{ type: 'function', function: { name: 'get_weather' } }] } });
    expect(JSON.parse(whole.choices[0].message.tool_calls[0].function.arguments)).toEqual({ city: 'Paris', days: 3 });
  });

  it('tool results come back as role tool messages and are rendered into the prompt', async () => {
    const model = await defaultModel();
    const messages = [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny, 21 C' },
    ];
    const body = await json(await post(app(), '/v1/chat/completions', chat({ messages, max_tokens: 4 })));
    const rendered = model.session.text!.renderChat([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: 'sunny, 21 C', tool_call_id: 'c1' },
    ]);
    expect(rendered).toContain('<tool_response>\nsunny, 21 C\n</tool_response>');
    expect(rendered).toContain('<function=get_weather>\n<parameter=city>\nParis\n</parameter>');
    expect(body.usage.prompt_tokens).toBe(model.session.text!.encode(rendered).length);
  });

  it('tool_choice none leaves the tools out of the prompt and does not parse calls', async () => {
    const a = app();
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }];
    const call = '<tool_call>\n<function=f>\n</function>\n</tool_call>';
    const withTools = await json(await post(a, '/v1/chat/completions', chat({ tools, max_tokens: 1 })));
    const none = await json(await post(a, '/v1/chat/completions', chat({ tools, tool_choice: 'none', x_force_output: call, reasoning_effort: 'none', max_tokens: 40 })));
    expect(none.usage.prompt_tokens).toBeLessThan(withTools.usage.prompt_tokens);
    expect(none.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: call } });
  });

  it('a client that goes away aborts the generation, frees its sequence and its slot', async () => {
    const model = await trackedModel();
    const a = app({ concurrency: 1, maxQueue: 0 }, model);
    const res = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 200 }));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    expect(model.live()).toBe(1);
    await reader.cancel();
    expect(model.live()).toBe(0);
    expect((await json(await a.request('/health'))).running).toBe(0);
    expect((await post(a, '/v1/chat/completions', chat({ max_tokens: 2 }))).status).toBe(200);
    expect(model.live()).toBe(0);
  });

  it('a failure after the stream started ends it with one OpenAI-shaped error chunk, and gives its slot back', async () => {
    const model = await trackedModel(3);
    const a = app({}, model);
    const res = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 20 }));
    expect(res.status).toBe(200);
    const events = sseEvents(await res.text());
    expect(events).not.toContain('[DONE]');
    const last = JSON.parse(events.at(-1)!);
    expect(last).toEqual({ error: { message: 'internal error: Error: simulated backend failure', type: 'server_error', param: null, code: 'internal_error' } });
    expect(events.slice(0, -1).every((e) => JSON.parse(e).object === 'chat.completion.chunk')).toBe(true);
    expect(model.live()).toBe(0);
    expect(await json(await a.request('/health'))).toMatchObject({ running: 0, queued: 0 });
  });

  it('a failure before the answer starts is a 500 JSON error, and gives its slot back', async () => {
    const model = await trackedModel(0);
    const a = app({}, model);
    const res = await post(a, '/v1/chat/completions', chat());
    expect(res.status).toBe(500);
    expect((await json(res)).error).toMatchObject({ type: 'server_error', code: 'internal_error' });
    expect(model.live()).toBe(0);
    expect(await json(await a.request('/health'))).toMatchObject({ running: 0, queued: 0 });
  });
});

describe('POST /v1/completions', () => {
  it('streams text_completion chunks with usage and matches the non-streamed text', async () => {
    const a = app();
    const req = { model: MODEL_ID, prompt: 'Four score', max_tokens: 6, seed: 3 };
    const whole = await json(await post(a, '/v1/completions', req));
    expect(whole).toMatchObject({ object: 'text_completion', choices: [{ index: 0, finish_reason: 'length', logprobs: null }] });
    expect(whole.usage).toMatchObject({ completion_tokens: 6 });
    const res = await post(a, '/v1/completions', { ...req, stream: true, stream_options: { include_usage: true } });
    const events = sseEvents(await res.text());
    expect(events.pop()).toBe('[DONE]');
    const chunks = events.map((e) => JSON.parse(e));
    expect(chunks.pop().usage).toEqual(whole.usage);
    expect(chunks.at(-1).choices[0]).toMatchObject({ text: '', finish_reason: 'length' });
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe(whole.choices[0].text);
  });

  it('prompt as an array of one string; stop sequences apply', async () => {
    const a = app();
    const body = await json(await post(a, '/v1/completions', { model: MODEL_ID, prompt: ['Four score'], max_tokens: 12, temperature: 0 }));
    const text: string = body.choices[0].text;
    const stop = text.slice(3, 5);
    const cut = await json(await post(a, '/v1/completions', { model: MODEL_ID, prompt: 'Four score', max_tokens: 12, temperature: 0, stop }));
    expect(cut.choices[0]).toMatchObject({ text: text.slice(0, text.indexOf(stop)), finish_reason: 'stop' });
  });
});

describe('load, auth, CORS and error statuses', () => {
  it('429 with Retry-After when every slot is busy and the queue is full; queued requests run in turn', async () => {
    const a = app({ concurrency: 1, maxQueue: 1, retryAfterS: 3 });
    const first = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 200 }));
    const second = post(a, '/v1/chat/completions', chat({ max_tokens: 2 }));
    const third = await post(a, '/v1/chat/completions', chat({ max_tokens: 2 }));
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('3');
    expect((await json(third)).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    await first.body!.cancel();
    expect((await second).status).toBe(200);
  });

  it('prompt over the context limit: 400 context_length_exceeded', async () => {
    const long = 'the '.repeat(2500);
    const res = await post(app(), '/v1/chat/completions', chat({ messages: [{ role: 'user', content: long }] }));
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'context_length_exceeded', param: 'messages', type: 'invalid_request_error' });
    const res2 = await post(app(), '/v1/completions', { model: MODEL_ID, prompt: 'hi', max_tokens: 2100 });
    expect(res2.status).toBe(400);
    expect((await json(res2)).error).toMatchObject({ code: 'context_length_exceeded', param: 'max_tokens' });
  });

  it('bearer key: 401 without or with a wrong key, 200 with it; / and /health stay open', async () => {
    const a = app({ apiKey: 'sekret' });
    const missing = await a.request('/v1/models');
    expect(missing.status).toBe(401);
    expect((await json(missing)).error).toMatchObject({ code: 'invalid_api_key', type: 'invalid_request_error', param: null });
    expect((await a.request('/v1/models', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await a.request('/v1/models', { headers: { authorization: 'Basic sekret' } })).status).toBe(401);
    expect((await a.request('/v1/models', { headers: { authorization: 'Bearer sekret' } })).status).toBe(200);
    expect((await a.request('/health')).status).toBe(200);
    expect((await a.request('/')).status).toBe(200);
  });

  it('CORS: preflight and responses carry the configured origin; none when unset', async () => {
    const a = app({ corsOrigin: 'https://embed.example' });
    const pre = await a.request('/v1/chat/completions', { method: 'OPTIONS', headers: { origin: 'https://embed.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://embed.example');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const res = await a.request('/v1/models', { headers: { origin: 'https://embed.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://embed.example');
    expect((await app({ corsOrigin: '*' }).request('/v1/models', { headers: { origin: 'https://x.example' } })).headers.get('access-control-allow-origin')).toBe('*');
    expect((await app().request('/v1/models', { headers: { origin: 'https://x.example' } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('404 for an unknown route or model, 405 for a wrong method, 413, 415, 503 for an unloadable model', async () => {
    const a = app();
    const status = async (res: Response | Promise<Response>) => {
      const r = await res;
      const body = await json(r);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      return [r.status, body.error.code];
    };
    expect(await status(a.request('/v2/nothing'))).toEqual([404, 'not_found']);
    expect(await status(post(a, '/v1/chat/completions', chat({ model: 'gpt-4o' })))).toEqual([404, 'model_not_found']);
    expect(await status(a.request('/v1/chat/completions'))).toEqual([405, 'method_not_allowed']);
    expect(await status(a.request('/v1/models', { method: 'DELETE' }))).toEqual([405, 'method_not_allowed']);
    expect(await status(post(a, '/v1/chat/completions', 'x'.repeat((1 << 20) + 1)))).toEqual([413, 'payload_too_large']);
    expect(await status(a.request('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }))).toEqual([415, 'unsupported_media_type']);
    expect(await status(post(a, '/v1/chat/completions', '{'))).toEqual([400, 'invalid_json']);
    const { ModelTooLargeError } = await import('../../serve/errors.js');
    const broken = app({ model: () => Promise.reject(new ModelTooLargeError('assets:/packs/small/', 600 * 2 ** 20, 128 * 2 ** 20, 'shards 264 MiB')) });
    const [code, kind] = await status(broken.request('/v1/models'));
    expect([code, kind]).toEqual([503, 'model_unavailable']);
    expect((await json(await broken.request('/health'))).error.message).toMatch(/needs about 600\.0 MiB .* 128 MiB/);
  });

});
