// Route tests inside workerd for the two time limits of a generation (worker/app.ts): the
// stall timeout (a client that stops reading a stream without disconnecting, which `wrangler
// dev` never reports, loses its generation and its slot) and the per-request deadline.
import { describe, expect, it } from 'vitest';
import { app, chat, post, sseEvents, trackedModel } from './served.js';

type Json = Record<string, any>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const health = async (a: ReturnType<typeof app>) => (await (await a.request('/health')).json()) as Json;

describe('stalled readers', () => {
  it('a reader that pauses without disconnecting has its generation cancelled and its slot freed', async () => {
    const model = await trackedModel();
    const a = app({ concurrency: 1, maxQueue: 0, stallTimeoutMs: 150 }, model);
    const res = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 200 }));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    expect(model.live()).toBe(1);
    expect((await health(a)).running).toBe(1);
    // the only slot is taken: a second request is refused while the first one holds it
    expect((await post(a, '/v1/chat/completions', chat({ max_tokens: 2 }))).status).toBe(429);
    await sleep(400);
    expect(model.live()).toBe(0);
    expect((await health(a)).running).toBe(0);
    // what was queued before the stall is still readable, then the stream reports why it ended
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow(/did not read the stream for 0.15 s/);
    expect((await post(a, '/v1/chat/completions', chat({ max_tokens: 2 }))).status).toBe(200);
    expect(model.live()).toBe(0);
  });

  it('a slow but steady reader is not cut off, even when the whole stream outlasts the timeout', async () => {
    const model = await trackedModel();
    const a = app({ concurrency: 1, stallTimeoutMs: 300 }, model);
    const res = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 12, stop: [] }));
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let body = '';
    const t0 = Date.now();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      body += decoder.decode(value, { stream: true });
      await sleep(100);
    }
    expect(Date.now() - t0).toBeGreaterThan(600);
    const events = sseEvents(body);
    expect(events.at(-1)).toBe('[DONE]');
    const finish = JSON.parse(events.at(-2)!) as Json;
    expect(finish.choices[0].finish_reason).toMatch(/^(stop|length)$/);
    expect(model.live()).toBe(0);
    expect((await health(a)).running).toBe(0);
  });
});

describe('the request deadline', () => {
  it('stops a stream that runs past it with one request_timeout error chunk and frees its state', async () => {
    const model = await trackedModel();
    const a = app({ requestTimeoutMs: 250 }, model);
    const res = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 400, stop: [] }));
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let body = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      body += decoder.decode(value, { stream: true });
      await sleep(50);
    }
    const events = sseEvents(body);
    expect(events).not.toContain('[DONE]');
    expect(events.length).toBeLessThan(400);
    expect(JSON.parse(events.at(-1)!)).toEqual({
      error: { message: 'the generation ran past the 0.25 s request deadline and was stopped', type: 'server_error', param: null, code: 'request_timeout' },
    });
    expect(model.live()).toBe(0);
    expect((await health(a)).running).toBe(0);
  });

  it('a non-streamed request past it gets a 504 request_timeout', async () => {
    const model = await trackedModel();
    const res = await post(app({ requestTimeoutMs: 1 }, model), '/v1/chat/completions', chat({ max_tokens: 400, stop: [] }));
    expect(res.status).toBe(504);
    expect(((await res.json()) as Json).error).toMatchObject({ type: 'server_error', code: 'request_timeout' });
    expect(model.live()).toBe(0);
  });
});
