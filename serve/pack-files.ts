// What reads an edge pack's files (Worker assets, R2, the embed's download cache): pack.ts and
// pack-header.ts read through it.

import type { OpenedFile } from './shard-stream.js';

/** Read access to the files of one pack. */
export interface PackFiles {
  /** Where the pack is (for messages), e.g. 'assets:/packs/default/'. */
  readonly name: string;
  /** The file's bytes, or null when it does not exist. */
  read(file: string): Promise<Uint8Array | null>;
  /** The file as a stream, or null when it does not exist (default: `read`'s bytes as one chunk). */
  open?(file: string): Promise<OpenedFile | null>;
}
