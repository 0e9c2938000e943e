import { describe, expect, it } from 'vitest';
import { CorruptWeightsError, UnsupportedDTypeError } from '../../../engine/core/errors.js';
import type { DType } from '../../../engine/core/weights.js';
import { memorySource, type ByteSource } from '../../../engine/formats/bytes.js';
import {
  MAX_HEADER_BYTES,
  openSafetensorsStore,
  openShardedSafetensors,
  parseSafetensorsIndex,
  sha256OfSource,
} from '../../../engine/formats/safetensors.js';
import { serializeSafetensors, type TensorData } from '../../../weights-tools/safetensors-writer.js';

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f32 = (...v: number[]) => bytesOf(new Float32Array(v));

/** A file from a raw header (object or exact text) and a data section. */
function rawFile(header: unknown, data = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.byteLength + data.byteLength);
  new DataView(out.buffer).setUint32(0, text.byteLength, true);
  out.set(text, 8);
  out.set(data, 8 + text.byteLength);
  return out;
}

async function read(store: Awaited<ReturnType<typeof openSafetensorsStore>>, name: string): Promise<Uint8Array> {
  const t = store.get(name)!;
  const buf = new Uint8Array(t.byteLength);
  await t.readInto(buf);
  return buf;
}

const open = (name: string, bytes: Uint8Array) => openSafetensorsStore([memorySource(name, bytes)]);

describe('openSafetensorsStore: round trip through the writer', () => {
  const tensors: TensorData[] = [
    { name: 'a.f32', dtype: 'f32', shape: [2, 3], data: f32(1, 2, 3, 4, 5, 6) },
    { name: 'b.f16', dtype: 'f16', shape: [3], data: bytesOf(new Uint16Array([0x3c00, 0x4000, 0xc000])) },
    { name: 'c.bf16', dtype: 'bf16', shape: [1, 1, 2], data: bytesOf(new Uint16Array([0x3f80, 0x4040])) },
    { name: 'd.f64', dtype: 'f64', shape: [1], data: bytesOf(new Float64Array([Math.PI])) },
    { name: 'e.u8', dtype: 'u8', shape: [5], data: new Uint8Array([1, 2, 3, 4, 250]) },
    { name: 'f.i8', dtype: 'i8', shape: [2], data: bytesOf(new Int8Array([-1, 7])) },
    { name: 'g.i32', dtype: 'i32', shape: [2], data: bytesOf(new Int32Array([-5, 1 << 30])) },
    { name: 'h.i64', dtype: 'i64', shape: [1], data: bytesOf(new BigInt64Array([-3n])) },
    { name: 'i.f8', dtype: 'f8_e4m3', shape: [2, 2], data: new Uint8Array([0x38, 0x40, 0xb8, 0x7e]) },
    { name: 'j.scalar', dtype: 'f32', shape: [], data: f32(0.5) },
    { name: 'k.empty', dtype: 'f32', shape: [0, 4], data: new Uint8Array(0) },
  ];
  const file = serializeSafetensors(tensors, { format: 'pt', note: 'x' });

  it('reads back every dtype, shape and byte, with the metadata', async () => {
    const store = await open('rt.safetensors', file);
    expect(store.names().sort()).toEqual(tensors.map((t) => t.name).sort());
    for (const t of tensors) {
      const e = store.get(t.name)!;
      expect([e.dtype, e.shape, e.byteLength, e.file]).toEqual([t.dtype satisfies DType, t.shape, t.data.byteLength, 'rt.safetensors']);
      expect(await read(store, t.name)).toEqual(t.data);
    }
    expect(store.metadata.get('rt.safetensors')).toEqual({ format: 'pt', note: 'x' });
    expect(store.source).toBe('rt.safetensors');
  });

  it('pads the header so the data section starts 8-byte aligned, and offsets are absolute', async () => {
    const n = new DataView(file.buffer).getUint32(0, true);
    expect((8 + n) % 8).toBe(0);
    const store = await open('rt.safetensors', file);
    expect(store.get('a.f32')!.offset).toBe(8 + n);
    expect(new Float32Array(file.slice(8 + n, 8 + n + 24).buffer)).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
  });

  it('rejects a destination buffer of the wrong size', async () => {
    const store = await open('rt.safetensors', file);
    await expect(store.get('a.f32')!.readInto(new Uint8Array(23))).rejects.toThrow(RangeError);
    expect(() => store.get('a.f32')!.readIntoSync!(new Uint8Array(25))).toThrow(RangeError);
  });

  it('offers a synchronous read exactly when the source has one', async () => {
    const store = await open('rt.safetensors', file);
    const dst = new Uint8Array(8);
    store.get('d.f64')!.readIntoSync!(dst);
    expect(new Float64Array(dst.buffer)[0]).toBe(Math.PI);
    const { readIntoSync: _, ...asyncOnly } = memorySource('async.safetensors', file);
    const store2 = await openSafetensorsStore([asyncOnly]);
    expect(store2.get('d.f64')!.readIntoSync).toBeUndefined();
  });

  it('merges several files into one store and names both files for a duplicate tensor', async () => {
    const a = serializeSafetensors([tensors[0]]);
    const b = serializeSafetensors([tensors[1]]);
    const store = await openSafetensorsStore([memorySource('a', a), memorySource('b', b)]);
    expect(store.names()).toEqual(['a.f32', 'b.f16']);
    expect(store.get('b.f16')!.file).toBe('b');
    await expect(openSafetensorsStore([memorySource('a', a), memorySource('a2', a)])).rejects.toThrow(/a2: tensor a\.f32 is also in a$/);
  });
});

