// DESIGN §3: reading safetensors checkpoints (one file, several files, or a sharded folder
// with `model.safetensors.index.json`) through a `ByteSource`, lazily: opening a file reads
// only its header; tensor bytes are read when a backend asks for them.
//
// File layout: u64 LE header length n | n bytes of JSON header (space-padded) | data section.
// Header: { "__metadata__"?: {string: string}, name: { dtype, shape, data_offsets: [begin, end] } }
// with offsets relative to the start of the data section.
//
// Everything is validated at open (house style H18): header length, JSON, dtypes, offsets
// against dtype × shape and the data section, overlaps, and for sharded checkpoints the weight
// map and per-shard sha256. Every failure names the file and, where there is one, the tensor.

import { CorruptWeightsError, UnsupportedDTypeError } from '../core/errors.js';
import { DTYPE_BYTES, type DType, type TensorEntry, type WeightStore } from '../core/weights.js';
import type { ByteSource } from './bytes.js';

/** safetensors dtype spelling → engine dtype. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  F64: 'f64',
  U8: 'u8',
  I8: 'i8',
  I32: 'i32',
  I64: 'i64',
  F8_E4M3: 'f8_e4m3',
};

/** engine dtype → safetensors dtype spelling (the inverse of `SAFETENSORS_DTYPES`). */
export const SAFETENSORS_DTYPE_NAMES: Readonly<Record<DType, string>> = Object.fromEntries(
  Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k]),
) as Record<DType, string>;

/** File name of a sharded checkpoint's index (Hugging Face convention). */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** Largest JSON header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** A tensor inside a safetensors file, with where its bytes are. */
export interface SafetensorsTensor extends TensorEntry {
  /** Name of the file (the `ByteSource`) holding it. */
  readonly file: string;
  /** Absolute byte offset of the tensor's first byte in that file. */
  readonly offset: number;
  /** Synchronous `readInto`, present when the file's `ByteSource` has `readIntoSync`. */
  readIntoSync?(dst: Uint8Array): void;
  /** Read `dst.byteLength` bytes of the tensor from its byte `begin` (converters stream big tensors in pieces). */
  readRangeInto(dst: Uint8Array, begin: number): Promise<void>;
}

