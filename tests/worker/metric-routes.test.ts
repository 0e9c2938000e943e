// Route tests inside workerd (house style H22: app.request(), no server) for
// worker/metric-routes.ts on the default edge pack: embeddings (shape, mean pooling,
// determinism), a classifier's round trip through the CLASSIFIERS KV namespace (miniflare),
// and a 4xx for every kind of bad input.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ticketSplit, TICKET_TEAMS } from '../../lab/tickets.js';
import { MODEL_ID, app, defaultModel } from './served.js';

type Json = Record<string, any>;
const a = app();
const bindings = env as unknown as { CLASSIFIERS: { get(k: string): Promise<string | null> } };

function post(path: string, body: unknown, withEnv = true) {
  const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) };
  return withEnv ? a.request(path, init, env) : a.request(path, init);
}

describe('POST /v1/embeddings', () => {
  it('returns one d-wide embedding per input: the mean of the final-normed hidden rows', async () => {
    const res = await post('/v1/embeddings', { model: MODEL_ID, input: ['the vpn is down', 'printer jam'] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    const served = await defaultModel();
    const { model, text } = served.session;
    const d = model.config.dModel;
    expect(body.object).toBe('list');
    expect(body.model).toBe(MODEL_ID);
    expect(body.data.map((e: Json) => [e.object, e.index, e.embedding.length])).toEqual([['embedding', 0, d], ['embedding', 1, d]]);
    const ids = text!.encode('printer jam');
    expect(body.usage).toEqual({ prompt_tokens: text!.encode('the vpn is down').length + ids.length, total_tokens: text!.encode('the vpn is down').length + ids.length });
    // independent pooling: the hidden rows of the same tokens, averaged here
    const seq = model.newSequence(ids.length);
    const h = model.hidden(seq, Int32Array.from(ids));
    seq.free();
    const mean = Array.from({ length: d }, (_, c) => ids.reduce((s, _t, t) => s + h[t * d + c], 0) / ids.length);
    body.data[1].embedding.forEach((v: number, c: number) => expect(v).toBeCloseTo(mean[c], 6));
  });

  it('is deterministic and independent of the batch: an input alone equals it inside a batch', async () => {
    const one = (await (await post('/v1/embeddings', { input: 'printer jam' })).json()) as Json;
    const again = (await (await post('/v1/embeddings', { input: 'printer jam' })).json()) as Json;
    const batch = (await (await post('/v1/embeddings', { input: ['wifi drops', 'printer jam'] })).json()) as Json;
    expect(again.data[0].embedding).toEqual(one.data[0].embedding);
    expect(batch.data[1].embedding).toEqual(one.data[0].embedding);
    expect(batch.data[0].embedding).not.toEqual(one.data[0].embedding);
  });
});

describe('classifiers through KV', () => {
  const { train } = ticketSplit(0, 3); // 12 tickets, 3 per team
  const examples = train.map((t) => ({ text: t.text, label: TICKET_TEAMS[t.team] }));

  it('POST /v1/classifiers fits and stores; POST /v1/classify reads it back and routes a known ticket', async () => {
    const res = await post('/v1/classifiers', { examples, sweeps: 2, k: 1, seed: 3 });
    expect(res.status).toBe(201);
    const clf = (await res.json()) as Json;
    expect(clf).toMatchObject({ object: 'classifier', model: MODEL_ID, labels: [...TICKET_TEAMS], examples: 12, k: 1 });
    expect(clf.id).toMatch(/^clf-[0-9a-f]{32}$/);
    expect(clf.energy.final).toBeLessThanOrEqual(clf.energy.initial);
    const stored = JSON.parse((await bindings.CLASSIFIERS.get(`classifier:${clf.id}`))!);
    expect(stored.examples).toHaveLength(12);
    expect(stored.metric.format).toBe('edgetron-metric');

    const out = (await (await post('/v1/classify', { classifier: clf.id, input: [examples[5].text, examples[2].text] })).json()) as Json;
    expect(out.classifier).toBe(clf.id);
    // each input is a training example: its nearest neighbour is itself, at distance 0
    expect(out.data.map((p: Json) => p.label)).toEqual([examples[5].label, examples[2].label]);
    expect(out.data[0].neighbors).toEqual([{ text: examples[5].text, label: examples[5].label, distance: 0 }]);
    for (const p of out.data) {
      expect(p.score).toBeGreaterThan(0);
      expect(p.score).toBeLessThanOrEqual(1);
    }
    // k can be raised per request, up to the number of examples
    const wide = (await (await post('/v1/classify', { classifier: clf.id, input: 'vpn will not connect', k: 5 })).json()) as Json;
    expect(wide.data[0].neighbors).toHaveLength(5);
    expect(TICKET_TEAMS).toContain(wide.data[0].label);
  });
});

describe('bad input gets a 4xx', () => {
  const ok = ticketSplit(0, 1).train.map((t) => ({ text: t.text, label: TICKET_TEAMS[t.team] }));
  it.each([
    ['/v1/embeddings', {}, 400, 'input'],
    ['/v1/embeddings', { input: [] }, 400, 'input'],
    ['/v1/embeddings', { input: [7] }, 400, 'input[0]'],
    ['/v1/embeddings', { input: '   ' }, 400, 'input[0]'],
    ['/v1/embeddings', { input: Array(65).fill('x') }, 400, 'input'],
    ['/v1/embeddings', { input: 'x'.repeat(4001) }, 400, 'input[0]'],
    ['/v1/embeddings', { input: 'x', encoding_format: 'base64' }, 400, 'encoding_format'],
    ['/v1/embeddings', { input: 'x', model: 'gpt-4' }, 404, 'model'],
    ['/v1/embeddings', '{not json', 400, null],
    ['/v1/classifiers', { examples: ok.slice(0, 3) }, 400, 'examples'],
    ['/v1/classifiers', { examples: Array(129).fill(ok[0]) }, 400, 'examples'],
    ['/v1/classifiers', { examples: ok.map((e) => ({ ...e, label: 'same' })) }, 400, 'examples'],
    ['/v1/classifiers', { examples: [...ok.slice(0, 3), { text: 'x', label: 3 }] }, 400, 'examples[3].label'],
    ['/v1/classifiers', { examples: [...ok.slice(0, 3), { label: 'a' }] }, 400, 'examples[3].text'],
    ['/v1/classifiers', { examples: ok, k: 4 }, 400, 'k'],
    ['/v1/classifiers', { examples: ok, sweeps: 0 }, 400, 'sweeps'],
    ['/v1/classifiers', { examples: ok, sweeps: 41 }, 400, 'sweeps'],
    ['/v1/classify', { classifier: 'nope', input: 'x' }, 400, 'classifier'],
    ['/v1/classify', { classifier: `clf-${'0'.repeat(32)}`, input: 'x' }, 404, 'classifier'],
    ['/v1/classify', { classifier: `clf-${'0'.repeat(32)}` }, 400, 'input'],
  ] as const)('POST %s %j → %i (param %s)', async (path, body, status, param) => {
    const res = await post(path, body);
    expect(res.status).toBe(status);
    const err = ((await res.json()) as Json).error;
    expect(err.param).toBe(param);
    expect(err.message).toEqual(expect.any(String));
  });

  it('without a CLASSIFIERS binding the classifier routes answer 503, naming the binding', async () => {
    const res = await post('/v1/classifiers', { examples: ok }, false);
    expect(res.status).toBe(503);
    expect(((await res.json()) as Json).error.message).toMatch(/CLASSIFIERS/);
  });
});
