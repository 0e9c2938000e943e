import { describe, expect, it } from 'vitest';
import { RateLimitError } from '../../worker/errors.js';
import { ConcurrencyLimiter } from '../../worker/queue.js';

describe('ConcurrencyLimiter', () => {
  it('admits up to the limit, queues FIFO up to maxQueue, then rejects with RateLimitError', async () => {
    const q = new ConcurrencyLimiter(2, 2, 5);
    const r1 = await q.acquire();
    await q.acquire();
    const order: number[] = [];
    const w3 = q.acquire().then((r) => (order.push(3), r));
    const w4 = q.acquire().then((r) => (order.push(4), r));
    expect([q.running, q.queued]).toEqual([2, 2]);
    const err = await q.acquire().catch((e) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ status: 429, retryAfterS: 5 });
    r1();
    r1();
    const r3 = await w3;
    expect(order).toEqual([3]);
    expect([q.running, q.queued]).toEqual([2, 1]);
    r3();
    await w4;
    expect(order).toEqual([3, 4]);
  });

  it('a waiter whose signal aborts leaves the queue and frees its place', async () => {
    const q = new ConcurrencyLimiter(1, 1, 1);
    const release = await q.acquire();
    const ctl = new AbortController();
    const waiting = q.acquire(ctl.signal);
    ctl.abort(new Error('client gone'));
    await expect(waiting).rejects.toThrow('client gone');
    expect(q.queued).toBe(0);
    const next = q.acquire();
    release();
    (await next)();
    expect(q.running).toBe(0);
  });
});
