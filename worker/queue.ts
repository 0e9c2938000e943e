// DESIGN §6: behaviour under load. At most `limit` generations run at once in an isolate;
// up to `maxQueue` more wait in order; beyond that a request gets 429 with Retry-After.
// A waiter whose client goes away leaves the queue.

import { RateLimitError } from './errors.js';

/** Frees a slot; calling it twice is harmless. */
export type Release = () => void;

/**
 * A counting semaphore with a bounded FIFO queue.
 * @example
 * const limiter = new ConcurrencyLimiter(4, 16, 2);
 * const release = await limiter.acquire(signal);
 * try { … } finally { release(); }
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: { resolve: (r: Release) => void; reject: (e: unknown) => void }[] = [];

  constructor(
    readonly limit: number,
    readonly maxQueue: number,
    readonly retryAfterS: number,
  ) {}

  /** Generations running now. */
  get running(): number {
    return this.active;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** A slot, now or after the requests ahead; RateLimitError when the queue is full. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueue) return Promise.reject(new RateLimitError(this.retryAfterS, this.limit, this.maxQueue));
    return new Promise<Release>((resolve, reject) => {
      const entry = { resolve, reject };
      this.waiting.push(entry);
      signal?.addEventListener('abort', () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      });
    });
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next.resolve(this.releaser());
      else this.active--;
    };
  }
}
