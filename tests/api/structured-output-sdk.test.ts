// The official OpenAI SDK (openai 6.10.0) against the app (worker/app.ts) on the default model in
// Node: `response_format` json_schema answers, through `chat.completions.create` and `.parse`,
// are valid against their schema by an independent JSON-schema validator (ajv), for many
// seeds and schemas; an unsupported schema feature is a 400 (the SDK's BadRequestError) naming
// it. The SDK's fetch calls the Hono app directly (`app.request`), so no server is started. The
// embed's request with a schema (embed/protocol.ts chatBody, what `el.send(text, { schema })`
// sends in remote mode and the engine worker runs through the same parser in local mode) too.
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmBackend } from '../../assembly/backend/index.js';
import { chatBody } from '../../embed/protocol.js';
import { openSession } from '../../engine/core/session.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { createApp } from '../../worker/app.js';
import type { ServedModel } from '../../serve/run.js';

const PACK = fileURLToPath(new URL('../../assets/packs/default/', import.meta.url));
const MODEL = 'edgetron-default';
const ajv = new Ajv({ strict: false });

const SCHEMAS: Record<string, object> = {
  person: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      age: { type: 'integer' },
      email: { type: ['string', 'null'] },
      tags: { type: 'array', items: { type: 'string', enum: ['x', 'y', 'z'] }, maxItems: 4 },
    },
    required: ['name', 'age', 'email', 'tags'],
    additionalProperties: false,
  },
  order: {
    $defs: { item: { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' }, price: { type: 'number' } }, required: ['sku', 'qty', 'price'], additionalProperties: false } },
    type: 'object',
    properties: {
      id: { type: 'integer' },
      items: { type: 'array', items: { $ref: '#/$defs/item' }, minItems: 1, maxItems: 3 },
      status: { enum: ['open', 'paid', 'shipped'] },
      paid: { type: 'boolean' },
      note: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    },
    required: ['id', 'items', 'status', 'paid', 'note'],
    additionalProperties: false,
  },
  matrix: { type: 'array', items: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 }, minItems: 1, maxItems: 3 },
  choice: { anyOf: [{ type: 'object', properties: { ok: { const: true } }, required: ['ok'], additionalProperties: false }, { type: 'object', properties: { error: { type: 'string' } }, required: ['error'], additionalProperties: false }] },
};

let app: ReturnType<typeof createApp>;
let client: OpenAI;

beforeAll(async () => {
  const session = await openSession(await openCheckpoint(PACK), wasmBackend);
  const served: ServedModel = { id: MODEL, session, maxContext: 2048, created: 1700000000 };
  app = createApp({ model: () => Promise.resolve(served) });
  client = new OpenAI({ baseURL: 'http://edgetron.test/v1', apiKey: 'unused', maxRetries: 0, fetch: async (url, init) => app.request(String(url), init as RequestInit) });
});

const responseFormat = (name: string) => ({ type: 'json_schema' as const, json_schema: { name, strict: true, schema: SCHEMAS[name] as Record<string, unknown> } });

describe('the OpenAI SDK gets schema-valid JSON', () => {
  it('chat.completions.create: every schema, several seeds, thinking on and off', async () => {
    const samples: string[] = [];
    for (const name of Object.keys(SCHEMAS)) {
      for (const seed of [1, 2, 3, 4]) {
        const completion = await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: `Give me a ${name} as JSON.` }],
          response_format: responseFormat(name),
          max_tokens: 200,
          seed,
          ...(seed % 2 === 1 && { reasoning_effort: 'none' as const }),
        });
        const choice = completion.choices[0];
        expect(choice.finish_reason).toBe('stop');
        const content = choice.message.content!;
        samples.push(content);
        expect(ajv.validate(SCHEMAS[name], JSON.parse(content)), `${name} ${seed}: ${content}: ${ajv.errorsText()}`).toBe(true);
      }
    }
    expect(new Set(samples).size).toBeGreaterThan(samples.length / 2); // the seeds matter: not one fixed document
  });

  it('chat.completions.parse: the parsed object, streaming too', async () => {
    const parsed = await client.chat.completions.parse({ model: MODEL, messages: [{ role: 'user', content: 'An order.' }], response_format: responseFormat('order'), max_tokens: 200, seed: 8, reasoning_effort: 'none' });
    const value = parsed.choices[0].message.parsed;
    expect(ajv.validate(SCHEMAS.order, value), ajv.errorsText()).toBe(true);
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'An order.' }], response_format: responseFormat('order'), max_tokens: 200, seed: 8, reasoning_effort: 'none', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(JSON.parse(text)).toEqual(value);
  });

  it("the embed's request (chatBody with a schema, as local and remote mode send it) gets a document of the schema", async () => {
    for (const seed of [1, 2]) {
      const body = chatBody(MODEL, { messages: [{ role: 'user', content: 'Hi' }], maxTokens: 120, thinking: false, thinkingBudget: null, seed, schema: SCHEMAS.person as Record<string, unknown> }, false);
      const res = await app.request('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const content = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content;
      expect(ajv.validate(SCHEMAS.person, JSON.parse(content)), `${content}: ${ajv.errorsText()}`).toBe(true);
    }
  });

  it('an unsupported feature is a BadRequestError naming it', async () => {
    const request = client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: { type: 'object', properties: { day: { type: 'string', format: 'date' } }, required: ['day'] } } },
    });
    await expect(request).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(request).rejects.toMatchObject({ status: 400, param: 'response_format.json_schema.schema', message: expect.stringContaining("#/properties/day/format: 'format' is not supported") });
  });
});
