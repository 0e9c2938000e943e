// DESIGN §1, §3: the portable byte source every checkpoint loader reads through. A Node file
// (weights-tools/fs-source.ts), an in-memory buffer (here) or, later, fetch / R2 ranges all
// present the same four members, so the parsers in engine/ never touch `fs`.

import { CorruptWeightsError } from '../core/errors.js';

/** Random-access, read-only bytes of one file. */
export interface ByteSource {
  /** The file's name or path, used in every error message. */
  readonly name: string;
  /** Total length in bytes. */
  readonly size: number;
  /**
   * Fill all of `dst` with the bytes [offset, offset + dst.byteLength). Rejects with
   * `CorruptWeightsError` when that range runs past the end of the file.
   */
  readInto(dst: Uint8Array, offset: number): Promise<void>;
  /**
   * The same read, synchronously, where the medium allows it (memory, Node files): backends
   * whose ops are synchronous use it to read weights lazily, on first use.
   */
  readIntoSync?(dst: Uint8Array, offset: number): void;
  /** Release the underlying handle. Reads after close are undefined. */
  close(): Promise<void>;
}

/**
 * Throw `CorruptWeightsError` unless [offset, offset + length) lies inside a file of `size`
 * bytes. Shared by every `ByteSource` implementation so the message is the same everywhere.
 * @example
 * checkRange('model.safetensors', 100, 96, 8); // throws: truncated: needs bytes [96, 104) but the file has 100
 */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > size) {
    throw new CorruptWeightsError(name, `truncated: needs bytes [${offset}, ${offset + length}) but the file has ${size}`);
  }
}

/**
 * A `ByteSource` over bytes already in memory (tests, fetched shards, embedded models).
 * The bytes are not copied; reads copy out of them.
 * @example
 * const src = memorySource('model.safetensors', new Uint8Array(await res.arrayBuffer()));
 * const head = new Uint8Array(8);
 * await src.readInto(head, 0);
 */
export function memorySource(name: string, bytes: Uint8Array): ByteSource {
  const readIntoSync = (dst: Uint8Array, offset: number) => {
    checkRange(name, bytes.byteLength, offset, dst.byteLength);
    dst.set(bytes.subarray(offset, offset + dst.byteLength));
  };
  return {
    name,
    size: bytes.byteLength,
    readInto: async (dst, offset) => readIntoSync(dst, offset),
    readIntoSync,
    async close() {},
  };
}

/**
 * The arrays one after another, in one new array of their type (an empty list gives an empty one).
 * @example concatArrays([Float32Array.of(1), Float32Array.of(2, 3)]); // Float32Array [1, 2, 3]
 */
export function concatArrays<T extends Uint8Array | Float32Array>(parts: readonly T[], Type: new (n: number) => T): T {
  const out = new Type(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
