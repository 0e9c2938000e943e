// DESIGN §6: behaviour under load. At most `limit` generations (or other model work: embeddings,
// classifier fits) run at once in an isolate; up to `maxQueue` more wait in order, each for at
// most `queueTimeoutMs`; beyond that a request gets 429 with Retry-After.
//
// Liveness. workerd can tear a request down without running any of its callbacks: when a client
// goes away under `wrangler dev`, the request's pending promises and timers are dropped ("Network
// connection lost"), and neither the response stream's cancel nor request.signal fires. So a slot
// never relies on its own request to be freed:
// - every holder and every waiter shows it is alive from a timer of its own request (a holder
//   beats every HEARTBEAT_MS, a waiter polls every POLL_MS);
// - whatever timer of the isolate runs next sweeps the table and drops a holder or waiter whose
//   last sign of life is more than STALE_MS overdue; a dropped holder's `onReap` hooks abort its
//   work and free its sequence state.
// A sweep runs inside a timer callback due at `due`. Timers fire in the order they fall due, and a
// busy isolate (a long prefill) delays them all alike, so a live request whose beat fell due
// STALE_MS before `due` has beaten by then: only a request whose timers are gone is swept.
//
// A waiter takes a slot by polling too (not a promise another request resolves): workerd cancels a
// request whose I/O context has nothing pending as hung, so a waiter keeps a timer of its own alive.

import { QueueTimeoutError, RateLimitError } from './errors.js';

/** How often a queued request looks for a free slot. */
export const POLL_MS = 5;
/** How often a holder shows it is alive. */
export const HEARTBEAT_MS = 100;
/** How long past its due beat a holder or waiter is taken for gone. */
export const STALE_MS = 300;

/** A generation slot, held until `release` (or until the sweep finds its request gone). */
export interface Slot {
  /** Frees the slot; calling it again is harmless. */
  release(): void;
  /** Run `hook` if the slot is swept (its request is gone): abort the work, free its state. */
  onReap(hook: () => void): void;
  /** The sweep took the slot back. */
  readonly reaped: boolean;
}

/** Something that shows it is alive from its own timers: a holder or a waiter. */
interface Beating {
  /** When its next sign of life is due (Date.now() scale). */
  nextDue: number;
}

interface Holder extends Beating {
  readonly reapHooks: (() => void)[];
  reaped: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

interface Waiter extends Beating {
  /** Leave the queue with this error (the sweep found it gone, or its deadline passed). */
  drop(err: unknown): void;
}

/** A sleep of `ms` on the caller's own timer; resolves with the time it was due. */
const tick = (ms: number) => {
  const due = Date.now() + ms;
  return new Promise<number>((resolve) => setTimeout(() => resolve(due), ms));
};

/** Options of a ConcurrencyLimiter. */
export interface LimiterOptions {
  /** Slots: generations at once. */
  readonly limit: number;
  /** Requests waiting for a slot before 429. */
  readonly maxQueue: number;
  /** Retry-After of a 429, in seconds. */
  readonly retryAfterS: number;
  /** Longest a request waits in the queue before its 429 (default 60 s). */
  readonly queueTimeoutMs?: number;
}

/**
 * A counting semaphore with a bounded FIFO queue, whose slots come back when their request dies.
 * @example
 * const limiter = new ConcurrencyLimiter({ limit: 4, maxQueue: 16, retryAfterS: 2 });
 * const slot = await limiter.acquire(request.signal);
 * slot.onReap(() => abort.abort());
 * try { … } finally { slot.release(); }
 */
export class ConcurrencyLimiter {
  private readonly holders = new Set<Holder>();
  private waiting: Waiter[] = [];
  readonly limit: number;
  readonly maxQueue: number;
  readonly retryAfterS: number;
  readonly queueTimeoutMs: number;

  constructor(options: LimiterOptions) {
    this.limit = options.limit;
    this.maxQueue = options.maxQueue;
    this.retryAfterS = options.retryAfterS;
    this.queueTimeoutMs = options.queueTimeoutMs ?? 60_000;
  }

  /** Slots held now. */
  get running(): number {
    return this.holders.size;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** A slot is free now and no request waits ahead: `acquire` would grant it at once. */
  get free(): boolean {
    return this.holders.size < this.limit && this.waiting.length === 0;
  }

  /**
   * Sweep on a timer of the caller's own request, so `running` and `queued` count only live
   * requests (GET /health calls this before it answers).
   */
  async settle(): Promise<void> {
    this.sweep(await tick(0));
  }

  /**
   * Throw the RateLimitError `acquire` would reject with now: for a response that sends its
   * headers before it waits (a stream), while its status can still say 429.
   */
  assertRoom(): void {
    if (!this.free && this.waiting.length >= this.maxQueue) throw new RateLimitError(this.retryAfterS, this.limit, this.maxQueue);
  }

  /** A slot, now or after the requests ahead; RateLimitError when the queue is full. */
  acquire(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.free) return Promise.resolve(this.hold());
    try {
      this.assertRoom();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<Slot>((resolve, reject) => {
      const deadline = Date.now() + this.queueTimeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const entry: Waiter = {
        nextDue: Date.now() + POLL_MS,
        drop: (err) => {
          leave();
          reject(err);
        },
      };
      const leave = () => {
        clearTimeout(timer);
        this.waiting = this.waiting.filter((w) => w !== entry);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => entry.drop(signal!.reason);
      signal?.addEventListener('abort', onAbort);
      const poll = () => {
        const due = entry.nextDue;
        this.sweep(due);
        if (!this.waiting.includes(entry)) return; // swept: only a request whose timers stopped is
        if (this.waiting[0] === entry && this.holders.size < this.limit) {
          leave();
          return resolve(this.hold());
        }
        if (due >= deadline) return entry.drop(new QueueTimeoutError(this.queueTimeoutMs / 1000, this.retryAfterS));
        entry.nextDue = Date.now() + POLL_MS;
        timer = setTimeout(poll, POLL_MS);
      };
      this.waiting.push(entry);
      timer = setTimeout(poll, POLL_MS);
    });
  }

  /** Take a slot and start its heartbeat on the caller's timers. */
  private hold(): Slot {
    const holder: Holder = { nextDue: Date.now() + HEARTBEAT_MS, reapHooks: [], reaped: false };
    this.holders.add(holder);
    const beat = () => {
      const due = holder.nextDue;
      holder.nextDue = Date.now() + HEARTBEAT_MS;
      this.sweep(due);
      if (this.holders.has(holder)) holder.timer = setTimeout(beat, HEARTBEAT_MS);
    };
    holder.timer = setTimeout(beat, HEARTBEAT_MS);
    return {
      release: () => {
        clearTimeout(holder.timer);
        this.holders.delete(holder);
      },
      onReap: (hook) => void holder.reapHooks.push(hook),
      get reaped() {
        return holder.reaped;
      },
    };
  }

  /** Drop every holder and waiter whose sign of life is more than STALE_MS overdue at `due`. */
  private sweep(due: number): void {
    const gone = (b: Beating) => b.nextDue + STALE_MS < due;
    for (const h of [...this.holders]) {
      if (!gone(h)) continue;
      this.holders.delete(h);
      h.reaped = true;
      for (const hook of h.reapHooks) {
        try {
          hook();
        } catch (err) {
          console.error('edgetron: freeing a dead request failed', err);
        }
      }
    }
    for (const w of this.waiting.filter(gone)) w.drop(new Error('the request went away while it waited for a slot'));
  }
}
