// The shard protocol (docs/design.md §2, "Shards"): what the front of a sharded model says to the
// shards that hold its layers, whatever carries the words (a direct call, a shared-memory channel
// between threads, a Durable Object's RPC). Messages carry hidden states, token ids and names —
// never weights; each shard loads its own. Every message is plain data, encoded to one byte
// string by `encodeMessage`:
//   [u32 header bytes][header: JSON, typed arrays replaced by {"$": "f32" | "i32", "at", "n"}]
//   [pad to 4][the typed arrays' bytes, each 4-aligned]
// The front chooses sequence and snapshot ids, so no request waits on an id from a reply.

import type { StatePart } from '../core/backend.js';

/** A (rows, cols) f32 matrix, row-major: a hidden state on the wire. */
export interface WireMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** The per-layer ops a shard runs on its own layers (engine/core/backend.ts LoadedModel). */
export type LayerOp = 'mamba2' | 'attention' | 'moe' | 'mlp';

/**
 * A request from the front to a shard. `position` is the front's sequence position (tokens the
 * sequence had consumed before this pass): the shard brings its own copy of that sequence to it.
 */
export type ShardRequest =
  | { readonly op: 'newSequence'; readonly seq: number; readonly maxTokens: number; readonly part: StatePart }
  | { readonly op: 'freeSequence'; readonly seq: number }
  | { readonly op: 'snapshot'; readonly seq: number; readonly position: number; readonly snap: number }
  | { readonly op: 'restore'; readonly seq: number; readonly snap: number }
  | { readonly op: 'freeSnapshot'; readonly snap: number }
  /** spec §4.1: rows of the embedding. */
  | { readonly op: 'embed'; readonly tokens: Int32Array }
  /** spec §4 step 2 for layers [from, to): x ← x + Mixer(RMSNorm(x)), each in turn. */
  | { readonly op: 'blocks'; readonly seq: number; readonly position: number; readonly from: number; readonly to: number; readonly x: WireMatrix }
  /** One mixer of layer il on its normed input u (state ops carry seq and position). */
  | { readonly op: LayerOp; readonly il: number; readonly seq?: number; readonly position?: number; readonly x: WireMatrix }
  | { readonly op: 'rmsnorm' | 'matmul'; readonly weight: string; readonly x: WireMatrix }
  /** spec §4.4: logits of every row. */
  | { readonly op: 'head'; readonly x: WireMatrix }
  /** Resident weight bytes and heap bytes in use. */
  | { readonly op: 'usage' };

/** A shard's answer: a matrix, usage figures, nothing, or the error it raised (by class name). */
export type ShardReply =
  | { readonly x: WireMatrix }
  | { readonly weightBytes: number; readonly usedBytes: number }
  | { readonly done: true }
  | { readonly error: { readonly name: string; readonly message: string } };

type Wire = ShardRequest | ShardReply;
type Typed = Float32Array | Int32Array;

const HEADER_WORD = 4;
const pad4 = (n: number) => (n + 3) & ~3;

/**
 * One message as bytes (see the header for the layout).
 * @example const bytes = encodeMessage({ op: 'embed', tokens: Int32Array.of(1, 2) });
 */
export function encodeMessage(message: Wire): Uint8Array {
  const arrays: Typed[] = [];
  let at = 0;
  const json = JSON.stringify(message, (_key, value: unknown) => {
    if (value instanceof Float32Array || value instanceof Int32Array) {
      arrays.push(value);
      const ref = { $: value instanceof Float32Array ? 'f32' : 'i32', at, n: value.length };
      at += value.byteLength;
      return ref;
    }
    return value;
  });
  const header = new TextEncoder().encode(json);
  const start = pad4(HEADER_WORD + header.length);
  const out = new Uint8Array(start + at);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, HEADER_WORD);
  let offset = start;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return out;
}

/**
 * The message `encodeMessage` wrote; its typed arrays are views of `bytes` where aligned and not shared (no copy), else copies.
 * @example decodeMessage(encodeMessage({ op: 'usage' })); // { op: 'usage' }
 */
export function decodeMessage<T extends Wire = Wire>(bytes: Uint8Array): T {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = view.getUint32(0, true);
  const start = pad4(HEADER_WORD + headerBytes);
  const json = new TextDecoder().decode(bytes.subarray(HEADER_WORD, HEADER_WORD + headerBytes));
  const viewable = (bytes.byteOffset & 3) === 0 && bytes.buffer instanceof ArrayBuffer;
  return JSON.parse(json, (_key, value: unknown) => {
    const ref = value as { $?: string; at?: number; n?: number } | null;
    if (ref === null || typeof ref !== 'object' || (ref.$ !== 'f32' && ref.$ !== 'i32') || typeof ref.at !== 'number' || typeof ref.n !== 'number') return value;
    const Type = ref.$ === 'f32' ? Float32Array : Int32Array;
    const offset = bytes.byteOffset + start + ref.at;
    return viewable ? new Type(bytes.buffer as ArrayBuffer, offset, ref.n) : new Type(bytes.slice(start + ref.at, start + ref.at + ref.n * 4).buffer as ArrayBuffer);
  }) as T;
}

/**
 * One end of a link to a shard: sends a request and returns the reply, synchronously (the model
 * graph is synchronous). In-process links call the server; thread links block on a shared-memory
 * channel. `lost` is set once the shard is gone; `revive` brings up a fresh one with no sequences.
 */
export interface ShardLink {
  call(request: ShardRequest): ShardReply;
  readonly lost: boolean;
  revive(): void;
  dispose(): void;
}
