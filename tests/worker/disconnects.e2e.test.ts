// End to end (runs in Node) against a real `wrangler dev` serving the default pack, with both
// cores kept busy by spinning threads (a loaded machine): clients that leave abruptly never keep a
// generation slot (serve/queue.ts). Under `wrangler dev` a client's disconnect reaches the Worker
// as a request torn down unheard (no stream cancel, no request.signal, its timers dropped), so
// these tests hold only if the limiter's sweep finds dead requests by their silence. Also: bodies
// that never finish get a 408, an oversized body's 413 leaves its connection usable, and model work
// of the embeddings route shares the slots without blocking the isolate.
import http from 'node:http';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWranglerDev, type WranglerDev } from '../../cli/commands/serve.js';
import { freePort } from '../helpers/free-port.js';

const MODEL = 'edgetron-default';
const BODY_TIMEOUT_S = 2;
let dev: WranglerDev;
let base: URL;
let spinners: Worker[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const health = async () => (await (await fetch(new URL('/health', base))).json()) as { running: number; queued: number };
const chatBody = (maxTokens: number, stream: boolean) => JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Go on forever' }], max_tokens: maxTokens, stream, seed: 7 });

/** The raw bytes of a POST /v1/chat/completions. */
function rawRequest(body: string): string {
  return `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** A stream read for two chunks, then the socket destroyed. */
function abortMidStream(): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(new URL('/v1/chat/completions', base), { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let chunks = 0;
      res.on('data', () => {
        if (++chunks === 2) {
          req.destroy();
          resolve();
        }
      });
      res.on('end', resolve);
    });
    req.on('error', () => resolve());
    req.end(chatBody(3000, true));
  });
}

/** A request sent whole, then the connection closed before any byte of the answer is read. */
function connectAndClose(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(base.port), base.hostname, () => {
      socket.write(rawRequest(chatBody(3000, true)));
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 30);
    });
    socket.on('error', () => resolve());
  });
}

/** A stream whose client never reads, destroyed after `holdMs`. */
function neverRead(holdMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(base.port), base.hostname, () => {
      socket.pause();
      socket.write(rawRequest(chatBody(3000, true)));
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, holdMs);
    });
    socket.on('error', () => resolve());
  });
}

/** Poll /health every 100 ms until nothing runs or waits; the ms it took. */
async function msUntilIdle(limitMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const h = await health();
    if (h.running === 0 && h.queued === 0) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`still ${JSON.stringify(h)} after ${limitMs} ms`);
    await sleep(100);
  }
}

beforeAll(async () => {
  dev = spawnWranglerDev({ port: await freePort(), vars: { EDGETRON_BODY_TIMEOUT_S: String(BODY_TIMEOUT_S) } });
  base = new URL(await dev.ready);
  await health(); // load the model
  // a loaded machine: one spinning thread per core for the whole file
  spinners = [0, 1].map(() => new Worker('for (;;);', { eval: true }));
}, 120_000);

afterAll(async () => {
  await Promise.all(spinners.map((w) => w.terminate()));
  await dev?.stop();
}, 30_000);

describe('abrupt disconnects under wrangler dev, on a loaded machine', () => {
  it('20 concurrent mid-stream aborts and 10 connect-and-close requests: running and queued are back to 0 within a second, and a new request is served at once', async () => {
    await Promise.all([...Array.from({ length: 20 }, abortMidStream), ...Array.from({ length: 10 }, connectAndClose)]);
    const ms = await msUntilIdle(10_000);
    // a dead request is swept HEARTBEAT_MS + STALE_MS (400 ms) after its last sign of life; a
    // queued stream writes a comment every 250 ms, so its proxy notices a closed client within
    // that; + up to 100 ms of /health polling and one token's time (~2 ms on this model)
    expect(ms).toBeLessThan(1000 + 100);
    const t0 = performance.now();
    const res = await fetch(new URL('/v1/chat/completions', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody(2, false) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
    expect(performance.now() - t0).toBeLessThan(1000);
  }, 60_000);

  it('streams that are never read, then dropped, free their slots too', async () => {
    await Promise.all(Array.from({ length: 6 }, () => neverRead(800)));
    expect(await msUntilIdle(10_000)).toBeLessThan(1000 + 100);
  }, 60_000);
});

describe('request bodies', () => {
  it('a body that never finishes gets a 408 at the body deadline', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(base.port), base.hostname, () => {
        socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model": ');
      });
      let text = '';
      socket.on('data', (b) => {
        text += b.toString();
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no answer in ${BODY_TIMEOUT_S + 8} s`)), (BODY_TIMEOUT_S + 8) * 1000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);

  it('after a chunked body over 1 MiB (413), the same connection serves the next request at once', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: string | Buffer[], chunked: boolean) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(new URL('/v1/chat/completions', base), { method: 'POST', agent, headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': Buffer.byteLength(body as string) }) } }, (res) => {
          let text = '';
          res.on('data', (b) => (text += b));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        });
        req.on('error', reject);
        if (chunked) for (const part of body as Buffer[]) req.write(part);
        req.end(chunked ? undefined : body);
      });
    const big = await send(
      Array.from({ length: 24 }, () => Buffer.alloc(64 * 1024, 0x20)),
      true,
    );
    expect(big.status).toBe(413);
    const t0 = performance.now();
    const next = await send(chatBody(2, false), false);
    expect(next.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(2000);
    agent.destroy();
  }, 30_000);
});

describe('model work of other routes', () => {
  it('/v1/embeddings runs in a slot and the isolate answers /health between its texts', async () => {
    const input = Array.from({ length: 24 }, (_, i) => `text ${i} `.repeat(300));
    const embeddings = fetch(new URL('/v1/embeddings', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input }) });
    await sleep(300);
    const t0 = performance.now();
    const during = await health();
    const healthMs = performance.now() - t0;
    const res = await embeddings;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(24);
    expect(during.running).toBe(1);
    expect(healthMs).toBeLessThan(1500);
    expect(await msUntilIdle(2000)).toBeLessThan(2000);
  }, 60_000);
});
