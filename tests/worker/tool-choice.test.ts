// Route tests inside workerd: tool_choice is enforced in decoding (engine/text/tool-constraint.ts via
// serve/run.ts). On the random-weights default model, "required" and a named function always
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

describe('tool_choice "required" at any max_tokens (issue 24: "length" with a cut call, or arguments without `city`)', () => {
  const CITY = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } }, required: ['city'] } } };

  /** A complete call with its required argument, or a 400 on max_tokens saying what it needs; that need. */
  async function callOrRefusal(a: ReturnType<typeof app>, maxTokens: number, thinking: boolean, seed: number): Promise<number | null> {
    const res = await post(a, '/v1/chat/completions', chat({ tools: [CITY], tool_choice: 'required', max_tokens: maxTokens, seed, ...(!thinking && { reasoning_effort: 'none' }) }));
    const body = (await res.json()) as Json;
    if (res.status === 400) {
      expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'max_tokens' });
      return Number(/needs (\d+) tokens/.exec(body.error.message)![1]);
    }
    expect(res.status).toBe(200);
    const call = onlyCall(body);
    expect(call.name).toBe('get_weather');
    expect(call.args.city).toBeTypeOf('string');
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(maxTokens);
    return null;
  }

  it('every max_tokens from 1 to 40, and around the shortest call, thinking on and off', async () => {
    const a = app();
    for (const thinking of [true, false]) {
      const needs = new Set<number>();
      for (let maxTokens = 1; maxTokens <= 40; maxTokens++) {
        const need = await callOrRefusal(a, maxTokens, thinking, maxTokens);
        if (need !== null) {
          expect(need).toBeGreaterThan(maxTokens);
          needs.add(need);
        }
      }
      // one need whatever max_tokens; below it a 400, from it on a complete call, for several seeds
      expect(needs.size).toBe(1);
      const need = [...needs][0];
      expect(await callOrRefusal(a, need - 1, thinking, 1)).toBe(need);
      for (let maxTokens = need; maxTokens < need + 6; maxTokens++) expect(await callOrRefusal(a, maxTokens, thinking, maxTokens)).toBeNull();
    }
  });
});

describe('tool schemas are checked', () => {
  it('a required name missing from properties, an empty enum, an unknown type, a bad property name: 400 on the tool', async () => {
    const tool = (parameters: unknown) => ({ type: 'function', function: { name: 'f', parameters } });
    const bad = [
      { type: 'object', properties: { city: { type: 'string' } }, required: ['town'] },
      { type: 'object', properties: { unit: { type: 'string', enum: [] } } },
      { type: 'object', properties: { n: { type: 'int' } } },
      { type: 'object', properties: { o: { type: 'object', properties: { x: {} }, required: ['y'] } } },
      { type: 'object', properties: { 'a<b': { type: 'string' } } },
    ];
    for (const parameters of bad) {
      const res = await post(app(), '/v1/chat/completions', chat({ tools: [tool(parameters)] }));
      expect(res.status, JSON.stringify(parameters)).toBe(400);
      expect(((await res.json()) as Json).error.param).toMatch(/^tools\[0\]\.function\.parameters/);
    }
    // features the call cannot enforce (format, minimum…) are accepted in tools: the structure still holds
    const ok = await post(app(), '/v1/chat/completions', chat({ tools: [tool({ type: 'object', properties: { d: { type: 'string', format: 'date' }, n: { type: 'integer', minimum: 1 } } })] }));
    expect(ok.status).toBe(200);
  });

  it('nested object and array arguments follow their schema', async () => {
    const PLAN = {
      type: 'function',
      function: {
        name: 'plan',
        parameters: {
          type: 'object',
          properties: {
            stops: { type: 'array', items: { type: 'object', properties: { at: { type: 'integer' }, mode: { enum: ['bus', 'walk'] } }, required: ['at', 'mode'], additionalProperties: false }, minItems: 1 },
            meta: { type: 'object', properties: { fast: { type: 'boolean' } }, required: ['fast'], additionalProperties: false },
          },
          required: ['stops', 'meta'],
        },
      },
    };
    for (const seed of [1, 2, 3, 4]) {
      const { args } = onlyCall(await complete(app(), chat({ tools: [PLAN], tool_choice: 'required', reasoning_effort: 'none', max_tokens: 200, seed })));
      expect(args.stops.length).toBeGreaterThanOrEqual(1);
      for (const s of args.stops) {
        expect(Object.keys(s).sort()).toEqual(['at', 'mode']);
        expect(Number.isInteger(s.at)).toBe(true);
        expect(['bus', 'walk']).toContain(s.mode);
      }
      expect(args.meta).toEqual({ fast: expect.any(Boolean) });
    }
  });
});
