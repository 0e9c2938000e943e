// serve/queue.ts: the limiter's order and limits, and slots that come back when their request
// dies unheard. A request that workerd tears down keeps no timer (its pending timers are
// dropped): the tests make such a "dead" request by acquiring while setTimeout schedules nothing.
import { describe, expect, it } from 'vitest';
import { QueueTimeoutError, RateLimitError } from '../../serve/errors.js';
import { ConcurrencyLimiter, HEARTBEAT_MS, STALE_MS, type Slot } from '../../serve/queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `acquire` on behalf of a request whose timers are gone (as workerd drops a torn-down request's). */
function acquireDead(q: ConcurrencyLimiter): Promise<Slot> {
  const real = globalThis.setTimeout;
  globalThis.setTimeout = (() => 0) as unknown as typeof setTimeout;
  try {
    return q.acquire();
  } finally {
    globalThis.setTimeout = real;
  }
}

/** Keep the thread busy for `ms` (a long prefill): every timer of the isolate runs late. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('ConcurrencyLimiter', () => {
  it('admits up to the limit, queues FIFO up to maxQueue, then rejects with RateLimitError', async () => {
    const q = new ConcurrencyLimiter({ limit: 2, maxQueue: 2, retryAfterS: 5 });
    const s1 = await q.acquire();
    const s2 = await q.acquire();
    const order: number[] = [];
    const w3 = q.acquire().then((s) => (order.push(3), s));
    const w4 = q.acquire().then((s) => (order.push(4), s));
    expect([q.running, q.queued]).toEqual([2, 2]);
    const err = await q.acquire().catch((e) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ status: 429, retryAfterS: 5 });
    s1.release();
    s1.release();
    const s3 = await w3;
    expect(order).toEqual([3]);
    expect([q.running, q.queued]).toEqual([2, 1]);
    s3.release();
    const s4 = await w4;
    expect(order).toEqual([3, 4]);
    s2.release();
    s4.release();
    expect(q.running).toBe(0);
  });

  it('a waiter whose signal aborts leaves the queue and frees its place', async () => {
    const q = new ConcurrencyLimiter({ limit: 1, maxQueue: 1, retryAfterS: 1 });
    const slot = await q.acquire();
    const ctl = new AbortController();
    const waiting = q.acquire(ctl.signal);
    ctl.abort(new Error('client gone'));
    await expect(waiting).rejects.toThrow('client gone');
    expect(q.queued).toBe(0);
    const next = q.acquire();
    slot.release();
    (await next).release();
    expect(q.running).toBe(0);
  });

  it('a slot whose request died is swept by the next live waiter, which gets it; the reap hook runs once', async () => {
    const q = new ConcurrencyLimiter({ limit: 1, maxQueue: 4, retryAfterS: 1 });
    const dead = await acquireDead(q);
    let reaped = 0;
    dead.onReap(() => reaped++);
    const t0 = Date.now();
    const slot = await q.acquire();
    const waited = Date.now() - t0;
    expect(dead.reaped).toBe(true);
    expect(reaped).toBe(1);
    expect(waited).toBeGreaterThanOrEqual(HEARTBEAT_MS + STALE_MS - 20);
    expect(waited).toBeLessThan(HEARTBEAT_MS + STALE_MS + 1000);
    dead.release(); // harmless after the sweep
    expect(q.running).toBe(1);
    slot.release();
    expect(q.running).toBe(0);
  });

  it('settle() drops dead holders and dead waiters when no live request is left to sweep', async () => {
    const q = new ConcurrencyLimiter({ limit: 2, maxQueue: 4, retryAfterS: 1 });
    await acquireDead(q);
    await acquireDead(q);
    const queued = acquireDead(q).catch((e: Error) => e);
    expect([q.running, q.queued]).toEqual([2, 1]);
    await q.settle();
    expect([q.running, q.queued]).toEqual([2, 1]); // not overdue yet
    await sleep(HEARTBEAT_MS + STALE_MS + 100);
    await q.settle();
    expect([q.running, q.queued]).toEqual([0, 0]);
    expect(await queued).toBeInstanceOf(Error);
  });

  it('a live holder survives a busy isolate: its timers run late, never out of order', async () => {
    const q = new ConcurrencyLimiter({ limit: 1, maxQueue: 4, retryAfterS: 1 });
    const live = await q.acquire();
    const waiter = q.acquire();
    busy(3 * (HEARTBEAT_MS + STALE_MS));
    await q.settle();
    await sleep(2 * HEARTBEAT_MS);
    expect(live.reaped).toBe(false);
    expect([q.running, q.queued]).toEqual([1, 1]);
    live.release();
    (await waiter).release();
  });

  it('a waiter past the queue deadline gets a 429 queue_timeout', async () => {
    const q = new ConcurrencyLimiter({ limit: 1, maxQueue: 4, retryAfterS: 3, queueTimeoutMs: 150 });
    const slot = await q.acquire();
    const err = await q.acquire().catch((e) => e);
    expect(err).toBeInstanceOf(QueueTimeoutError);
    expect(err).toMatchObject({ status: 429, retryAfterS: 3, code: 'queue_timeout' });
    expect(q.queued).toBe(0);
    slot.release();
  });
});
