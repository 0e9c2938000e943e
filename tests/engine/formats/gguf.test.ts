// engine/formats/gguf.ts: the GGUF header reader on hand-built files (every metadata type, arrays,
// alignment, v2 and v3) and its errors on malformed or truncated headers.

import { describe, expect, it } from 'vitest';
import { CorruptWeightsError, UnsupportedGgufTypeError } from '../../../engine/core/errors.js';
import { memorySource } from '../../../engine/formats/bytes.js';
import { GGML_TYPE } from '../../../engine/formats/ggml-types.js';
import { GGUF_VALUE, openGguf, readGgufTensor, type GgufKV } from '../../../engine/formats/gguf.js';
import { encodeGguf, kv } from '../../../weights-tools/gguf-writer.js';

const f32Bytes = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

/** Byte position of the n_dims field of tensor `name`'s info (right after its name string). */
function infoAt(bytes: Uint8Array, name: string): number {
  const pattern = new Uint8Array(8 + name.length);
  new DataView(pattern.buffer).setBigUint64(0, BigInt(name.length), true);
  pattern.set(new TextEncoder().encode(name), 8);
  for (let i = 24; i + pattern.length <= bytes.length; i++) {
    if (pattern.every((b, j) => bytes[i + j] === b)) return i + pattern.length;
  }
  throw new Error(`no tensor info for ${name}`);
}
/** Positions of a tensor info's fields: dims[d], type, offset. */
function fields(bytes: Uint8Array, name: string) {
  const at = infoAt(bytes, name);
  const nDims = new DataView(bytes.buffer).getUint32(at, true);
  return { dim: (d: number) => at + 4 + 8 * d, type: at + 4 + 8 * nDims, offset: at + 8 + 8 * nDims };
}

function sample(): { meta: Map<string, GgufKV>; bytes: Uint8Array } {
  const meta = new Map<string, GgufKV>([
    ['u8', { type: GGUF_VALUE.UINT8, value: 255 }],
    ['i8', { type: GGUF_VALUE.INT8, value: -128 }],
    ['u16', { type: GGUF_VALUE.UINT16, value: 65535 }],
    ['i16', { type: GGUF_VALUE.INT16, value: -32768 }],
    ['u32', kv.u32(4294967295)],
    ['i32', kv.i32(-2147483648)],
    ['f32', kv.f32(0.1)],
    ['bool', kv.bool(true)],
    ['str', kv.str('héllo <|im_end|>')],
    ['u64', { type: GGUF_VALUE.UINT64, value: 2n ** 64n - 1n }],
    ['u64small', { type: GGUF_VALUE.UINT64, value: 12345 }],
    ['i64', { type: GGUF_VALUE.INT64, value: -(2n ** 63n) }],
    ['f64', { type: GGUF_VALUE.FLOAT64, value: Math.PI }],
    ['arr.i32', kv.array(GGUF_VALUE.INT32, [0, -1, 7])],
    ['arr.str', kv.array(GGUF_VALUE.STRING, ['a', '', 'Ġthe'])],
    ['arr.empty', kv.array(GGUF_VALUE.FLOAT32, [])],
  ]);
  const bytes = encodeGguf(meta, [
    { name: 'a', type: GGML_TYPE.F32, dims: [3], data: f32Bytes(1, 2, 3) },
    { name: 'b', type: GGML_TYPE.F16, dims: [2, 2], data: new Uint8Array([0, 0x3c, 0, 0xc0, 0, 0, 1, 0]) },
  ]);
  return { meta, bytes };
}

