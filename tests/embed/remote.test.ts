// embed/remote.ts against a stubbed fetch that answers as the worker does: the model id from
// GET /v1/models, then an SSE body cut at awkward places (inside an event, inside a UTF-8
// character); reasoning and content tokens in order, the finish reason, API errors, abort.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RemoteApiError } from '../../embed/errors.js';
import type { TokenKind } from '../../embed/protocol.js';
import { RemoteEngine } from '../../embed/remote.js';

const chunk = (delta: Record<string, string>, finish: string | null = null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const SSE = [chunk({ role: 'assistant', content: '' }), chunk({ reasoning_content: 'hmm' }), chunk({ content: 'Hé' }), chunk({ content: 'llo' }), chunk({}, 'length'), 'data: [DONE]\n\n'].join('');

/** The SSE bytes in pieces of `size` bytes (splitting events and the two bytes of 'é'). */
function body(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(ctl) {
      if (at >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(at, (at += size)));
    },
  });
}

function stubWorker(chat: (init: RequestInit) => Response) {
  const requests: { url: string; init?: RequestInit }[] = [];
  vi.stubGlobal('fetch', async (url: URL, init?: RequestInit) => {
    requests.push({ url: String(url), init });
    if (String(url).endsWith('/v1/models')) return Response.json({ object: 'list', data: [{ id: 'edgetron-default' }] });
    return chat(init!);
  });
  return requests;
}

afterEach(() => vi.unstubAllGlobals());

describe('RemoteEngine', () => {
  const request = { messages: [{ role: 'user' as const, content: 'Hi' }], maxTokens: 16, thinking: true, thinkingBudget: null };

  it('streams reasoning and content tokens in order, whatever the chunking; returns the finish reason', async () => {
    for (const size of [1, 7, 4096]) {
      const requests = stubWorker(() => new Response(body(SSE, size), { headers: { 'content-type': 'text/event-stream' } }));
      const engine = await RemoteEngine.connect('https://w.example/', { authorization: 'Bearer k' });
      const tokens: [TokenKind, string][] = [];
      const finish = await engine.generate(request, (kind, text) => tokens.push([kind, text]), new AbortController().signal);
      expect(finish).toBe('length');
      expect(tokens).toEqual([
        ['reasoning', 'hmm'],
        ['content', 'Hé'],
        ['content', 'llo'],
      ]);
      expect(requests[1].url).toBe('https://w.example/v1/chat/completions');
      expect(requests[1].init!.headers).toEqual({ authorization: 'Bearer k', 'content-type': 'application/json' });
      expect(JSON.parse(requests[1].init!.body as string)).toMatchObject({ model: 'edgetron-default', stream: true, max_tokens: 16 });
    }
  });

  it('an HTTP error and an error chunk mid-stream become RemoteApiError with the API message', async () => {
    stubWorker(() => Response.json({ error: { message: 'max_tokens must be at most 4096' } }, { status: 400 }));
    const engine = await RemoteEngine.connect('https://w.example/', {});
    await expect(engine.generate(request, () => undefined, new AbortController().signal)).rejects.toThrow(new RemoteApiError(400, 'max_tokens must be at most 4096'));
    stubWorker(() => new Response(body(chunk({ content: 'a' }) + `data: ${JSON.stringify({ error: { message: 'boom' } })}\n\n`, 5)));
    await expect(engine.generate(request, () => undefined, new AbortController().signal)).rejects.toBeInstanceOf(RemoteApiError);
  });

  it('abort ends the stream with finish reason abort', async () => {
    const abort = new AbortController();
    stubWorker((init) => {
      const stream = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(new TextEncoder().encode(chunk({ content: 'a' })));
          init.signal!.addEventListener('abort', () => ctl.error(new DOMException('aborted', 'AbortError')));
        },
      });
      return new Response(stream);
    });
    const engine = await RemoteEngine.connect('https://w.example/', {});
    const seen: string[] = [];
    const finish = await engine.generate(request, (_k, t) => (seen.push(t), abort.abort()), abort.signal);
    expect(finish).toBe('abort');
    expect(seen).toEqual(['a']);
  });
});
