// Route tests inside workerd: how requests share the generation slots (serve/queue.ts via
// worker/app.ts). A stream answers its headers before it waits, so a queue timeout reaches it as
// one error chunk, while a full queue is still a 429 status; embeddings wait for a slot like a
// generation; bodies that are late get a 408.
import { describe, expect, it } from 'vitest';
import { app, chat, MODEL_ID, post, sseEvents } from './served.js';

type Json = Record<string, any>;

describe('generation slots', () => {
  it('a queued stream that times out gets its 200 headers, then one queue_timeout error chunk; a full queue is still a 429', async () => {
    const a = app({ concurrency: 1, maxQueue: 1, retryAfterS: 4, queueTimeoutMs: 300 });
    const first = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 400 }));
    const reader = first.body!.getReader();
    await reader.read(); // holds the only slot, then stops reading
    const second = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 2 }));
    expect(second.status).toBe(200);
    const third = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 2 }));
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('4');
    const text = await second.text();
    expect(text.startsWith(': queued\n\n')).toBe(true); // sent while it waited
    const events = sseEvents(text);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]).error).toMatchObject({ type: 'rate_limit_error', code: 'queue_timeout' });
    expect(await (await a.request('/health')).json()).toMatchObject({ running: 1, queued: 0 });
    await reader.cancel();
    expect(await (await a.request('/health')).json()).toMatchObject({ running: 0, queued: 0 });
  });

  it('a queued non-stream request that times out is a 429 queue_timeout with Retry-After', async () => {
    const a = app({ concurrency: 1, maxQueue: 2, retryAfterS: 2, queueTimeoutMs: 200 });
    const first = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 400 }));
    const reader = first.body!.getReader();
    await reader.read();
    const waited = await post(a, '/v1/chat/completions', chat({ max_tokens: 2 }));
    expect(waited.status).toBe(429);
    expect(waited.headers.get('retry-after')).toBe('2');
    expect(((await waited.json()) as Json).error).toMatchObject({ type: 'rate_limit_error', code: 'queue_timeout' });
    await reader.cancel();
  });

  it('/v1/embeddings waits for a slot like a generation, and runs once the slot is free', async () => {
    const a = app({ concurrency: 1, maxQueue: 1 });
    const first = await post(a, '/v1/chat/completions', chat({ stream: true, max_tokens: 400 }));
    const reader = first.body!.getReader();
    await reader.read();
    const embeddings = post(a, '/v1/embeddings', { model: MODEL_ID, input: ['one text', 'another'] });
    await new Promise((r) => setTimeout(r, 50));
    expect(await (await a.request('/health')).json()).toMatchObject({ running: 1, queued: 1 });
    const full = await post(a, '/v1/embeddings', { model: MODEL_ID, input: 'x' });
    expect(full.status).toBe(429);
    await reader.cancel();
    const res = await embeddings;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).data).toHaveLength(2);
    expect(await (await a.request('/health')).json()).toMatchObject({ running: 0, queued: 0 });
  });

  it('model work that fails inside its slot (an embedding input of more tokens than the context) gives the slot back', async () => {
    const a = app({ concurrency: 1, maxQueue: 0 });
    const res = await post(a, '/v1/embeddings', { model: MODEL_ID, input: ['fine', '😀'.repeat(2000)] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error).toMatchObject({ code: 'context_length_exceeded', param: 'input[1]' });
    expect(await (await a.request('/health')).json()).toMatchObject({ running: 0, queued: 0 });
    expect((await post(a, '/v1/embeddings', { model: MODEL_ID, input: 'fine' })).status).toBe(200);
  });

  it('a body that does not arrive in time is a 408 request_body_timeout', async () => {
    const a = app({ bodyTimeoutMs: 150 });
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(new TextEncoder().encode('{"model": '));
      }, // and never more
    });
    const res = await a.request('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(408);
    expect(((await res.json()) as Json).error).toMatchObject({ code: 'request_body_timeout' });
  });
});