describe('openGguf', () => {
  it('reads every metadata type, arrays included, with their exact values', async () => {
    const { bytes } = sample();
    const g = await openGguf(memorySource('s.gguf', bytes));
    expect(g.version).toBe(3);
    const v = (k: string) => g.metadata.get(k)!.value;
    expect([v('u8'), v('i8'), v('u16'), v('i16'), v('u32'), v('i32')]).toEqual([255, -128, 65535, -32768, 4294967295, -2147483648]);
    expect(v('f32')).toBe(Math.fround(0.1));
    expect(v('bool')).toBe(true);
    expect(v('str')).toBe('héllo <|im_end|>');
    expect(v('u64')).toBe(2n ** 64n - 1n); // not an exact double: kept as a bigint
    expect(v('u64small')).toBe(12345);
    expect(v('i64')).toBe(-(2n ** 63n));
    expect(v('f64')).toBe(Math.PI);
    expect(v('arr.i32')).toEqual([0, -1, 7]);
    expect(g.metadata.get('arr.str')).toEqual({ type: GGUF_VALUE.ARRAY, itemType: GGUF_VALUE.STRING, value: ['a', '', 'Ġthe'] });
    expect(v('arr.empty')).toEqual([]);
  });

  it('places tensors at aligned offsets after the header and reads their bytes', async () => {
    const { bytes } = sample();
    const g = await openGguf(memorySource('s.gguf', bytes));
    expect(g.alignment).toBe(32);
    expect(g.dataOffset % 32).toBe(0);
    const [a, b] = g.tensors;
    expect(a).toMatchObject({ name: 'a', dims: [3], offset: g.dataOffset, byteLength: 12, nValues: 3 });
    expect(b).toMatchObject({ name: 'b', dims: [2, 2], offset: g.dataOffset + 32, byteLength: 8 });
    expect(b.type.name).toBe('F16');
    const raw = new Uint8Array(12);
    await readGgufTensor(g, a, raw);
    expect([...new Float32Array(raw.buffer)]).toEqual([1, 2, 3]);
  });

  it('honours general.alignment', async () => {
    const bytes = encodeGguf(new Map(), [
      { name: 'x', type: GGML_TYPE.F32, dims: [1], data: f32Bytes(5) },
      { name: 'y', type: GGML_TYPE.F32, dims: [1], data: f32Bytes(6) },
    ], { alignment: 64 });
    const g = await openGguf(memorySource('a.gguf', bytes));
    expect(g.alignment).toBe(64);
    expect(g.tensors.map((t) => t.offset - g.dataOffset)).toEqual([0, 64]);
  });

  it('reads version 2 files (same layout)', async () => {
    const bytes = sample().bytes.slice();
    new DataView(bytes.buffer).setUint32(4, 2, true);
    expect((await openGguf(memorySource('v2.gguf', bytes))).version).toBe(2);
  });

  it('reads a header longer than its first read', async () => {
    const tokens = Array.from({ length: 150000 }, (_, i) => `token-${i}`);
    const bytes = encodeGguf(new Map([['tokenizer.ggml.tokens', kv.array(GGUF_VALUE.STRING, tokens)]]), []);
    expect(bytes.byteLength).toBeGreaterThan(1 << 21);
    const g = await openGguf(memorySource('big.gguf', bytes));
    expect((g.metadata.get('tokenizer.ggml.tokens')!.value as string[])[149999]).toBe('token-149999');
  });
});

