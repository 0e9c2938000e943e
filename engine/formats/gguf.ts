// spec §13: the GGUF container (ggml's gguf.h), read through a portable `ByteSource` (no `fs`).
// Only the header is read at open; tensor bytes are read when asked for.
//
// File layout (little-endian; versions 2 and 3):
//   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv × { string key | u32 value type | value }
//   n_tensors × { string name | u32 n_dims | u64 ne[n_dims] (innermost first) | u32 ggml type | u64 offset }
//   padding to `general.alignment` (default 32) | data section (each tensor at data start + offset)
// string = u64 length | UTF-8 bytes; array = u32 item type | u64 count | items.
//
// Validation at open (house style H18): every count and length is checked against the bytes
// that remain in the file before anything is allocated, so a mutated header can neither crash
// the reader nor make it allocate more than the file could hold. Errors name the file and,
// where there is one, the key or tensor.

import { CorruptWeightsError, UnsupportedGgufTypeError } from '../core/errors.js';
import type { ByteSource } from './bytes.js';
import { GGML_SUPPORTED, ggmlTypeName, type GgmlTypeInfo } from './ggml-types.js';

/** GGUF metadata value types (gguf.h `enum gguf_type`). */
export const GGUF_VALUE = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** Bytes of each fixed-size value type. */
const SCALAR_BYTES: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** Alignment of tensor data when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml tensors have at most 4 dimensions. */
export const GGUF_MAX_DIMS = 4;
/** Longest string accepted in a header (a whole tokenizer.json fits). */
export const GGUF_MAX_STRING = 64 << 20;
/** Largest header accepted (the Nano tokenizer's 131072 tokens and merges take a few MiB). */
export const GGUF_MAX_HEADER = 256 << 20;
/** First read of the header; it grows ×4 while the header needs more. */
const FIRST_READ = 1 << 20;

/** A scalar metadata value: integers that do not fit a double exactly are bigints. */
export type GgufScalar = number | bigint | boolean | string;

/** One metadata entry: its GGUF type, and for arrays the item type. */
export interface GgufKV {
  readonly type: number;
  readonly itemType?: number;
  readonly value: GgufScalar | GgufScalar[];
}

/** One tensor of the file, in GGUF's own terms. */
export interface GgufTensorInfo {
  readonly name: string;
  /** ne[0..n): innermost (contiguous) dimension first, as ggml stores it. */
  readonly dims: readonly number[];
  readonly type: GgmlTypeInfo;
  /** Absolute offset of the first byte in the file. */
  readonly offset: number;
  readonly byteLength: number;
  readonly nValues: number;
}

/** An opened GGUF file: header parsed, data left on the source. */
export interface GgufFile {
  readonly source: ByteSource;
  readonly version: number;
  readonly alignment: number;
  readonly metadata: ReadonlyMap<string, GgufKV>;
  /** Tensors in file order. */
  readonly tensors: readonly GgufTensorInfo[];
  readonly tensorsByName: ReadonlyMap<string, GgufTensorInfo>;
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
}

/** Thrown inside the parser when the header buffer is too short; the caller reads more. */
const NEED_MORE = Symbol('need more header bytes');

/** A cursor over the first `buf.byteLength` bytes of a file of `fileSize` bytes. */
class Cursor {
  pos = 0;
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder('utf-8');

