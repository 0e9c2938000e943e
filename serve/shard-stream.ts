// DESIGN §3: a shard of an edge pack read front to back from a stream (the assets or R2
// binding) straight into where its bytes go (WASM memory, through the backend's `readInto`),
// hashing them on the way with workerd's `crypto.DigestStream`: no copy of the shard is held in
// JS, so loading peaks at the model's WASM memory plus one network chunk, not twice the pack.
//
// A pass is one fetch of the shard, from byte 0. Reads must move forward (the safetensors
// header, then the tensors in file order); a read behind the pass starts a new one. Every pass
// that ends, by `verify` or to start another, is read to the end and its sha256 compared with
// the index, so no byte that reached the model goes unchecked. At most MAX_OPEN_PASSES passes
// stay open at once (Workers cap simultaneous connections): opening one more finishes the
// oldest first.

import { CorruptWeightsError } from '../engine/core/errors.js';
import { checkRange, type ByteSource } from '../engine/formats/bytes.js';

/** A file opened for reading: its length and its bytes as a stream. */
export interface OpenedFile {
  readonly size: number;
  readonly body: ReadableStream<Uint8Array>;
}

/** Passes open at once across the shards of one load (Workers allow 6 connections). */
export const MAX_OPEN_PASSES = 4;

/** workerd's streaming digest (not in the DOM types). */
interface DigestStream extends WritableStream<ArrayBufferView> {
  readonly digest: Promise<ArrayBuffer>;
}

const hex = (digest: ArrayBuffer) => [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** One fetch of a shard and the hash of what it has delivered so far. */
interface Pass {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly hash: WritableStreamDefaultWriter<ArrayBufferView>;
  readonly digest: Promise<ArrayBuffer>;
  /** Bytes of the shard taken from this pass. */
  pos: number;
  /** The unread rest of the last chunk. */
  chunk: Uint8Array;
}

/** The shards of one load, for the limit on open passes. */
export class ShardStreams {
  private readonly open: StreamedShard[] = [];

  /** Make room for one more pass (finishing the oldest), then record `shard` as open. */
  async admit(shard: StreamedShard): Promise<void> {
    while (this.open.length >= MAX_OPEN_PASSES) await this.open[0].verify();
    this.open.push(shard);
  }

  closed(shard: StreamedShard): void {
    const i = this.open.indexOf(shard);
    if (i >= 0) this.open.splice(i, 1);
  }
}

/**
 * A forward-reading ByteSource over a shard's stream (see the header).
 * @example
 * const shard = new StreamedShard(name, await open(), open, { sha256, index: 'model.safetensors.index.json' }, streams);
 * await shard.readInto(dst, offset); // …every tensor, in file order
 * await shard.verify(); // throws CorruptWeightsError on a sha256 mismatch
 */
export class StreamedShard implements ByteSource {
  readonly size: number;
  private pass: Pass | null = null;
  private first: OpenedFile | null;

  constructor(
    readonly name: string,
    first: OpenedFile,
    /** Fetch the shard again, for a new pass. */
    private readonly reopen: () => Promise<OpenedFile>,
    /** Lower-case hex sha256 from the index (none: no check), and the index's name for messages. */
    private readonly expected: { readonly sha256?: string; readonly index: string },
    private readonly streams: ShardStreams,
  ) {
    this.size = first.size;
    this.first = first;
  }

  async readInto(dst: Uint8Array, offset: number): Promise<void> {
    checkRange(this.name, this.size, offset, dst.byteLength);
    if (!this.pass || offset < this.pass.pos) await this.startPass();
    const pass = this.pass!;
    while (pass.pos < offset) await this.take(pass, offset - pass.pos);
    for (let filled = 0; filled < dst.byteLength; ) {
      const piece = await this.take(pass, dst.byteLength - filled);
      dst.set(piece, filled);
      filled += piece.byteLength;
    }
  }

  /** Read the open pass to its end and check its length and sha256; nothing when none is open. */
  async verify(): Promise<void> {
    const pass = this.pass;
    if (!pass) return;
    this.pass = null;
    this.streams.closed(this);
    while (pass.pos < this.size) await this.take(pass, this.size - pass.pos);
    if (pass.chunk.byteLength > 0 || !(await pass.reader.read()).done) throw new CorruptWeightsError(this.name, `longer than the ${this.size} bytes it was opened with`);
    await pass.hash.close();
    const actual = hex(await pass.digest);
    const { sha256, index } = this.expected;
    if (sha256 !== undefined && actual !== sha256) throw new CorruptWeightsError(this.name, `sha256 is ${actual} but ${index} says ${sha256}`);
  }

  async close(): Promise<void> {
    const pass = this.pass;
    this.pass = null;
    this.streams.closed(this);
    await pass?.reader.cancel();
    await this.first?.body.cancel();
    this.first = null;
  }

  private async startPass(): Promise<void> {
    await this.verify();
    await this.streams.admit(this);
    const opened = this.first ?? (await this.reopen());
    this.first = null;
    if (opened.size !== this.size) throw new CorruptWeightsError(this.name, `is ${opened.size} bytes now, ${this.size} before`);
    const digest = new (crypto as unknown as { DigestStream: new (algorithm: string) => DigestStream }).DigestStream('SHA-256');
    this.pass = { reader: opened.body.getReader(), hash: digest.getWriter(), digest: digest.digest, pos: 0, chunk: new Uint8Array(0) };
  }

  /** Up to `max` next bytes of the pass (a view into the chunk the stream delivered). */
  private async take(pass: Pass, max: number): Promise<Uint8Array> {
    if (pass.chunk.byteLength === 0) {
      const { value, done } = await pass.reader.read();
      if (done) throw new CorruptWeightsError(this.name, `truncated: the stream ended at byte ${pass.pos} of ${this.size}`);
      await pass.hash.write(value);
      pass.chunk = value;
    }
    const piece = pass.chunk.subarray(0, max);
    pass.chunk = pass.chunk.subarray(piece.byteLength);
    pass.pos += piece.byteLength;
    return piece;
  }
}
