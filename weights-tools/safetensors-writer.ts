// DESIGN §3–4: writing safetensors files one tensor at a time, as one file or as shards with
// a `model.safetensors.index.json` that lists a sha256 per shard (the edge pack layout). The header is computed up
// front from the tensor list (names, dtypes, shapes), so a 60 GB model streams to disk with
// only one chunk in memory. Tensors are laid out contiguously in the given order, as the
// format requires; the JSON header is space-padded so the data section starts on an
// `alignment`-byte boundary (8 by default, as the format recommends).

import { createHash } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DTYPE_BYTES, type DType } from '../engine/core/weights.js';
import { SAFETENSORS_DTYPE_NAMES, SAFETENSORS_INDEX_FILE } from '../engine/formats/safetensors.js';

/** What the writer needs to know about a tensor before its bytes exist. */
export interface TensorDecl {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A declared tensor with its place in the data section. */
export interface TensorLayout extends TensorDecl {
  readonly byteLength: number;
  /** Offset of the first byte, relative to the data section (the header's data_offsets[0]). */
  readonly begin: number;
}

/** The complete layout of a file: its header bytes and where every tensor goes. */
export interface SafetensorsLayout {
  /** u64 LE header length followed by the padded JSON header. */
  readonly header: Uint8Array;
  readonly tensors: readonly TensorLayout[];
  /** header.byteLength + the data section. */
  readonly fileSize: number;
}

/**
 * Compute a file's header and tensor offsets from the tensor list alone.
 * @example
 * const layout = planSafetensors([{ name: 'w', dtype: 'f32', shape: [2, 3] }]);
 * layout.tensors[0].begin; // 0
 * layout.fileSize;         // layout.header.byteLength + 24
 */
export function planSafetensors(
  tensors: readonly TensorDecl[],
  metadata: Readonly<Record<string, string>> = {},
  alignment = 8,
): SafetensorsLayout {
  if (!(Number.isInteger(alignment) && alignment >= 8 && (alignment & (alignment - 1)) === 0)) {
    throw new RangeError(`alignment must be a power of two ≥ 8, got ${alignment}`);
  }
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  const layout: TensorLayout[] = [];
  let begin = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in json) throw new RangeError(`duplicate or reserved tensor name ${t.name}`);
    const byteLength = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    json[t.name] = { dtype: SAFETENSORS_DTYPE_NAMES[t.dtype], shape: t.shape, data_offsets: [begin, begin + byteLength] };
    layout.push({ ...t, byteLength, begin });
    begin += byteLength;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil((8 + text.byteLength) / alignment) * alignment - 8;
  const header = new Uint8Array(8 + padded).fill(0x20); // ' ' pads the JSON
  const view = new DataView(header.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  header.set(text, 8);
  return { header, tensors: layout, fileSize: header.byteLength + begin };
}

/** A tensor with its bytes already in memory. */
export interface TensorData extends TensorDecl {
  readonly data: Uint8Array;
}

/**
 * Serialize small tensors into one in-memory safetensors file (tests, tiny checkpoints).
 * @example
 * const bytes = serializeSafetensors([{ name: 'w', dtype: 'f32', shape: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) }]);
 */
export function serializeSafetensors(tensors: readonly TensorData[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const { header, tensors: layout, fileSize } = planSafetensors(tensors, metadata);
  const out = new Uint8Array(fileSize);
  out.set(header);
  for (const [i, t] of layout.entries()) {
    if (tensors[i].data.byteLength !== t.byteLength) {
      throw new RangeError(`tensor ${t.name}: ${tensors[i].data.byteLength} bytes of data, shape needs ${t.byteLength}`);
    }
    out.set(tensors[i].data, header.byteLength + t.begin);
  }
  return out;
}

/** Produces one tensor's bytes in order, handing each chunk to `write` (awaited before reuse). */
export type TensorFiller = (tensor: TensorLayout, write: (chunk: Uint8Array) => Promise<void>) => Promise<void>;

export interface WriteSafetensorsOptions {
  metadata?: Readonly<Record<string, string>>;
  alignment?: number;
  /** Called after each tensor is complete. */
  onTensor?: (tensor: TensorLayout, index: number, count: number) => void;
}

/** What a finished write produced. */
export interface WrittenSafetensors {
  readonly layout: SafetensorsLayout;
  /** Lower-case hex sha256 of the whole file, computed while writing. */
  readonly sha256: string;
}

/**
 * Stream a safetensors file to `path`, one tensor at a time: `fill` is called for each
 * declared tensor in order and must write exactly its byteLength. The file appears under its
 * name only when complete (written to `path.partial`, then renamed).
 * @example
 * await writeSafetensorsFile('model.safetensors', [{ name: 'w', dtype: 'f32', shape: [4] }], async (t, write) => {
 *   await write(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
 * });
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: readonly TensorDecl[],
  fill: TensorFiller,
  options: WriteSafetensorsOptions = {},
): Promise<WrittenSafetensors> {
  const layout = planSafetensors(tensors, options.metadata, options.alignment);
  const partial = `${path}.partial`;
  const fh = await open(partial, 'w');
  const hash = createHash('sha256');
  let complete = false;
  try {
    let position = 0;
    const put = async (chunk: Uint8Array) => {
      hash.update(chunk);
      for (let done = 0; done < chunk.byteLength; ) {
        const { bytesWritten } = await fh.write(chunk, done, chunk.byteLength - done, position + done);
        done += bytesWritten;
      }
      position += chunk.byteLength;
    };
    await put(layout.header);
    for (const [i, t] of layout.tensors.entries()) {
      const end = layout.header.byteLength + t.begin + t.byteLength;
      await fill(t, async (chunk) => {
        if (position + chunk.byteLength > end) throw new RangeError(`tensor ${t.name}: filler wrote more than ${t.byteLength} bytes`);
        await put(chunk);
      });
      if (position !== end) throw new RangeError(`tensor ${t.name}: filler wrote ${t.byteLength - (end - position)} of ${t.byteLength} bytes`);
      options.onTensor?.(t, i, layout.tensors.length);
    }
    complete = true;
  } finally {
    await fh.close();
    if (!complete) await rm(partial, { force: true });
  }
  await rename(partial, path);
  return { layout, sha256: hash.digest('hex') };
}

export interface WriteShardedOptions extends WriteSafetensorsOptions {
  /** Largest shard file in bytes (header included); a single larger tensor gets a shard of its own. */
  maxShardBytes: number;
}

/** What a sharded write produced. */
export interface WrittenShards {
  /** Shard file names, in order. */
  readonly files: readonly string[];
  /** The index as written (engine/formats/safetensors.ts `parseSafetensorsIndex` reads it). */
  readonly index: {
    metadata: { total_size: number };
    weight_map: Record<string, string>;
    shards: Record<string, { sha256: string; size: number }>;
  };
}

/** Split tensors, in order, into groups whose planned files stay within maxBytes. */
function partition(tensors: readonly TensorDecl[], maxBytes: number, metadata?: Readonly<Record<string, string>>, alignment?: number): TensorDecl[][] {
  const groups: TensorDecl[][] = [];
  let current: TensorDecl[] = [];
  for (const t of tensors) {
    if (current.length > 0 && planSafetensors([...current, t], metadata, alignment).fileSize > maxBytes) {
      groups.push(current);
      current = [];
    }
    current.push(t);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Stream tensors into `model-0000K-of-0000N.safetensors` shards of at most `maxShardBytes`,
 * then write `model.safetensors.index.json` with the weight map and each shard's sha256 and
 * size (DESIGN §3). Tensors keep their order; `fill` is called once per tensor as in
 * `writeSafetensorsFile`.
 * @example
 * await writeShardedSafetensors('pack', decls, fill, { maxShardBytes: 24 * 2 ** 20, alignment: 16 });
 * const store = await openShardedSafetensors('pack/model.safetensors.index.json', index, { openShard });
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: readonly TensorDecl[],
  fill: TensorFiller,
  options: WriteShardedOptions,
): Promise<WrittenShards> {
  const groups = partition(tensors, options.maxShardBytes, options.metadata, options.alignment);
  const pad = (n: number) => String(n).padStart(5, '0');
  const files = groups.map((_, k) => `model-${pad(k + 1)}-of-${pad(groups.length)}.safetensors`);
  const index: WrittenShards['index'] = { metadata: { total_size: 0 }, weight_map: {}, shards: {} };
  let done = 0;
  for (const [k, group] of groups.entries()) {
    const written = await writeSafetensorsFile(join(dir, files[k]), group, fill, {
      metadata: options.metadata,
      alignment: options.alignment,
      onTensor: (t) => options.onTensor?.(t, done++, tensors.length),
    });
    for (const t of written.layout.tensors) {
      index.weight_map[t.name] = files[k];
      index.metadata.total_size += t.byteLength;
    }
    index.shards[files[k]] = { sha256: written.sha256, size: written.layout.fileSize };
  }
  await writeFile(join(dir, SAFETENSORS_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  return { files, index };
}
