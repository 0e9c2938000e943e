// Blocking waits on a shared Int32Array word, for the threads that hand work to each other through
// shared memory (the wasm backend's kernel threads, the shard channel). A waiter polls first, so a
// hand-off a few microseconds away never pays a wake-up, then sleeps in Atomics.wait, so an idle
// thread burns no CPU. Atomics.wait is allowed in Node's main thread and in Web Workers, not in a
// page's main thread.

/** How long a waiter polls before it sleeps (ms): longer than the gaps between the products of a decode step (with 0.2 ms the kernel threads of a `small` decode often slept between them). */
export const SPIN_MS = 2;

/**
 * Block until the i32 at `index` differs from `value`, or until a notify on it: poll for
 * `spinMs` (default SPIN_MS), then sleep. Callers re-read the word and wait again if it is not
 * what they need. True when the wait ended while polling.
 * @example for (let v = Atomics.load(words, 1); v !== job; v = Atomics.load(words, 1)) waitChange(words, 1, v);
 */
export function waitChange(words: Int32Array, index: number, value: number, spinMs = SPIN_MS): boolean {
  const until = performance.now() + spinMs;
  for (let i = 1; Atomics.load(words, index) === value; i++) {
    if ((i & 255) === 0 && performance.now() > until) {
      Atomics.wait(words, index, value);
      return false;
    }
  }
  return true;
}

/** The shortest poll an adaptive waiter keeps (ms). */
const MIN_SPIN_MS = 0.02;

/**
 * A waiter whose poll adapts to how busy the machine is: a wait that had to sleep means the
 * other side was not running, and on a machine with more runnable threads than cores a poller
 * only takes the core it needs (2 threads on one free core decoded 4.5× slower than 1 thread),
 * so the poll halves; a wait that ends while polling doubles it back, up to SPIN_MS.
 * @example const waiter = new AdaptiveWaiter(); waiter.wait(words, 1, done);
 */
export class AdaptiveWaiter {
  spinMs = SPIN_MS;

  /** waitChange with the current poll, then adapt it. */
  wait(words: Int32Array, index: number, value: number): void {
    const polled = waitChange(words, index, value, this.spinMs);
    this.spinMs = polled ? Math.min(SPIN_MS, this.spinMs * 2) : Math.max(MIN_SPIN_MS, this.spinMs / 2);
  }
}
