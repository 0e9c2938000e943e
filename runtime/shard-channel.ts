// A synchronous byte channel between the front of a sharded model and one shard thread, over one
// SharedArrayBuffer (engine/shard/protocol.ts messages travel on it). The model graph is
// synchronous, so the front blocks until the reply (runtime/wait.ts); the shard thread blocks
// until a request. Turn-taking, one writer at a time:
//   i32 words: [0] TURN (0: the front writes, 1: the shard writes), [1] FLAGS of the chunk in the
//   data region (MORE: another chunk follows; STOP: the front closes the channel), [2] LEN of
//   the chunk, [3] STATE (LOADING, SERVING, GONE: set by whoever sees the shard end, with the
//   reason as UTF-8 in the data region), [4] generation (bumped on each (re)start).
//   Data from byte 64, `capacity` bytes. A message longer than that goes in chunks; each chunk
//   but the last is acknowledged by the reader handing the turn back with an empty chunk.

import { concatArrays } from '../engine/formats/bytes.js';
import { waitChange } from './wait.js';

const TURN = 0;
const FLAGS = 1;
const LEN = 2;
const STATE = 3;
const GENERATION = 4;
const DATA = 64;
const MORE = 1;
const STOP = 2;

/** Where a shard is in its life. */
export const LOADING = 0;
export const SERVING = 1;
export const GONE = 2;

/** Default bytes of a channel's data region: a 4 MiB chunk (one prefill of ~300 tokens of a d = 3136 model). */
export const CHANNEL_CAPACITY = 4 << 20;

/** The shard ended while the front waited on it (or before it asked); `reason` says why. */
export class ChannelGoneError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ChannelGoneError';
  }
}

/**
 * A fresh channel's shared memory (its state LOADING).
 * @example const buffer = newChannel(); new Worker(entry, { workerData: { channel: buffer } });
 */
export function newChannel(capacity = CHANNEL_CAPACITY): SharedArrayBuffer {
  return new SharedArrayBuffer(DATA + capacity);
}

/** The i32 control words and the data region of a channel. */
function parts(buffer: SharedArrayBuffer): { words: Int32Array; data: Uint8Array } {
  return { words: new Int32Array(buffer, 0, DATA / 4), data: new Uint8Array(buffer, DATA) };
}

/**
 * How long a side polls for its turn before it sleeps (ms). Short: a shard's pass takes
 * milliseconds to seconds, and on a machine with as many kernel threads as cores a polling
 * waiter takes a core from them; a wake-up costs tens of microseconds per hop.
 */
const CHANNEL_SPIN_MS = 0.05;

/** Block until it is `side`'s turn; throw ChannelGoneError when the shard is gone first. */
function awaitTurn(words: Int32Array, data: Uint8Array, side: number): void {
  for (let turn = Atomics.load(words, TURN); turn !== side; turn = Atomics.load(words, TURN)) {
    if (Atomics.load(words, STATE) === GONE) throw new ChannelGoneError(goneReason(words, data));
    waitChange(words, TURN, turn, CHANNEL_SPIN_MS);
  }
}

function goneReason(words: Int32Array, data: Uint8Array): string {
  return new TextDecoder().decode(data.slice(0, Atomics.load(words, LEN))) || 'the shard thread ended';
}

/** Write `bytes` as `side` in chunks, handing the turn over after each, and waiting for the ack of all but the last. */
function send(words: Int32Array, data: Uint8Array, side: number, bytes: Uint8Array, flags = 0): void {
  const other = 1 - side;
  let at = 0;
  do {
    const n = Math.min(data.length, bytes.length - at);
    data.set(bytes.subarray(at, at + n));
    at += n;
    words[LEN] = n;
    words[FLAGS] = (at < bytes.length ? MORE : 0) | flags;
    Atomics.store(words, TURN, other);
    Atomics.notify(words, TURN);
    if (at < bytes.length) awaitTurn(words, data, side);
  } while (at < bytes.length);
}

