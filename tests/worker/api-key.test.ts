// The API key over every route (docs/api.md): with `apiKey` set, every /v1/*
// route, the pack's files included, answers 401 `invalid_api_key` (OpenAI's shape) without the
// key, with a wrong one or with the key sent any other way than `Authorization: Bearer`, before
// reading the body; each works with the key; the public routes (`/`, `/health`, `/embed.js`,
// `/embed/*`) and CORS preflights answer without it. Runs in workerd on the default pack.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { assetsPack, type AssetsBinding } from '../../serve/pack.js';
import { MODEL_ID, app, chat } from './served.js';

const KEY = 'sk-edgetron-Test-0123456789abcdef';
const a = app({ apiKey: KEY, corsOrigin: '*', pack: () => assetsPack((env as { ASSETS: AssetsBinding }).ASSETS, '/packs/default/') });
const PACK_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors.index.json', 'model-00001-of-00001.safetensors'];
const examples = ['vpn down', 'wifi drops', 'printer jam', 'toner empty'].map((text, i) => ({ text, label: i < 2 ? 'net' : 'print' }));

/** Every /v1 route with a request it serves, and the status it answers with the key. */
type Route = [method: 'GET' | 'POST', path: string, body: unknown, status: number];
const ROUTES: Route[] = [
  ['GET', '/v1/models', undefined, 200],
  ['GET', '/v1/backend', undefined, 200],
  ['POST', '/v1/chat/completions', chat({ max_tokens: 2 }), 200],
  ['POST', '/v1/chat/completions', chat({ max_tokens: 2, stream: true }), 200],
  ['POST', '/v1/completions', { model: MODEL_ID, prompt: 'Hello', max_tokens: 2 }, 200],
  ['POST', '/v1/embeddings', { model: MODEL_ID, input: 'hello' }, 200],
  ['POST', '/v1/classifiers', { examples, k: 1, sweeps: 1 }, 201],
  ['POST', '/v1/classify', { classifier: `clf-${'0'.repeat(32)}`, input: 'vpn' }, 404], // unknown id: past the key, to the KV lookup
  ...PACK_FILES.map((f): Route => ['GET', `/v1/pack/${f}`, undefined, 200]),
];

/** Ways of sending no key, a wrong key, or the right key where it is not read. */
const WRONG: [label: string, headers: Record<string, string>, query?: string][] = [
  ['no Authorization header', {}],
  ['a wrong key', { authorization: 'Bearer sk-wrong' }],
  ['the key in another case', { authorization: `Bearer ${KEY.toUpperCase()}` }],
  ['a prefix of the key', { authorization: `Bearer ${KEY.slice(0, -1)}` }],
  ['the key with a suffix', { authorization: `Bearer ${KEY}0` }],
  ['an empty bearer', { authorization: 'Bearer ' }],
  ['the key without a scheme', { authorization: KEY }],
  ['the key as Basic', { authorization: `Basic ${KEY}` }],
  ['the key in x-api-key', { 'x-api-key': KEY }],
  ['the key in the query string', {}, `?api_key=${KEY}`],
];

function request(method: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  return a.request(path, init, env);
}

async function expectUnauthorized(res: Response) {
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const { error } = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', param: null });
  expect(error.message).not.toContain(KEY.slice(3)); // never echoes the configured key
}

describe('API key on every /v1 route', () => {
  for (const [method, path, body] of ROUTES) {
    it.each(WRONG)(`${method} ${path}${body && (body as { stream?: boolean }).stream ? ' (stream)' : ''}: 401 with %s`, async (_label, headers, query = '') => {
      await expectUnauthorized(await request(method, path + query, body, headers));
    });
  }

  it.each(ROUTES)('%s %s works with the key (route %#)', async (method, path, body, status) => {
    const res = await request(method, path, body, { authorization: `Bearer ${KEY}` });
    expect(res.status).toBe(status);
    if (path.endsWith('.safetensors')) expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1e6);
    else if ((body as { stream?: boolean } | undefined)?.stream) expect((await res.text()).endsWith('data: [DONE]\n\n')).toBe(true);
    else await res.json();
  });

  it('the scheme is case-insensitive and the key is trimmed, as RFC 7235 allows', async () => {
    expect((await request('GET', '/v1/models', undefined, { authorization: `bearer ${KEY}` })).status).toBe(200);
    expect((await request('GET', '/v1/models', undefined, { authorization: `Bearer   ${KEY}  ` })).status).toBe(200);
  });

  it('a classifier fitted with the key is read back with it, and not without', async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    const { id } = (await (await request('POST', '/v1/classifiers', { examples, k: 1, sweeps: 1 }, auth)).json()) as { id: string };
    await expectUnauthorized(await request('POST', '/v1/classify', { classifier: id, input: 'vpn' }));
    const res = await request('POST', '/v1/classify', { classifier: id, input: 'vpn' }, auth);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { label: string }[] }).data[0].label).toMatch(/^(net|print)$/);
  });

  it('answers 401 before routing or reading the body: unknown routes, wrong methods, traversal, huge bodies', async () => {
    await expectUnauthorized(await request('GET', '/v1/engines', undefined));
    await expectUnauthorized(await request('GET', '/v1/chat/completions', undefined));
    await expectUnauthorized(await request('GET', '/v1/pack/secret.json', undefined));
    await expectUnauthorized(await request('GET', '/v1/pack/..%2f..%2fwrangler.toml', undefined));
    await expectUnauthorized(await request('POST', '/v1/chat/completions', JSON.stringify({ pad: 'x'.repeat(2 * 2 ** 20) })));
    await expectUnauthorized(await request('POST', '/v1/embeddings', 'not json', { 'content-type': 'text/plain' }));
  });
});

describe('public routes without the key', () => {
  it.each([
    ['/', /^text\/html/],
    ['/health', /^application\/json/],
    ['/embed.js', /javascript/],
    ['/embed/engine.js', /javascript/],
    ['/embed/edgetron-simd.wasm', /^application\/wasm/],
  ])('GET %s → 200', async (path, type) => {
    const res = await a.request(path, {}, env);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(type);
    await res.arrayBuffer();
  });

  it('/health reports the served model', async () => {
    expect(await (await a.request('/health', {}, env)).json()).toMatchObject({ status: 'ok', model: MODEL_ID, running: 0, queued: 0 });
  });

  it('a CORS preflight of a /v1 route needs no key (browsers send none)', async () => {
    const pre = await a.request('/v1/chat/completions', { method: 'OPTIONS', headers: { origin: 'https://site.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } }, env);
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
  });
});
