// The one error format between threads (house style H20): the WebGPU device thread
// (gpu/channel.ts), the embed's engine worker (embed/protocol.ts) and their callers send an
// error as `{ name, message, fields }` and rebuild it on the other side as the same class, with
// the same message and fields, so `instanceof` and the fields survive the boundary.

import { EdgetronError } from '../engine/core/errors.js';

/** An error crossing a thread boundary. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

/**
 * The error as it crosses the boundary: its name, message and own string and number fields
 * (a non-Error thrown value becomes `unknownName`).
 * @example toWire(new ContextWindowExceededError(5000, 4096)); // { name: 'ContextWindowExceededError', message: '…', fields: { requested: 5000, limit: 4096 } }
 */
export function toWire(e: unknown, unknownName = 'Error'): WireError {
  if (e instanceof Error) {
    const fields = Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === 'number' || typeof v === 'string'));
    return { name: e.name, message: e.message, fields };
  }
  return { name: unknownName, message: String(e) };
}

/** How a side rebuilds errors: the classes it knows, and what an unknown name becomes. */
export interface WireClasses {
  /** Error classes by name (a module namespace of them will do); only EdgetronError subclasses are rebuilt. */
  readonly classes: Readonly<Record<string, unknown>>;
  /** An error whose name is not a known class. */
  readonly unknown: (w: WireError) => Error;
  /** Where the error was thrown, for the rebuilt stack (e.g. 'the webgpu device thread'). */
  readonly thread: string;
}

/**
 * Rebuild an error that crossed a boundary as the same named class, with its message and fields.
 * @example throw errorFromWire({ name: 'LocalMemoryError', message: 'not enough memory…' }, { classes: errors, unknown: (w) => new Error(w.message), thread: 'the engine worker' });
 */
export function errorFromWire(w: WireError, side: WireClasses): Error {
  const cls = side.classes[w.name];
  if (!(typeof cls === 'function' && cls.prototype instanceof EdgetronError)) return side.unknown(w);
  const e = Object.create(cls.prototype) as Error;
  Object.assign(e, w.fields, { name: w.name, message: w.message });
  Object.defineProperty(e, 'stack', { value: `${w.name}: ${w.message}\n    (on ${side.thread})`, configurable: true, writable: true });
  return e;
}
