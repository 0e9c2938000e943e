// Route tests inside workerd: tool_choice is enforced in decoding (engine/tool-constraint.ts via
// worker/run.ts). On the random-weights default model, "required" and a named function always
// give one call with schema-valid JSON arguments, whatever the seed and even against logits
// pushed toward stopping; "none" keeps `<tool_call>` out against logits pushed toward writing
// one, which "auto" then does write (so that test can fail).
import { describe, expect, it } from 'vitest';
import { app, biasedModel, chat, defaultModel, post, sseEvents } from './served.js';

type Json = Record<string, any>;
const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather forecast',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city', 'days'],
    },
  },
};
const ADD = {
  type: 'function',
  function: { name: 'add', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } },
};
const CALL = '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>';

const complete = async (a: ReturnType<typeof app>, body: Json) => {
  const res = await post(a, '/v1/chat/completions', body);
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
};

/** The one call of a chat.completion, its arguments parsed. */
function onlyCall(body: Json) {
  const choice = body.choices[0];
  expect(choice.finish_reason).toBe('tool_calls');
  expect(choice.message.tool_calls).toHaveLength(1);
  const { function: fn, id, type } = choice.message.tool_calls[0];
  expect(id).toMatch(/^call_/);
  expect(type).toBe('function');
  return { name: fn.name as string, args: JSON.parse(fn.arguments) as Json, content: choice.message.content as string | null };
}

function expectWeatherArgs(args: Json) {
  expect(args.city).toBeTypeOf('string');
  expect(Number.isInteger(args.days)).toBe(true);
  if ('unit' in args) expect(['c', 'f']).toContain(args.unit);
  expect(Object.keys(args).every((k) => ['city', 'days', 'unit'].includes(k))).toBe(true);
}

describe('tool_choice "required"', () => {
  it('always answers with one call whose arguments fit the schema, whatever the seed', async () => {
    const a = app();
    for (const seed of [1, 2, 3, 4, 5]) {
      const body = await complete(a, chat({ tools: [WEATHER, ADD], tool_choice: 'required', reasoning_effort: 'none', max_tokens: 200, temperature: 1, seed }));
      const call = onlyCall(body);
      expect(call.content).toBeNull();
      if (call.name === 'add') expect(call.args).toEqual({ a: expect.any(Number), b: expect.any(Number) });
      else expectWeatherArgs(call.args);
    }
  });

  it('with thinking on, reasons first and still calls in time', async () => {
    const body = await complete(app(), chat({ tools: [WEATHER], tool_choice: 'required', max_tokens: 120, seed: 3 }));
    expectWeatherArgs(onlyCall(body).args);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(120);
  });

  it('overrules a model that wants to stop at once', async () => {
    const served = await defaultModel();
    const stops = served.session.stopIds;
    const model = await biasedModel((logits) => stops.forEach((id) => (logits[id] += 1e4)));
    const body = await complete(app({}, model), chat({ tools: [WEATHER], tool_choice: 'required', reasoning_effort: 'none', max_tokens: 200 }));
    expectWeatherArgs(onlyCall(body).args);
  });
});

describe('tool_choice naming a function', () => {
  it('streams a call to that function, its arguments split over chunks that join into JSON', async () => {
    const res = await post(app(), '/v1/chat/completions', chat({ tools: [WEATHER, ADD], tool_choice: { type: 'function', function: { name: 'add' } }, reasoning_effort: 'none', max_tokens: 200, seed: 9, stream: true }));
    const events = sseEvents(await res.text());
    expect(events.pop()).toBe('[DONE]');
    const chunks = events.map((e) => JSON.parse(e) as Json);
    const pieces = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(pieces[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'add', arguments: '' } });
    expect(pieces.length).toBeGreaterThan(2);
    expect(JSON.parse(pieces.map((p: Json) => p.function.arguments).join(''))).toEqual({ a: expect.any(Number), b: expect.any(Number) });
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
  });
});

describe('tool_choice "none" and "auto"', () => {
  /** A model pushed, token by token, to write CALL and stop. */
  async function callWriter() {
    const served = await defaultModel();
    const target = [...served.session.text!.encode(CALL), served.session.stopIds[0]];
    return biasedModel((logits, step) => {
      if (step < target.length) logits[target[step]] += 1e4;
    });
  }

  it('"auto" lets the pushed model call (the push works)', async () => {
    const body = await complete(app({}, await callWriter()), chat({ tools: [WEATHER], tool_choice: 'auto', reasoning_effort: 'none', max_tokens: 100 }));
    expect(onlyCall(body)).toMatchObject({ name: 'get_weather', args: { city: 'Paris', days: 3 } });
  });

  it('"none" keeps <tool_call> out of the same pushed model', async () => {
    const body = await complete(app({}, await callWriter()), chat({ tools: [WEATHER], tool_choice: 'none', reasoning_effort: 'none', max_tokens: 100 }));
    const choice = body.choices[0];
    expect(choice.message.tool_calls).toBeUndefined();
    expect(choice.finish_reason).not.toBe('tool_calls');
    expect(choice.message.content).not.toContain('<tool_call>');
    expect(choice.message.content).toContain('<tool_call'); // it got as far as the tag allows
  });
});
