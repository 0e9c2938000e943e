// End to end (runs in Node): the official `openai` client against a real `wrangler dev` on
// 127.0.0.1 serving the default edge pack. The random default model never writes a tool call
// by itself, so the tool-call round trip forces one: with EDGETRON_TEST_HOOKS=1 the request
// field `x_force_output` masks every logit but the next token of the given text (serve/run.ts),
// so the call goes through the real model loop, detokenizer, parser and SSE.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWranglerDev, type WranglerDev } from '../../cli/commands/serve.js';
import { freePort } from '../helpers/free-port.js';

const MODEL = 'edgetron-default';
let dev: WranglerDev;
let base: string;
let client: OpenAI;

const health = async () => (await (await fetch(`${base}/health`)).json()) as { running: number };

beforeAll(async () => {
  dev = spawnWranglerDev({ port: await freePort(), vars: { EDGETRON_TEST_HOOKS: '1', EDGETRON_STALL_TIMEOUT_S: '8' } });
  base = await dev.ready;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await dev?.stop();
  expect(dev.child.exitCode !== null || dev.child.signalCode !== null).toBe(true);
}, 30_000);

describe('openai client against wrangler dev', () => {
  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('serves on the relaxed-SIMD kernel build under wrangler dev (workerd validates relaxed SIMD)', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({ backend: 'wasm', build: 'relaxed' });
  });

  it('streams a chat completion incrementally: the first chunks arrive while the worker is still generating', async () => {
    // A random model may sample a stop token at any step, and on an idle machine the tiny model
    // finishes 400 tokens before the client reads its first chunk; forcing a long text (no stop
    // token can win) keeps the worker generating for well over a second.
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Tell me a story' }],
      max_tokens: 2000,
      stream: true,
      stream_options: { include_usage: true },
      x_force_output: 'Once upon a time there was a small model that ran at the edge. '.repeat(40),
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const arrivals: number[] = [];
    let runningAtFirst = -1;
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      if (delta?.content || delta?.reasoning_content) {
        arrivals.push(performance.now());
        if (arrivals.length === 1) runningAtFirst = (await health()).running;
      }
      text += delta?.reasoning_content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(runningAtFirst).toBe(1);
    expect(arrivals.length).toBeGreaterThan(50);
    expect(arrivals.at(-1)! - arrivals[0]).toBeGreaterThan(0);
    expect(usage!.completion_tokens).toBeGreaterThanOrEqual(arrivals.length);
    expect(text.length).toBeGreaterThan(0);
    expect((await health()).running).toBe(0);
  });

  it('tool-call round trip: tool_calls with finish_reason tool_calls, then the tool result in a role tool message', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris for 2 days?' }];
    const forced = '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>';
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      tools,
      stream: true,
      max_tokens: 300,
      reasoning_effort: 'none',
      x_force_output: forced,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const calls: { id: string; name: string; arguments: string }[] = [];
    let finish: string | null = null;
    let argDeltas = 0;
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
        if (tc.id) calls[tc.index] = { id: tc.id, name: tc.function!.name!, arguments: '' };
        calls[tc.index].arguments += tc.function?.arguments ?? '';
        argDeltas++;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(argDeltas).toBeGreaterThanOrEqual(3);
    expect(calls).toHaveLength(1);
    expect(calls[0].name).toBe('get_weather');
    expect(JSON.parse(calls[0].arguments)).toEqual({ city: 'Paris', days: 2 });

    const first = await client.chat.completions.create({ model: MODEL, messages, tools, max_tokens: 1 });
    const followUp = await client.chat.completions.create({
      model: MODEL,
      tools,
      max_tokens: 8,
      messages: [
        ...messages,
        { role: 'assistant', content: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) },
        { role: 'tool', tool_call_id: calls[0].id, content: '{"forecast": "sunny", "high_c": 21}' },
      ],
    });
    expect(followUp.choices[0].finish_reason).toBe('length');
    expect(followUp.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens + 20);
  });

  it('an abort stops the stream on the client, and the worker keeps serving', async () => {
    const ctl = new AbortController();
    const stream = await client.chat.completions.create(
      // a fixed seed: the random default model then samples no stop token early (deterministic)
      { model: MODEL, messages: [{ role: 'user', content: 'Go on forever' }], max_tokens: 3000, stream: true, seed: 7 },
      { signal: ctl.signal },
    );
    let chunks = 0;
    let finish: string | null = null;
    // the client ends the iteration quietly once its signal aborts (after chunks it had already read)
    for await (const chunk of stream) {
      if (++chunks === 3) ctl.abort();
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(stream.controller.signal.aborted).toBe(true);
    expect(finish).toBeNull();
    expect(chunks).toBeLessThan(3000);
    // Under `wrangler dev` a paused pull stream does not always hear of the disconnect; then the
    // stall timeout (EDGETRON_STALL_TIMEOUT_S, 8 s here) cancels the generation and frees the slot.
    let running = 1;
    for (let waited = 0; waited < 20_000 && running > 0; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
      running = (await health()).running;
    }
    expect(running).toBe(0);
    const after = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    expect(after.usage!.completion_tokens).toBe(2);
  });

  it('more streams than generation slots: the extra requests queue in workerd and all complete', async () => {
    // wrangler.toml allows 4 generations at once and 16 waiting
    const streams = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 24, seed: i, stream: true })),
    );
    const finishes = await Promise.all(
      streams.map(async (stream) => {
        let finish: string | null = null;
        for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
        return finish;
      }),
    );
    expect(finishes.every((f) => f === 'stop' || f === 'length')).toBe(true);
    expect((await health()).running).toBe(0);
  });

  it('errors come back as the openai client error classes', async () => {
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], temperature: -1 })).rejects.toMatchObject({ status: 400, param: 'temperature' });
  });
});