  constructor(
    private readonly file: string,
    private readonly buf: Uint8Array,
    private readonly fileSize: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(detail: string): never {
    throw new CorruptWeightsError(this.file, detail);
  }

  /** Bytes left in the file after the cursor. */
  get remaining(): number {
    return this.fileSize - this.pos;
  }

  private need(n: number, what: string): number {
    if (n > this.remaining) this.fail(`truncated: ${what} needs ${n} bytes at offset ${this.pos} but the file has ${this.fileSize}`);
    if (this.pos + n > this.buf.byteLength) throw NEED_MORE;
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }

  /** A u64 that must be a count or offset: an exact double. */
  count(what: string): number {
    const at = this.need(8, what);
    const v = this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * 2 ** 32;
    if (!Number.isSafeInteger(v)) this.fail(`${what} is ${this.view.getBigUint64(at, true)}, too large`);
    return v;
  }

  string(what: string): string {
    const n = this.count(`${what} length`);
    if (n > GGUF_MAX_STRING) this.fail(`${what} is ${n} bytes long, over the ${GGUF_MAX_STRING}-byte limit`);
    const at = this.need(n, what);
    return this.utf8.decode(this.buf.subarray(at, at + n));
  }

  scalar(type: number, what: string): GgufScalar {
    const at = this.need(SCALAR_BYTES[type], what);
    const v = this.view;
    switch (type) {
      case GGUF_VALUE.UINT8:
        return v.getUint8(at);
      case GGUF_VALUE.INT8:
        return v.getInt8(at);
      case GGUF_VALUE.UINT16:
        return v.getUint16(at, true);
      case GGUF_VALUE.INT16:
        return v.getInt16(at, true);
      case GGUF_VALUE.UINT32:
        return v.getUint32(at, true);
      case GGUF_VALUE.INT32:
        return v.getInt32(at, true);
      case GGUF_VALUE.FLOAT32:
        return v.getFloat32(at, true);
      case GGUF_VALUE.BOOL: {
        const b = v.getUint8(at);
        if (b > 1) this.fail(`${what}: bool byte is ${b}, not 0 or 1`);
        return b === 1;
      }
      case GGUF_VALUE.UINT64:
        return exact(v.getBigUint64(at, true));
      case GGUF_VALUE.INT64:
        return exact(v.getBigInt64(at, true));
      default:
        return v.getFloat64(at, true);
    }
  }

  value(type: number, what: string): GgufKV {
    if (type === GGUF_VALUE.STRING) return { type, value: this.string(what) };
    if (type !== GGUF_VALUE.ARRAY) {
      if (SCALAR_BYTES[type] === undefined) this.fail(`${what}: unknown value type ${type}`);
      return { type, value: this.scalar(type, what) };
    }
    const itemType = this.u32(`${what} item type`);
    const n = this.count(`${what} item count`);
    const itemBytes = itemType === GGUF_VALUE.STRING ? 8 : SCALAR_BYTES[itemType];
    if (itemBytes === undefined) this.fail(`${what}: arrays of value type ${itemType} are not allowed`);
    if (n * itemBytes > this.remaining) this.fail(`${what}: ${n} items cannot fit in the ${this.remaining} bytes left in the file (truncated or corrupt)`);
    const items: GgufScalar[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = itemType === GGUF_VALUE.STRING ? this.string(`${what}[${i}]`) : this.scalar(itemType, what);
    return { type, itemType, value: items };
  }
}

/** A 64-bit integer as a number when that is exact, else as the bigint. */
function exact(v: bigint): number | bigint {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

function parseHeader(source: ByteSource, buf: Uint8Array): GgufFile {
  const file = source.name;
  const c = new Cursor(file, buf, source.size);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) c.fail(`not a GGUF file (magic 0x${magic.toString(16).padStart(8, '0')}, expected "GGUF")`);
  const version = c.u32('version');
  if (version !== 2 && version !== 3) c.fail(`GGUF version ${version} is not supported (2 or 3; big-endian files are not supported)`);
  const nTensors = c.count('tensor count');
  const nKv = c.count('metadata count');
  // each entry takes at least a 9-byte key string + type; each tensor info at least 8 + 4 + 4 + 8
  if (nKv * 13 > c.remaining) c.fail(`metadata count ${nKv} cannot fit in the file (truncated or corrupt)`);
  if (nTensors * 24 > c.remaining) c.fail(`tensor count ${nTensors} cannot fit in the file (truncated or corrupt)`);

  const metadata = new Map<string, GgufKV>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key ${i}`);
    const type = c.u32(`metadata ${key} type`);
    if (metadata.has(key)) c.fail(`metadata key ${key} appears twice`);
    metadata.set(key, c.value(type, `metadata ${key}`));
  }
  const align = metadata.get('general.alignment');
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (align !== undefined) {
    const a = align.value;
    if (align.type !== GGUF_VALUE.UINT32 || typeof a !== 'number' || a === 0 || (a & (a - 1)) !== 0) {
      c.fail(`metadata general.alignment must be a u32 power of two, got ${String(a)}`);
    }
    alignment = a as number;
  }

  const infos: { name: string; dims: number[]; type: GgmlTypeInfo; rel: number; nValues: number; byteLength: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor ${i} name`);
    if (seen.has(name)) c.fail(`tensor ${name} appears twice`);
    seen.add(name);
    const nDims = c.u32(`tensor ${name} dimension count`);
    if (nDims < 1 || nDims > GGUF_MAX_DIMS) c.fail(`tensor ${name} has ${nDims} dimensions (1 to ${GGUF_MAX_DIMS} allowed)`);
    const dims: number[] = [];
    let nValues = 1;
    for (let d = 0; d < nDims; d++) {
      const ne = c.count(`tensor ${name} dimension ${d}`);
      dims.push(ne);
      nValues *= ne;
      if (nValues > source.size * 2) c.fail(`tensor ${name} has dimensions [${dims.join(', ')}…], more values than the file could hold (truncated or corrupt)`);
    }
    const typeId = c.u32(`tensor ${name} type`);
    const type = GGML_SUPPORTED.get(typeId);
    if (!type) throw new UnsupportedGgufTypeError(file, name, ggmlTypeName(typeId), [...GGML_SUPPORTED.values()].map((t) => t.name));
    if (dims[0] % type.blockValues !== 0) {
      c.fail(`tensor ${name}: row length ${dims[0]} is not a multiple of the ${type.name} block (${type.blockValues})`);
    }
    const rel = c.count(`tensor ${name} offset`);
    if (rel % alignment !== 0) c.fail(`tensor ${name}: data offset ${rel} is not a multiple of the alignment ${alignment}`);
    infos.push({ name, dims, type, rel, nValues, byteLength: (nValues / type.blockValues) * type.blockBytes });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const dataSize = source.size - dataOffset;
  const tensors: GgufTensorInfo[] = infos.map(({ name, dims, type, rel, nValues, byteLength }) => {
    if (rel + byteLength > dataSize) {
      c.fail(`tensor ${name}: bytes [${rel}, ${rel + byteLength}) of the data section run past its end (${Math.max(dataSize, 0)} bytes; file truncated?)`);
    }
    return { name, dims, type, offset: dataOffset + rel, byteLength, nValues };
  });
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (sorted[i].offset < prev.offset + prev.byteLength) c.fail(`tensors ${prev.name} and ${sorted[i].name} overlap`);
  }
  return { source, version, alignment, metadata, tensors, tensorsByName: new Map(tensors.map((t) => [t.name, t])), dataOffset };
}