describe('openGguf errors name the file and the problem', () => {
  const mutate = (f: (v: DataView, b: Uint8Array) => void) => {
    const b = sample().bytes.slice();
    f(new DataView(b.buffer), b);
    return openGguf(memorySource('bad.gguf', b));
  };

  it('bad magic, unsupported version', async () => {
    await expect(mutate((v) => v.setUint32(0, 0x12345678, true))).rejects.toThrow(/bad\.gguf: not a GGUF file/);
    await expect(mutate((v) => v.setUint32(4, 1, true))).rejects.toThrow(/GGUF version 1 is not supported/);
    await expect(mutate((v) => v.setUint32(4, 0x03000000, true))).rejects.toThrow(CorruptWeightsError); // big-endian
  });

  it('counts that cannot fit in the file', async () => {
    await expect(mutate((v) => v.setUint32(8, 1e9, true))).rejects.toThrow(/tensor count 1000000000 cannot fit/);
    await expect(mutate((v) => v.setUint32(16, 1e9, true))).rejects.toThrow(/metadata count 1000000000 cannot fit/);
    await expect(mutate((v) => v.setUint32(20, 0xffffffff, true))).rejects.toThrow(/metadata count is 18446744069414584336, too large/);
  });

  it('a truncated file: header or tensor data', async () => {
    const { bytes } = sample();
    const g = await openGguf(memorySource('t.gguf', bytes));
    await expect(openGguf(memorySource('t.gguf', bytes.subarray(0, infoAt(bytes, 'b'))))).rejects.toThrow(
      /t\.gguf: truncated: tensor b dimension count needs 4 bytes at offset \d+ but the file has \d+/,
    );
    await expect(openGguf(memorySource('t.gguf', bytes.subarray(0, g.dataOffset - 4)))).rejects.toThrow(/t\.gguf: truncated/);
    await expect(openGguf(memorySource('t.gguf', bytes.subarray(0, bytes.byteLength - 40)))).rejects.toThrow(
      /t\.gguf: tensor b: bytes \[32, 40\) of the data section run past its end/,
    );
  });

  it('an unknown tensor type names the tensor, the type and the supported ones', async () => {
    const bytes = encodeGguf(new Map(), [{ name: 'w', type: GGML_TYPE.F32, dims: [1], data: f32Bytes(1) }]);
    const at = fields(bytes, 'w').type;
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(at, true)).toBe(GGML_TYPE.F32);
    v.setUint32(at, 10, true);
    const err = await openGguf(memorySource('q.gguf', bytes)).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedGgufTypeError);
    expect(err.message).toBe('q.gguf: tensor w has ggml type Q2_K; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, NVFP4');
    v.setUint32(at, 999, true);
    await expect(openGguf(memorySource('q.gguf', bytes))).rejects.toThrow(/ggml type type 999/);
  });

  it('duplicate keys and tensors, misaligned and overlapping tensors, bad alignment, bad bool', async () => {
    const twoKeys = encodeGguf(new Map([['k', kv.u32(1)], ['j', kv.u32(2)]]), []);
    twoKeys[twoKeys.lastIndexOf('j'.charCodeAt(0))] = 'k'.charCodeAt(0);
    await expect(openGguf(memorySource('d.gguf', twoKeys))).rejects.toThrow(/metadata key k appears twice/);
    const twoTensors = encodeGguf(new Map(), [
      { name: 'x', type: GGML_TYPE.F32, dims: [1], data: f32Bytes(1) },
      { name: 'z', type: GGML_TYPE.F32, dims: [1], data: f32Bytes(2) },
    ]);
    twoTensors[infoAt(twoTensors, 'z') - 1] = 'x'.charCodeAt(0);
    await expect(openGguf(memorySource('d.gguf', twoTensors))).rejects.toThrow(/d\.gguf: tensor x appears twice/);

    const tensors = (o2: number) => {
      const b = encodeGguf(new Map(), [
        { name: 'x', type: GGML_TYPE.F32, dims: [8], data: new Uint8Array(32) },
        { name: 'y', type: GGML_TYPE.F32, dims: [8], data: new Uint8Array(32) },
      ]);
      new DataView(b.buffer).setBigUint64(fields(b, 'y').offset, BigInt(o2), true);
      return b;
    };
    const ok = await openGguf(memorySource('o.gguf', tensors(32)));
    expect(ok.tensors[1].offset - ok.dataOffset).toBe(32);
    await expect(openGguf(memorySource('o.gguf', tensors(16)))).rejects.toThrow(/tensor y: data offset 16 is not a multiple of the alignment 32/);
    await expect(openGguf(memorySource('o.gguf', tensors(0)))).rejects.toThrow(/tensors x and y overlap|tensors y and x overlap/);

    const align = encodeGguf(new Map([['general.alignment', kv.u32(24)]]), []);
    await expect(openGguf(memorySource('al.gguf', align))).rejects.toThrow(/general\.alignment must be a u32 power of two, got 24/);
    const bool = encodeGguf(new Map([['b', kv.bool(true)]]), []);
    bool[24 + 8 + 1 + 4] = 2; // after the header, the key "b" and its type
    await expect(openGguf(memorySource('b.gguf', bool))).rejects.toThrow(/metadata b: bool byte is 2/);
  });

  it('a row length that is not a whole number of blocks', async () => {
    const b = encodeGguf(new Map(), [{ name: 'q', type: GGML_TYPE.Q8_0, dims: [32, 1], data: new Uint8Array(34) }]);
    new DataView(b.buffer).setBigUint64(fields(b, 'q').dim(0), 16n, true);
    await expect(openGguf(memorySource('r.gguf', b))).rejects.toThrow(/row length 16 is not a multiple of the Q8_0 block \(32\)/);
  });
});
