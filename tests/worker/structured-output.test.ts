// Route tests inside workerd: `response_format` enforced in decoding (engine/text/json-schema-grammar.ts
// through serve/run.ts) on the random-weights default model. json_schema answers parse and fit
// their schema for many seeds and schemas, with thinking on or off, streamed or not; schemas the
// grammar cannot enforce, malformed schemas and a max_tokens too small for the shortest document
// are 400s before generation. (The same answers are checked by a real JSON-schema validator, ajv,
// through the official OpenAI SDK in tests/api/structured-output-sdk.test.ts: ajv compiles
// validators with `new Function`, which workerd does not allow.)
import { describe, expect, it } from 'vitest';
import { app, chat, post, sseEvents } from './served.js';

type Json = Record<string, any>;
const jsonSchema = (schema: unknown) => ({ type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } });
const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer' },
    tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, maxItems: 3 },
    home: { anyOf: [{ type: 'null' }, { type: 'object', properties: { lat: { type: 'number' }, lon: { type: 'number' } }, required: ['lat', 'lon'], additionalProperties: false }] },
  },
  required: ['name', 'age', 'tags', 'home'],
  additionalProperties: false,
};

/** PERSON checked by hand: exactly its keys, each of its type. */
function expectPerson(v: Json) {
  expect(Object.keys(v).sort()).toEqual(['age', 'home', 'name', 'tags']);
  expect(v.name).toBeTypeOf('string');
  expect(Number.isInteger(v.age)).toBe(true);
  expect(v.tags.length).toBeLessThanOrEqual(3);
  for (const t of v.tags) expect(['a', 'b', 'c']).toContain(t);
  if (v.home !== null) {
    expect(Object.keys(v.home).sort()).toEqual(['lat', 'lon']);
    expect(v.home.lat).toBeTypeOf('number');
    expect(v.home.lon).toBeTypeOf('number');
  }
}

const answer = async (body: Json) => {
  const res = await post(app(), '/v1/chat/completions', body);
  const json = (await res.json()) as Json;
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.choices[0] as Json;
};

const refused = async (body: Json) => {
  const res = await post(app(), '/v1/chat/completions', body);
  expect(res.status).toBe(400);
  return ((await res.json()) as Json).error as Json;
};

describe('response_format json_schema', () => {
  it('answers with a document of the schema, whatever the seed, with thinking off and on', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const thinking = seed % 2 === 0;
      const choice = await answer(chat({ response_format: jsonSchema(PERSON), max_tokens: 160, temperature: 1, seed, ...(!thinking && { reasoning_effort: 'none' }) }));
      expect(choice.finish_reason).toBe('stop');
      expect(choice.message.content).toMatch(/^\{[^]*\}$/); // exactly the document: nothing around it
      expectPerson(JSON.parse(choice.message.content));
      if (!thinking) expect(choice.message.reasoning_content ?? '').toBe('');
    }
  });

  it('streams the same document as the non-streamed answer, in several chunks', async () => {
    const body = chat({ response_format: jsonSchema(PERSON), max_tokens: 120, seed: 11, reasoning_effort: 'none' });
    const whole = await answer(body);
    const res = await post(app(), '/v1/chat/completions', { ...body, stream: true });
    const events = sseEvents(await res.text());
    expect(events.pop()).toBe('[DONE]');
    const pieces = events.map((e) => (JSON.parse(e) as Json).choices[0]?.delta?.content ?? '').filter((c: string) => c);
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe(whole.message.content);
    expectPerson(JSON.parse(pieces.join('')));
  });

  it('enums, consts, nested arrays and type arrays hold at the shortest max_tokens that fits', async () => {
    const schema = { type: 'object', properties: { k: { const: 'v' }, m: { type: 'array', items: { type: 'array', items: { type: ['integer', 'boolean'] }, minItems: 1 }, minItems: 2 } }, required: ['k', 'm'], additionalProperties: false };
    // too small: a 400 that says how many tokens the shortest document needs
    const err = await refused(chat({ response_format: jsonSchema(schema), max_tokens: 3, reasoning_effort: 'none' }));
    expect(err.param).toBe('max_tokens');
    const need = Number(/needs (\d+) tokens/.exec(err.message)![1]);
    expect(need).toBeGreaterThan(3);
    expect((await refused(chat({ response_format: jsonSchema(schema), max_tokens: need - 1, reasoning_effort: 'none' }))).param).toBe('max_tokens');
    for (const seed of [1, 2, 3]) {
      const choice = await answer(chat({ response_format: jsonSchema(schema), max_tokens: need, seed, reasoning_effort: 'none' }));
      const v = JSON.parse(choice.message.content);
      expect(v.k).toBe('v');
      expect(v.m.length).toBeGreaterThanOrEqual(2);
      for (const row of v.m) {
        expect(row.length).toBeGreaterThanOrEqual(1);
        for (const x of row) expect(typeof x === 'boolean' || Number.isInteger(x)).toBe(true);
      }
    }
  });
});

describe('response_format json_object and text', () => {
  it('json_object: a JSON object', async () => {
    for (const seed of [1, 2, 3]) {
      const choice = await answer(chat({ response_format: { type: 'json_object' }, max_tokens: 60, seed, reasoning_effort: 'none' }));
      const v = JSON.parse(choice.message.content);
      expect(v).toBeTypeOf('object');
      expect(Array.isArray(v)).toBe(false);
    }
  });

  it('text: no constraint (the same answer as without response_format), which is not JSON', async () => {
    const body = chat({ max_tokens: 30, seed: 4, reasoning_effort: 'none' });
    const plain = await answer(body);
    expect((await answer({ ...body, response_format: { type: 'text' } })).message.content).toBe(plain.message.content);
    expect(() => JSON.parse(plain.message.content)).toThrow();
  });
});

describe('response_format refused', () => {
  it('a feature the grammar cannot enforce: 400 naming it and its path', async () => {
    const schema = { type: 'object', properties: { zip: { type: 'string', pattern: '^[0-9]{5}$' } }, required: ['zip'] };
    const err = await refused(chat({ response_format: jsonSchema(schema) }));
    expect(err).toMatchObject({ type: 'invalid_request_error', param: 'response_format.json_schema.schema', code: 'unsupported_value' });
    expect(err.message).toContain('#/properties/zip/pattern');
    expect(err.message).toContain("'pattern'");
  });

  it('malformed schemas and formats: 400 on the field', async () => {
    const cases: [unknown, string][] = [
      [jsonSchema({ type: 'object', properties: { a: { type: 'string' } }, required: ['b'] }), 'response_format.json_schema.schema'],
      [jsonSchema({ enum: [] }), 'response_format.json_schema.schema'],
      [jsonSchema({ type: 'float' }), 'response_format.json_schema.schema'],
      [{ type: 'json_schema', json_schema: { name: 'x' } }, 'response_format.json_schema.schema'],
      [{ type: 'json_schema' }, 'response_format.json_schema'],
      [{ type: 'yaml' }, 'response_format.type'],
      ['json', 'response_format'],
    ];
    for (const [format, param] of cases) expect((await refused(chat({ response_format: format }))).param, JSON.stringify(format)).toBe(param);
  });

  it('together with a forced tool call', async () => {
    const tool = { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } };
    expect((await refused(chat({ response_format: { type: 'json_object' }, tools: [tool], tool_choice: 'required' }))).param).toBe('response_format');
  });
});