describe('openSafetensorsStore: corrupt files', () => {
  const good = serializeSafetensors([
    { name: 'w1', dtype: 'f32', shape: [4], data: f32(1, 2, 3, 4) },
    { name: 'w2', dtype: 'f32', shape: [2], data: f32(5, 6) },
  ]);

  const rejects = async (bytes: Uint8Array, pattern: RegExp, cls: new (...a: never[]) => Error = CorruptWeightsError) => {
    const err = await open('bad.safetensors', bytes).catch((e: Error) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(pattern);
  };

  it('a truncated file: names the file and the tensor that runs past the end', async () => {
    await rejects(good.slice(0, good.byteLength - 4), /^bad\.safetensors: tensor w2: data_offsets \[16, 24\) run past the data section of 20 bytes/);
  });

  it('a header length larger than the file', async () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(0, good.byteLength, true);
    await rejects(bytes, new RegExp(`header length ${good.byteLength} runs past the end of the file \\(${good.byteLength} bytes\\)`));
  });

  it('a header length over the 100 MB limit, and one needing the high 32 bits', async () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(0, MAX_HEADER_BYTES + 1, true);
    await rejects(bytes, /exceeds the 104857600-byte limit/);
    new DataView(bytes.buffer).setUint32(0, 16, true);
    new DataView(bytes.buffer).setUint32(4, 1, true);
    await rejects(bytes, /header length 4294967312 exceeds/);
  });

  it('a file shorter than the header length field', async () => {
    await rejects(new Uint8Array(5), /file has 5 bytes, too short/);
  });

  it('a malformed JSON header, with the parser message', async () => {
    await rejects(rawFile('{"w": {"dtype": "F32",'), /bad\.safetensors: header is not valid JSON: .+/);
    await rejects(rawFile('[1, 2]'), /header must be a JSON object/);
  });

  it('data_offsets out of range, inconsistent with dtype × shape, or reversed', async () => {
    await rejects(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /tensor w: data_offsets \[0, 8\) run past/);
    await rejects(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(16)), /tensor w: .* hold 8 bytes but F32 \[3\] needs 12/);
    await rejects(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, new Uint8Array(16)), /tensor w: data_offsets must be \[begin, end\]/);
    await rejects(rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(16)), /tensor w: shape must be/);
  });

  it('overlapping tensors, naming both', async () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    await rejects(rawFile(header, new Uint8Array(12)), /tensors a and b overlap/);
  });

  it('an unknown dtype → UnsupportedDTypeError naming the tensor and the supported list', async () => {
    await rejects(rawFile({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor w has dtype C64; supported: F32, F16, BF16/, UnsupportedDTypeError);
  });

  it('a non-string __metadata__ value', async () => {
    await rejects(rawFile({ __metadata__: { n: 1 } }), /__metadata__ must be an object of strings/);
  });

  it('closes the sources when opening fails', async () => {
    let closed = 0;
    const src: ByteSource = { ...memorySource('bad', new Uint8Array(3)), close: async () => void closed++ };
    await expect(openSafetensorsStore([src])).rejects.toThrow(CorruptWeightsError);
    expect(closed).toBe(1);
  });
});

