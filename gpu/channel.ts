// The message protocol between the model's thread and the device thread (DESIGN §2, webgpu).
// The op interface is synchronous but WebGPU reads back asynchronously, so the device lives in
// its own thread (a worker_threads Worker in Node, a Worker in a browser) and the model's thread
// posts ops to it without waiting. A read (download, head, greedy) posts a SharedArrayBuffer and
// blocks in Atomics.wait until the device thread has written the bytes and notified:
//   Int32 [0] status: 0 pending, 1 done, 2 error;  Int32 [1] payload bytes;  payload from byte 8
// (an error's payload is the JSON of a WireError). Errors of ops that have no answer are kept by
// the device thread and returned by the next read. In a browser the model's thread must be a
// Worker (Atomics.wait is refused on the main thread) and the page cross-origin isolated.

import type { StatePart } from '../engine/core/backend.js';
import type { ModelConfig } from '../engine/core/config.js';
import type { DType } from '../engine/core/weights.js';
import type { WireError } from '../runtime/wire.js';
import type { GpuInfo, GpuOptions } from './device.js';


/** Ops that run on the device without an answer. */
export type OpMessage =
  | { op: 'upload'; id: number; rows: number; cols: number; data: Float32Array }
  | { op: 'embed'; id: number; tokens: Int32Array }
  | { op: 'rmsnorm'; id: number; x: number; weight: string }
  | { op: 'add'; x: number; y: number }
  | { op: 'slice'; id: number; x: number; start: number; count: number }
  | { op: 'concat'; id: number; a: number; b: number }
  | { op: 'mamba2'; id: number; il: number; u: number; seq: number }
  | { op: 'attention'; id: number; il: number; u: number; seq: number; position: number }
  | { op: 'moe'; id: number; il: number; u: number }
  | { op: 'mlp'; id: number; il: number; u: number }
  | { op: 'matmul'; id: number; x: number; weight: string }
  | { op: 'free'; id: number }
  | { op: 'newSeq'; seq: number; maxTokens: number; part: StatePart }
  | { op: 'freeSeq'; seq: number }
  | { op: 'snapshot'; seq: number; snap: number; position: number }
  | { op: 'restore'; seq: number; snap: number }
  | { op: 'freeSnap'; snap: number };

/** Reads the model's thread blocks on. */
export type ReadMessage =
  | { op: 'download'; x: number; sab: SharedArrayBuffer }
  | { op: 'head'; x: number; sab: SharedArrayBuffer } // logits (rows, V)
  | { op: 'greedy'; x: number; sab: SharedArrayBuffer }; // argmax token of each row's logits

/** Setup, answered by a plain message (the model's thread awaits it). */
export type SetupMessage =
  | { op: 'init'; options: GpuOptions }
  | { op: 'tensor'; name: string; dtype: DType; shape: readonly number[]; bytes: Uint8Array }
  | { op: 'build'; config: ModelConfig };

/**
 * End of a Node device thread: it exits after the messages posted before this one. Terminating
 * the thread from outside while a Dawn call runs aborts the whole process (Dawn's napi_throw
 * during termination), so a Node thread is closed by message, not by Worker.terminate().
 */
export interface CloseMessage {
  op: 'close';
}

/** What the executor runs (gpu/executor.ts). */
export type DeviceMessage = OpMessage | ReadMessage | SetupMessage;

export type ToDevice = DeviceMessage | CloseMessage;

/** Answers to setup messages. */
export type FromDevice = { op: 'ready'; info: GpuInfo } | { op: 'built'; bytes: number } | { op: 'failed'; error: WireError };

/** Bytes before the payload of a read buffer. */
export const HEADER_BYTES = 8;
/** Room always left for an error's JSON. */
const MIN_PAYLOAD = 4096;

/** A read buffer for a payload of `bytes` bytes. */
export function readBuffer(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + Math.max(bytes, MIN_PAYLOAD));
}

/** The device thread's answer to a read: the payload, or the error. */
export function answer(sab: SharedArrayBuffer, result: { bytes: ArrayBuffer } | { error: WireError }): void {
  const head = new Int32Array(sab, 0, 2);
  let payload: Uint8Array;
  if ('bytes' in result) payload = new Uint8Array(result.bytes);
  else payload = new TextEncoder().encode(JSON.stringify(result.error)).subarray(0, sab.byteLength - HEADER_BYTES);
  new Uint8Array(sab, HEADER_BYTES, payload.byteLength).set(payload);
  head[1] = payload.byteLength;
  Atomics.store(head, 0, 'bytes' in result ? 1 : 2);
  Atomics.notify(head, 0);
}

/**
 * Block until the device thread answers in `sab` (or `timeoutMs` passes): the payload bytes, or
 * the WireError it sent.
 */
export function waitAnswer(sab: SharedArrayBuffer, timeoutMs: number): Uint8Array | WireError {
  const head = new Int32Array(sab, 0, 2);
  if (Atomics.wait(head, 0, 0, timeoutMs) === 'timed-out') {
    return { name: 'GpuDeviceError', message: `the device thread did not answer within ${timeoutMs / 1000} s` };
  }
  const payload = new Uint8Array(sab, HEADER_BYTES, head[1]);
  if (Atomics.load(head, 0) === 1) return payload;
  return JSON.parse(new TextDecoder().decode(payload.slice())) as WireError;
}

/** The model thread's handle on a device thread. */
export interface DeviceThread {
  post(m: ToDevice, transfer?: ArrayBuffer[]): void;
  listen(l: (m: FromDevice) => void): void;
  /** Whether the thread keeps the process alive (Node); held during setup only. */
  hold?(held: boolean): void;
  terminate(): void;
  /** Another thread to try when this one finds no adapter (Node: SwiftShader), or null. */
  fallback?(): DeviceThread | null;
}