/** Read one message as `side`, once its turn came: gather its chunks, acking each but the last. */
function receive(words: Int32Array, data: Uint8Array, side: number): { bytes: Uint8Array; flags: number } {
  const chunks: Uint8Array[] = [];
  for (;;) {
    chunks.push(data.slice(0, words[LEN]));
    const flags = words[FLAGS];
    if (!(flags & MORE)) {
      const bytes = chunks.length === 1 ? chunks[0] : concatArrays(chunks, Uint8Array);
      return { bytes, flags };
    }
    Atomics.store(words, TURN, 1 - side);
    Atomics.notify(words, TURN);
    awaitTurn(words, data, side);
  }
}


/**
 * The front's end of a channel.
 * @example const reply = new ChannelFront(buffer).exchange(encodeMessage({ op: 'usage' }));
 */
export class ChannelFront {
  private readonly words: Int32Array;
  private readonly data: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    ({ words: this.words, data: this.data } = parts(buffer));
  }

  /** The shard's state (LOADING, SERVING, GONE). */
  get state(): number {
    return Atomics.load(this.words, STATE);
  }

  /** Why the shard is gone (its error, or how its thread ended). */
  get reason(): string {
    return goneReason(this.words, this.data);
  }

  /** Send a request and block until its reply; ChannelGoneError when the shard ends first. */
  exchange(request: Uint8Array): Uint8Array {
    if (this.state === GONE) throw new ChannelGoneError(this.reason);
    send(this.words, this.data, 0, request);
    awaitTurn(this.words, this.data, 0);
    return receive(this.words, this.data, 0).bytes;
  }

  /** Block until the shard serves (or is gone: ChannelGoneError). */
  awaitServing(): void {
    for (let s = this.state; s !== SERVING; s = this.state) {
      if (s === GONE) throw new ChannelGoneError(this.reason);
      waitChange(this.words, STATE, s);
    }
  }

  /** Make the channel ready for a new shard thread: the front's turn, LOADING, the next generation. */
  reset(): void {
    Atomics.store(this.words, TURN, 0);
    Atomics.store(this.words, LEN, 0);
    Atomics.add(this.words, GENERATION, 1);
    Atomics.store(this.words, STATE, LOADING);
  }

  /** Tell the shard thread to stop serving (it returns from serveChannel). */
  close(): void {
    if (this.state !== SERVING || Atomics.load(this.words, TURN) !== 0) return;
    send(this.words, this.data, 0, new Uint8Array(0), STOP);
  }
}

/**
 * Mark a channel's shard as gone with `reason` and wake the front (whoever saw the thread end).
 * @example worker.on('exit', (code) => markGone(buffer, `exit code ${code}`));
 */
export function markGone(buffer: SharedArrayBuffer, reason: string): void {
  const { words, data } = parts(buffer);
  if (Atomics.load(words, STATE) === GONE) return;
  const text = new TextEncoder().encode(reason).subarray(0, data.length);
  data.set(text);
  Atomics.store(words, LEN, text.length);
  Atomics.store(words, STATE, GONE);
  Atomics.notify(words, STATE);
  Atomics.notify(words, TURN);
}

/**
 * The shard thread's loop: mark the channel SERVING, then answer each request with `handle`
 * until the front closes it. Blocks the thread (its event loop stops) while it serves.
 * @example serveChannel(buffer, (bytes) => encodeMessage(server.handle(decodeMessage(bytes))));
 */
export function serveChannel(buffer: SharedArrayBuffer, handle: (request: Uint8Array) => Uint8Array): void {
  const { words, data } = parts(buffer);
  Atomics.store(words, STATE, SERVING);
  Atomics.notify(words, STATE);
  for (;;) {
    awaitTurn(words, data, 1);
    const { bytes, flags } = receive(words, data, 1);
    if (flags & STOP) return;
    send(words, data, 1, handle(bytes));
  }
}