describe('openShardedSafetensors', () => {
  const shard1 = serializeSafetensors([
    { name: 'x', dtype: 'f32', shape: [2], data: f32(1, 2) },
    { name: 'y', dtype: 'f32', shape: [1], data: f32(3) },
  ]);
  const shard2 = serializeSafetensors([{ name: 'z', dtype: 'f32', shape: [3], data: f32(4, 5, 6) }]);
  const files: Record<string, Uint8Array> = { 's1.safetensors': shard1, 's2.safetensors': shard2 };
  const openShard = async (f: string) => {
    if (!files[f]) throw new Error(`ENOENT: no such file '${f}'`);
    return memorySource(f, files[f]);
  };
  const weightMap = { x: 's1.safetensors', y: 's1.safetensors', z: 's2.safetensors' };
  let sha1 = '';
  let sha2 = '';

  it('opens a good index with matching sha256s and sizes', async () => {
    sha1 = await sha256OfSource(memorySource('s1', shard1));
    sha2 = await sha256OfSource(memorySource('s2', shard2));
    const index = { metadata: { total_size: 24 }, weight_map: weightMap, shards: { 's1.safetensors': { sha256: sha1, size: shard1.byteLength }, 's2.safetensors': { sha256: sha2.toUpperCase() } } };
    const store = await openShardedSafetensors('idx.json', index, { openShard });
    expect(store.names()).toEqual(['x', 'y', 'z']);
    expect(store.source).toBe('idx.json');
    expect(new Float32Array((await read(store, 'z')).buffer)).toEqual(new Float32Array([4, 5, 6]));
    expect(store.get('y')!.file).toBe('s1.safetensors');
  });

  it('computes sha256 as the standard digest (empty input)', async () => {
    expect(await sha256OfSource(memorySource('e', new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('a missing shard: names the index and the shard', async () => {
    const index = { weight_map: { ...weightMap, w: 's3.safetensors' } };
    await expect(openShardedSafetensors('idx.json', index, { openShard })).rejects.toThrow(/^idx\.json: cannot open shard s3\.safetensors: ENOENT/);
  });

  it('a tensor mapped to a shard that does not contain it: names both', async () => {
    const index = { weight_map: { ...weightMap, z: 's1.safetensors', w: 's2.safetensors' } };
    const err = await openShardedSafetensors('idx.json', index, { openShard }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(CorruptWeightsError);
    expect((err as Error).message).toBe('idx.json: tensor z is mapped to s1.safetensors, which does not contain it');
  });

  it('a shard holding a tensor the index does not list', async () => {
    const index = { weight_map: { x: 's1.safetensors', z: 's2.safetensors' } };
    await expect(openShardedSafetensors('idx.json', index, { openShard })).rejects.toThrow('s1.safetensors: holds tensor y, which idx.json does not list');
  });

  it('a bad sha256: names the shard and both digests', async () => {
    const bad = '0'.repeat(64);
    const index = { weight_map: weightMap, shards: { 's2.safetensors': { sha256: bad } } };
    await expect(openShardedSafetensors('idx.json', index, { openShard })).rejects.toThrow(`s2.safetensors: sha256 is ${sha2} but idx.json says ${bad}`);
    const store = await openShardedSafetensors('idx.json', index, { openShard, verify: false });
    expect(store.names()).toHaveLength(3);
  });

  it('a size that disagrees with the index', async () => {
    const index = { weight_map: weightMap, shards: { 's1.safetensors': { size: 1 } } };
    await expect(openShardedSafetensors('idx.json', index, { openShard })).rejects.toThrow(`s1.safetensors: size is ${shard1.byteLength} bytes but idx.json says 1`);
  });

  it('closes every opened shard when verification fails', async () => {
    const closed: string[] = [];
    const tracking = async (f: string) => ({ ...(await openShard(f)), close: async () => void closed.push(f) });
    const index = { weight_map: weightMap, shards: { 's2.safetensors': { sha256: '1'.repeat(64) } } };
    await expect(openShardedSafetensors('idx.json', index, { openShard: tracking })).rejects.toThrow(CorruptWeightsError);
    expect(closed.sort()).toEqual(['s1.safetensors', 's2.safetensors']);
  });

  it('validates the index itself', () => {
    expect(() => parseSafetensorsIndex([], 'i')).toThrow('i: index must be a JSON object');
    expect(() => parseSafetensorsIndex({}, 'i')).toThrow(/weight_map must be an object/);
    expect(() => parseSafetensorsIndex({ weight_map: { a: 3 } }, 'i')).toThrow(/tensor a must map to a file name/);
    expect(() => parseSafetensorsIndex({ weight_map: {}, shards: { s: { sha256: 'abc' } } }, 'i')).toThrow(/s: sha256 must be 64 hex digits/);
  });
});