/**
 * Open a GGUF file: read and validate its header (metadata and tensor infos). Tensor data stays
 * on the source. Throws `CorruptWeightsError` (file and key or tensor named) for any malformed
 * or truncated header and `UnsupportedGgufTypeError` for a tensor type edgetron cannot read.
 * @example
 * const gguf = await openGguf(await openFileSource('model-q8_0.gguf'));
 * gguf.metadata.get('general.architecture')?.value; // 'nemotron_h_moe'
 */
export async function openGguf(source: ByteSource): Promise<GgufFile> {
  let size = Math.min(FIRST_READ, source.size);
  for (;;) {
    const buf = new Uint8Array(size);
    await source.readInto(buf, 0);
    try {
      return parseHeader(source, buf);
    } catch (e) {
      if (e !== NEED_MORE) throw e;
    }
    if (size >= GGUF_MAX_HEADER) throw new CorruptWeightsError(source.name, `header is larger than the ${GGUF_MAX_HEADER}-byte limit`);
    size = Math.min(size * 4, source.size, GGUF_MAX_HEADER);
  }
}

/**
 * Read a tensor's raw bytes (its ggml blocks) into `dst` (`dst.byteLength === info.byteLength`).
 * @example
 * const raw = new Uint8Array(info.byteLength);
 * await readGgufTensor(gguf, info, raw);
 */
export async function readGgufTensor(gguf: GgufFile, info: GgufTensorInfo, dst: Uint8Array): Promise<void> {
  if (dst.byteLength !== info.byteLength) throw new RangeError(`tensor ${info.name}: destination has ${dst.byteLength} bytes, tensor has ${info.byteLength}`);
  await gguf.source.readInto(dst, info.offset);
}