/** A `WeightStore` over one or more safetensors files. */
export interface SafetensorsStore extends WeightStore {
  get(name: string): SafetensorsTensor | undefined;
  /** Each file's `__metadata__` (empty when absent), by file name. */
  readonly metadata: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** One parsed safetensors file: its header and its tensors in file order. */
interface ParsedFile {
  readonly source: ByteSource;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: SafetensorsTensor[];
}

/** Per-shard integrity data from the index's `shards` field. */
export interface ShardInfo {
  /** Lower-case hex sha256 of the whole shard file. */
  readonly sha256?: string;
  /** Shard size in bytes. */
  readonly size?: number;
}

/**
 * `model.safetensors.index.json`, validated. The on-disk form is the Hugging Face one plus an
 * optional edgetron field `shards` (DESIGN §3):
 * `{ "metadata": {...}, "weight_map": { tensor: file }, "shards": { file: { "sha256": hex, "size": n } } }`.
 */
export interface SafetensorsIndex {
  readonly metadata: Readonly<Record<string, unknown>>;
  /** tensor name → shard file name, in index order. */
  readonly weightMap: ReadonlyMap<string, string>;
  /** shard file name → integrity data, for the shards that have any. */
  readonly shards: ReadonlyMap<string, ShardInfo>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseEntry(file: string, name: string, raw: unknown, dataStart: number, dataSize: number, source: ByteSource): SafetensorsTensor {
  if (!isObject(raw)) throw new CorruptWeightsError(file, `tensor ${name}: header entry must be an object`);
  const { dtype: dtypeName, shape, data_offsets: offsets } = raw;
  if (typeof dtypeName !== 'string') throw new CorruptWeightsError(file, `tensor ${name}: dtype must be a string`);
  const dtype = SAFETENSORS_DTYPES[dtypeName];
  if (!dtype) throw new UnsupportedDTypeError(name, dtypeName, Object.keys(SAFETENSORS_DTYPES));
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new CorruptWeightsError(file, `tensor ${name}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new CorruptWeightsError(file, `tensor ${name}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const byteLength = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== byteLength) {
    throw new CorruptWeightsError(
      file,
      `tensor ${name}: data_offsets [${begin}, ${end}) hold ${end - begin} bytes but ${dtypeName} [${shape.join(', ')}] needs ${byteLength}`,
    );
  }
  if (end > dataSize) {
    throw new CorruptWeightsError(
      file,
      `tensor ${name}: data_offsets [${begin}, ${end}) run past the data section of ${dataSize} bytes (file truncated?)`,
    );
  }
  const offset = dataStart + begin;
  const checkDst = (dst: Uint8Array) => {
    if (dst.byteLength !== byteLength) throw new RangeError(`tensor ${name}: destination has ${dst.byteLength} bytes, tensor has ${byteLength}`);
  };
  const readSync = source.readIntoSync?.bind(source);
  return {
    name,
    dtype,
    shape: shape as number[],
    byteLength,
    file,
    offset,
    async readInto(dst: Uint8Array): Promise<void> {
      checkDst(dst);
      await source.readInto(dst, offset);
    },
    async readRangeInto(dst: Uint8Array, begin: number): Promise<void> {
      if (!(Number.isSafeInteger(begin) && begin >= 0 && begin + dst.byteLength <= byteLength)) {
        throw new RangeError(`tensor ${name}: range [${begin}, ${begin + dst.byteLength}) is outside its ${byteLength} bytes`);
      }
      await source.readInto(dst, offset + begin);
    },
    ...(readSync && {
      readIntoSync(dst: Uint8Array): void {
        checkDst(dst);
        readSync(dst, offset);
      },
    }),
  };
}

async function parseFile(source: ByteSource): Promise<ParsedFile> {
  const file = source.name;
  if (source.size < 8) throw new CorruptWeightsError(file, `file has ${source.size} bytes, too short for the 8-byte header length`);
  const lenBytes = new Uint8Array(8);
  await source.readInto(lenBytes, 0);
  const view = new DataView(lenBytes.buffer);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new CorruptWeightsError(file, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (8 + headerLength > source.size) {
    throw new CorruptWeightsError(file, `header length ${headerLength} runs past the end of the file (${source.size} bytes)`);
  }
  const headerBytes = new Uint8Array(headerLength);
  await source.readInto(headerBytes, 8);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new CorruptWeightsError(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(header)) throw new CorruptWeightsError(file, 'header must be a JSON object');

  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw new CorruptWeightsError(file, '__metadata__ must be an object of strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    tensors.push(parseEntry(file, name, raw, dataStart, dataSize, source));
  }
  tensors.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1];
    if (tensors[i].offset < prev.offset + prev.byteLength) {
      throw new CorruptWeightsError(file, `tensors ${prev.name} and ${tensors[i].name} overlap`);
    }
  }
  return { source, metadata, tensors };
}

function makeStore(files: ParsedFile[], tensors: Map<string, SafetensorsTensor>, label: string): SafetensorsStore {
  return {
    source: label,
    metadata: new Map(files.map((f) => [f.source.name, f.metadata])),
    get: (name) => tensors.get(name),
    names: () => [...tensors.keys()],
    async close() {
      await Promise.all(files.map((f) => f.source.close()));
    },
  };
}

/** Parse each source in turn; on failure close every source, then rethrow. */
async function parseAll(sources: readonly ByteSource[]): Promise<ParsedFile[]> {
  const files: ParsedFile[] = [];
  try {
    for (const s of sources) files.push(await parseFile(s));
    return files;
  } catch (e) {
    await Promise.all(sources.map((s) => s.close()));
    throw e;
  }
}

/**
 * Open one or more safetensors files as a single lazy `WeightStore`. Only headers are read.
 * A tensor name present in two files is an error naming both.
 * @example
 * const store = await openSafetensorsStore([memorySource('model.safetensors', bytes)]);
 * const t = store.get('lm_head.weight')!;
 * const buf = new Uint8Array(t.byteLength);
 * await t.readInto(buf);
 */
export async function openSafetensorsStore(sources: readonly ByteSource[]): Promise<SafetensorsStore> {
  const files = await parseAll(sources);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const f of files) {
    for (const t of f.tensors) {
      const other = tensors.get(t.name);
      if (other) {
        await Promise.all(sources.map((s) => s.close()));
        throw new CorruptWeightsError(t.file, `tensor ${t.name} is also in ${other.file}`);
      }
      tensors.set(t.name, t);
    }
  }
  return makeStore(files, tensors, sources.map((s) => s.name).join(', '));
}

/**
 * Validate a parsed `model.safetensors.index.json`. `indexName` is used in error messages.
 * @example
 * const index = parseSafetensorsIndex(JSON.parse(text), 'model.safetensors.index.json');
 * [...new Set(index.weightMap.values())]; // shard file names
 */
