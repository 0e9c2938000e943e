// spec §13: writing GGUF files (the layout engine/gguf.ts reads). The header is built in memory
// (metadata and tensor infos: small), tensor data follows, each tensor at a multiple of the
// alignment, zero-padded.
//
//   u32 "GGUF" | u32 version 3 | u64 n_tensors | u64 n_kv | kv… | tensor infos… | pad | data

import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VALUE, type GgufKV, type GgufScalar } from '../engine/gguf.js';
import { GGML_SUPPORTED } from '../engine/ggml-types.js';

/** A tensor to write: ggml type id, GGUF dims (innermost first), and its raw ggml bytes. */
export interface GgufTensorInput {
  readonly name: string;
  readonly type: number;
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export interface GgufWriteOptions {
  /** Tensor data alignment; written as `general.alignment` when not the default 32. */
  readonly alignment?: number;
}

const SCALAR_BYTES: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Growable little-endian byte buffer. */
class ByteWriter {
  private buf = new Uint8Array(1 << 12);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private readonly utf8 = new TextEncoder();

  private room(n: number): number {
    if (this.length + n > this.buf.byteLength) {
      const grown = new Uint8Array(Math.max(this.buf.byteLength * 2, this.length + n));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
  }

  u64(v: number | bigint): void {
    const at = this.room(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }

  bytes(b: Uint8Array): void {
    const at = this.room(b.byteLength);
    this.buf.set(b, at);
  }

  string(s: string): void {
    const b = this.utf8.encode(s);
    this.u64(b.byteLength);
    this.bytes(b);
  }

  scalar(type: number, v: GgufScalar): void {
    if (type === GGUF_VALUE.STRING) return this.string(v as string);
    const at = this.room(SCALAR_BYTES[type]);
    const d = this.view;
    switch (type) {
      case GGUF_VALUE.UINT8:
        return d.setUint8(at, v as number);
      case GGUF_VALUE.INT8:
        return d.setInt8(at, v as number);
      case GGUF_VALUE.UINT16:
        return d.setUint16(at, v as number, true);
      case GGUF_VALUE.INT16:
        return d.setInt16(at, v as number, true);
      case GGUF_VALUE.UINT32:
        return d.setUint32(at, v as number, true);
      case GGUF_VALUE.INT32:
        return d.setInt32(at, v as number, true);
      case GGUF_VALUE.FLOAT32:
        return d.setFloat32(at, v as number, true);
      case GGUF_VALUE.BOOL:
        return d.setUint8(at, v ? 1 : 0);
      case GGUF_VALUE.UINT64:
        return d.setBigUint64(at, BigInt(v as number | bigint), true);
      case GGUF_VALUE.INT64:
        return d.setBigInt64(at, BigInt(v as number | bigint), true);
      default:
        return d.setFloat64(at, v as number, true);
    }
  }

  pad(alignment: number): void {
    this.room((alignment - (this.length % alignment)) % alignment);
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Metadata helpers: the GGUF type of each value is explicit. */
export const kv = {
  u32: (value: number): GgufKV => ({ type: GGUF_VALUE.UINT32, value }),
  i32: (value: number): GgufKV => ({ type: GGUF_VALUE.INT32, value }),
  f32: (value: number): GgufKV => ({ type: GGUF_VALUE.FLOAT32, value }),
  bool: (value: boolean): GgufKV => ({ type: GGUF_VALUE.BOOL, value }),
  str: (value: string): GgufKV => ({ type: GGUF_VALUE.STRING, value }),
  array: (itemType: number, value: GgufScalar[]): GgufKV => ({ type: GGUF_VALUE.ARRAY, itemType, value }),
};

/**
 * Encode a whole GGUF (version 3) in memory: metadata in the given order, then tensor infos,
 * then the data. `dims` are GGUF dims (innermost first); each tensor's byte length must match
 * its type and dims.
 * @example
 * const bytes = encodeGguf(new Map([['general.architecture', kv.str('nemotron_h')]]), [
 *   { name: 'output_norm.weight', type: GGML_TYPE.F32, dims: [4], data: new Uint8Array(16) },
 * ]);
 */
export function encodeGguf(metadata: ReadonlyMap<string, GgufKV>, tensors: readonly GgufTensorInput[], options: GgufWriteOptions = {}): Uint8Array {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const meta = new Map(metadata);
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) meta.set('general.alignment', kv.u32(alignment));
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.size);
  for (const [key, entry] of meta) {
    w.string(key);
    w.u32(entry.type);
    if (entry.type !== GGUF_VALUE.ARRAY) {
      w.scalar(entry.type, entry.value as GgufScalar);
      continue;
    }
    const items = entry.value as GgufScalar[];
    w.u32(entry.itemType!);
    w.u64(items.length);
    for (const item of items) w.scalar(entry.itemType!, item);
  }
  let offset = 0;
  for (const t of tensors) {
    const info = GGML_SUPPORTED.get(t.type);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (!info || (n / info.blockValues) * info.blockBytes !== t.data.byteLength) {
      throw new RangeError(`tensor ${t.name}: ${t.data.byteLength} bytes do not match type ${t.type} with dims [${t.dims.join(', ')}]`);
    }
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(offset);
    offset += Math.ceil(t.data.byteLength / alignment) * alignment;
  }
  w.pad(alignment);
  for (const t of tensors) {
    w.bytes(t.data);
    w.pad(alignment);
  }
  return w.result();
}
