// Test helper for the worker suites (run inside workerd): the default edge pack loaded once
// from the ASSETS binding on the kernel build the Worker picks (relaxed SIMD in workerd), the app
// around it, and SSE parsing.
import { env } from 'cloudflare:test';
import { createWasmBackend } from '../../assembly/backend/index.js';
import relaxed from '../../build/edgetron-relaxed.wasm';
import scalar from '../../build/edgetron-scalar.wasm';
import simd from '../../build/edgetron-simd.wasm';
import type { Model } from '../../engine/core/model.js';
import { serverBackend } from '../../serve/backend-choice.js';
import { assetsPack, loadPack, type AssetsBinding } from '../../serve/pack.js';
import type { ServedModel } from '../../serve/run.js';
import { createApp, type AppOptions } from '../../worker/app.js';

export const MODEL_ID = 'edgetron-default';
let served: Promise<ServedModel> | null = null;

/** The default model, loaded once per test file. */
export function defaultModel(): Promise<ServedModel> {
  served ??= loadPack(assetsPack((env as { ASSETS: AssetsBinding }).ASSETS, '/packs/default/'), {
    backend: createWasmBackend({ module: { relaxed, simd, scalar }[serverBackend().build], build: serverBackend().build }),
    maxContext: 2048,
    concurrency: 4,
  }).then((session) => ({ id: MODEL_ID, session, maxContext: 2048, created: 1700000000 }));
  return served;
}

/** The default model with every sequence tracked: `live()` counts sequences not yet freed. */
export async function trackedModel(failAfter = Infinity): Promise<ServedModel & { live(): number }> {
  const base = await defaultModel();
  let live = 0;
  let forwards = 0;
  const model = Object.create(base.session.model) as Model;
  model.newSequence = (maxTokens: number) => {
    const seq = base.session.model.newSequence(maxTokens);
    live++;
    const free = seq.free.bind(seq);
    seq.free = () => {
      live--;
      free();
    };
    return seq;
  };
  model.forward = (seq, tokens, rows) => {
    if (++forwards > failAfter) throw new Error('simulated backend failure');
    return base.session.model.forward(seq, tokens, rows);
  };
  return { ...base, session: { ...base.session, model }, live: () => live };
}

/** The default model with its logits edited after every forward call (`step` counts the calls). */
export async function biasedModel(edit: (logits: Float32Array, step: number) => void): Promise<ServedModel> {
  const base = await defaultModel();
  const model = Object.create(base.session.model) as Model;
  let step = 0;
  model.forward = (seq, tokens, rows, maxTokens) => {
    const logits = base.session.model.forward(seq, tokens, rows, maxTokens);
    edit(logits, step++);
    return logits;
  };
  return { ...base, session: { ...base.session, model } };
}

/** The app over the default model (or `model`), test hooks on unless overridden. */
export function app(options: Partial<AppOptions> = {}, model?: ServedModel) {
  return createApp({ model: () => (model ? Promise.resolve(model) : defaultModel()), testHooks: true, ...options });
}

/** POST a JSON body. */
export function post(a: ReturnType<typeof app>, path: string, body: unknown, headers: Record<string, string> = {}) {
  return a.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Split an SSE body into its `data:` payloads, checking the framing of every event (comments, `: …`, are skipped). */
export function sseEvents(body: string): string[] {
  const events = body.split('\n\n');
  if (events.pop() !== '') throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(body.slice(-40))}`);
  return events.filter((e) => !/^:[^\n]*$/.test(e)).map((e) => {
    if (!e.startsWith('data: ') || e.includes('\n')) throw new Error(`bad SSE event ${JSON.stringify(e)}`);
    return e.slice(6);
  });
}

/** A chat request for the default model. */
export const chat = (extra: Record<string, unknown> = {}) => ({ model: MODEL_ID, messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8, seed: 7, ...extra });