export function parseSafetensorsIndex(json: unknown, indexName: string): SafetensorsIndex {
  if (!isObject(json)) throw new CorruptWeightsError(indexName, 'index must be a JSON object');
  const { weight_map: map, metadata = {}, shards = {} } = json;
  if (!isObject(map)) throw new CorruptWeightsError(indexName, 'weight_map must be an object of tensor → shard file');
  if (!isObject(metadata)) throw new CorruptWeightsError(indexName, 'metadata must be an object');
  if (!isObject(shards)) throw new CorruptWeightsError(indexName, 'shards must be an object of file → { sha256, size }');
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file === '') throw new CorruptWeightsError(indexName, `weight_map: tensor ${name} must map to a file name`);
    weightMap.set(name, file);
  }
  const shardInfo = new Map<string, ShardInfo>();
  for (const [file, info] of Object.entries(shards)) {
    if (!isObject(info)) throw new CorruptWeightsError(indexName, `shards: ${file} must be an object`);
    const { sha256, size } = info;
    if (sha256 !== undefined && !(typeof sha256 === 'string' && /^[0-9a-fA-F]{64}$/.test(sha256))) {
      throw new CorruptWeightsError(indexName, `shards: ${file}: sha256 must be 64 hex digits`);
    }
    if (size !== undefined && !isCount(size)) throw new CorruptWeightsError(indexName, `shards: ${file}: size must be a byte count`);
    shardInfo.set(file, { sha256: sha256?.toLowerCase(), size });
  }
  return { metadata, weightMap, shards: shardInfo };
}

/**
 * Hex sha256 of a whole source, read into memory at once (portable: Web Crypto). Meant for
 * edge-pack shards (≤ 24 MiB); Node callers with large shards pass a streaming hasher instead.
 * @example
 * await sha256OfSource(memorySource('empty', new Uint8Array(0))); // 'e3b0c442…b855'
 */
export async function sha256OfSource(source: ByteSource): Promise<string> {
  const bytes = new Uint8Array(source.size);
  await source.readInto(bytes, 0);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface OpenShardedOptions {
  /** Open a shard named in the weight map (relative to the index). */
  openShard(file: string): Promise<ByteSource>;
  /** Check each shard's size and sha256 against the index's `shards` field (default true). */
  verify?: boolean;
  /** Hash a shard; defaults to `sha256OfSource`. Node callers pass a streaming hasher. */
  sha256?: (source: ByteSource) => Promise<string>;
}

/**
 * Open a sharded checkpoint from its index. Opens every shard the weight map names, verifies
 * sizes and sha256s the index lists, and checks that each shard holds exactly the tensors the
 * map assigns to it. Errors name the index, the shard and the tensor.
 * @example
 * const store = await openShardedSafetensors('model.safetensors.index.json', indexJson, {
 *   openShard: (file) => openFileSource(join(dir, file)),
 * });
 */
export async function openShardedSafetensors(indexName: string, indexJson: unknown, options: OpenShardedOptions): Promise<SafetensorsStore> {
  const index = parseSafetensorsIndex(indexJson, indexName);
  const shardNames = [...new Set(index.weightMap.values())];
  const sources: ByteSource[] = [];
  const closeAll = () => Promise.all(sources.map((s) => s.close()));
  try {
    for (const shard of shardNames) {
      try {
        sources.push(await options.openShard(shard));
      } catch (e) {
        throw new CorruptWeightsError(indexName, `cannot open shard ${shard}: ${(e as Error).message}`);
      }
      const source = sources[sources.length - 1];
      const info = index.shards.get(shard);
      if (options.verify === false || !info) continue;
      if (info.size !== undefined && info.size !== source.size) {
        throw new CorruptWeightsError(source.name, `size is ${source.size} bytes but ${indexName} says ${info.size}`);
      }
      if (info.sha256 !== undefined) {
        const actual = await (options.sha256 ?? sha256OfSource)(source);
        if (actual !== info.sha256) throw new CorruptWeightsError(source.name, `sha256 is ${actual} but ${indexName} says ${info.sha256}`);
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  const files = await parseAll(sources);
  const byShard = new Map(files.map((f, i) => [shardNames[i], new Map(f.tensors.map((t) => [t.name, t]))]));
  const pathOf = new Map(files.map((f, i) => [shardNames[i], f.source.name]));
  const tensors = new Map<string, SafetensorsTensor>();
  try {
    for (const [name, shard] of index.weightMap) {
      const t = byShard.get(shard)!.get(name);
      if (!t) throw new CorruptWeightsError(indexName, `tensor ${name} is mapped to ${shard}, which does not contain it`);
      tensors.set(name, t);
    }
    for (const [shard, inShard] of byShard) {
      for (const name of inShard.keys()) {
        const mapped = index.weightMap.get(name);
        if (mapped !== shard) {
          throw new CorruptWeightsError(pathOf.get(shard)!, `holds tensor ${name}, which ${indexName} ${mapped ? `maps to ${mapped}` : 'does not list'}`);
        }
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return makeStore(files, tensors, indexName);
}
