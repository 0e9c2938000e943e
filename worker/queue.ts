// DESIGN §6: behaviour under load. At most `limit` generations run at once in an isolate;
// up to `maxQueue` more wait in order; beyond that a request gets 429 with Retry-After.
// A waiter whose client goes away leaves the queue.
//
// A queued request waits by polling (a timer of its own every POLL_MS), not on a promise that
// another request resolves: workerd cancels a request whose I/O context has nothing pending as
// hung ("The Workers runtime canceled this request…"), so a waiter must keep its own timer
// alive. The head of the queue takes the next free slot; a waiter that has not polled for
// STALE_MS (its request was torn down without an abort) is dropped.

import { RateLimitError } from './errors.js';

/** Frees a slot; calling it twice is harmless. */
export type Release = () => void;

/** How often a queued request looks for a free slot. */
export const POLL_MS = 5;
/** A waiter silent this long is gone. */
const STALE_MS = 2000;

interface Waiter {
  /** Date.now() of its last poll. */
  seen: number;
}

/**
 * A counting semaphore with a bounded FIFO queue.
 * @example
 * const limiter = new ConcurrencyLimiter(4, 16, 2);
 * const release = await limiter.acquire(signal);
 * try { … } finally { release(); }
 */
export class ConcurrencyLimiter {
  private active = 0;
  private waiting: Waiter[] = [];

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
    if (this.active < this.limit && this.waiting.length === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueue) return Promise.reject(new RateLimitError(this.retryAfterS, this.limit, this.maxQueue));
    const entry: Waiter = { seen: Date.now() };
    this.waiting.push(entry);
    return new Promise<Release>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const leave = () => {
        clearTimeout(timer);
        this.waiting = this.waiting.filter((w) => w !== entry);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort);
      const poll = () => {
        const now = (entry.seen = Date.now());
        this.waiting = this.waiting.filter((w) => w === entry || now - w.seen < STALE_MS);
        if (this.waiting[0] === entry && this.active < this.limit) {
          leave();
          this.active++;
          resolve(this.releaser());
        } else timer = setTimeout(poll, POLL_MS);
      };
      timer = setTimeout(poll, POLL_MS);
    });
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
    };
  }
}
