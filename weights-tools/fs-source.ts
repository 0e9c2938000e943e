// DESIGN §1: the Node `ByteSource` (engine/formats/bytes.ts) over a file descriptor. Reads are
// positional and land straight in the caller's buffer: no intermediate copies, no whole-file
// loads, so a 60 GB checkpoint opens in constant memory. Both the async read and the
// synchronous one (for backends that read weights lazily from synchronous ops) are offered.

import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { checkRange, type ByteSource } from '../engine/formats/bytes.js';

/** Largest single `read` call (Node caps one read at 2 GiB − 1). */
const MAX_READ = 1 << 30;
/** Chunk size for hashing a file. */
const HASH_CHUNK = 8 << 20;

/**
 * Open a file as a `ByteSource`. The error for a missing file is Node's own (ENOENT, with the
 * path in its message).
 * @example
 * const src = await openFileSource('models/default/model.safetensors');
 * const head = new Uint8Array(8);
 * await src.readInto(head, 0);
 * await src.close();
 */
export async function openFileSource(path: string): Promise<ByteSource> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    name: path,
    size,
    async readInto(dst, offset) {
      checkRange(path, size, offset, dst.byteLength);
      for (let done = 0; done < dst.byteLength; ) {
        const length = Math.min(MAX_READ, dst.byteLength - done);
        const { bytesRead } = await fh.read(dst, done, length, offset + done);
        // The file shrank after it was opened: report it as the same truncation.
        if (bytesRead === 0) checkRange(path, offset + done, offset + done, length);
        done += bytesRead;
      }
    },
    readIntoSync(dst, offset) {
      checkRange(path, size, offset, dst.byteLength);
      for (let done = 0; done < dst.byteLength; ) {
        const length = Math.min(MAX_READ, dst.byteLength - done);
        const bytesRead = readSync(fh.fd, dst, done, length, offset + done);
        if (bytesRead === 0) checkRange(path, offset + done, offset + done, length);
        done += bytesRead;
      }
    },
    close: () => fh.close(),
  };
}

/**
 * Hex sha256 of a source, streamed in 8 MiB chunks (the Node counterpart of the portable
 * `sha256OfSource`, for shards too large to hold in memory).
 * @example
 * const hex = await sha256Streaming(await openFileSource('model-00001-of-00002.safetensors'));
 */
export async function sha256Streaming(source: ByteSource): Promise<string> {
  const hash = createHash('sha256');
  const buf = new Uint8Array(Math.min(HASH_CHUNK, source.size));
  for (let offset = 0; offset < source.size; offset += buf.byteLength) {
    const chunk = buf.subarray(0, Math.min(buf.byteLength, source.size - offset));
    await source.readInto(chunk, offset);
    hash.update(chunk);
  }
  return hash.digest('hex');
}
