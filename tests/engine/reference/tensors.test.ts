import { describe, expect, it } from 'vitest';
import { IllegalPositionCodeError, MissingTensorError } from '../../../engine/core/errors.js';
import type { TensorEntry } from '../../../engine/core/weights.js';
import { TensorCache } from '../../../engine/reference/tensors.js';
import { memoryStore } from '../../helpers/memory-store.js';

const store = memoryStore({
  a: { dtype: 'f32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  b: { dtype: 'bf16', shape: [2], data: Uint16Array.from([0x3f80, 0xc040]) },
});
const entries = () => new Map(store.names().map((n) => [n, store.get(n)!]));

// an entry that can only be read asynchronously (as from a file), counting its reads
function asyncOnly(name: string, values: number[], reads: { n: number }): TensorEntry {
  const bytes = new Uint8Array(Float32Array.from(values).buffer);
  return {
    name,
    dtype: 'f32',
    shape: [values.length],
    byteLength: bytes.byteLength,
    readInto: async (dst) => {
      reads.n++;
      dst.set(bytes);
    },
  };
}

describe('TensorCache (lazy raw weights)', () => {
  it('reads a tensor on first use, once, and keeps its raw bytes as a matrix', () => {
    const cache = new TensorCache(entries());
    expect(cache.residentBytes()).toBe(0);
    const a = cache.get('a');
    expect([a.rows, a.cols, a.dtype, a.bytes.byteLength]).toEqual([2, 3, 'f32', 24]);
    expect(cache.get('a')).toBe(a);
    expect(cache.isResident('a')).toBe(true);
    expect(cache.isResident('b')).toBe(false);
    expect(cache.residentBytes()).toBe(24);
    expect([...cache.vector('b')]).toEqual([1, -3]);
    expect(cache.residentBytes()).toBe(28);
  });

  it('reads entries without a synchronous read up front, reporting progress', async () => {
    const reads = { n: 0 };
    const map = new Map<string, TensorEntry>([...entries(), ['c', asyncOnly('c', [0.5, 0.25], reads)]]);
    const cache = new TensorCache(map);
    const progress: [number, number][] = [];
    await cache.readUnsyncable((done, total) => progress.push([done, total]));
    expect(reads.n).toBe(1);
    expect(progress).toEqual([[8, 8]]);
    expect(cache.isResident('a')).toBe(false); // the synchronous ones wait for first use
    expect([...cache.vector('c')]).toEqual([0.5, 0.25]);
    expect(reads.n).toBe(1);
  });

  it('keys a tensor by the canonical name it was validated under', () => {
    const alias = new Map([['backbone.embeddings.weight', store.get('a')!]]);
    expect(new TensorCache(alias).get('backbone.embeddings.weight').name).toBe('backbone.embeddings.weight');
  });

  it('names a tensor it does not have; clear() drops everything', () => {
    const cache = new TensorCache(entries(), 'mem');
    expect(() => cache.get('nope')).toThrow(MissingTensorError);
    expect(() => cache.get('nope')).toThrow(/missing tensor nope in mem/);
    cache.get('a');
    cache.clear();
    expect(cache.residentBytes()).toBe(0);
    expect(cache.isResident('a')).toBe(false);
  });
});

describe('TensorCache.linear (4-bit weights with sidecars)', () => {
  // one nvfp4-s24 weight [2, 16]: 4 groups per row, codes (rows, 4), positions (rows, 2)
  const s24 = (positions: number[]) =>
    memoryStore({
      'w.weight': { dtype: 'u8', shape: [2, 4], data: Uint8Array.of(0x21, 0, 0, 0, 0, 0, 0, 0x70) },
      'w.weight_scale': { dtype: 'f8_e4m3', shape: [2, 1], data: Uint8Array.of(0x38, 0x40) },
      'w.weight_scale_2': { dtype: 'f32', shape: [], data: Float32Array.of(0.5) },
      'w.weight_pos': { dtype: 'u8', shape: [2, 2], data: Uint8Array.from(positions) },
    });
  const cacheOf = (store: ReturnType<typeof memoryStore>) => new TensorCache(new Map(store.names().map((n) => [n, store.get(n)!])));

  it('gives the logical shape and the sidecars; dense weights come back as get() gives them', () => {
    const cache = cacheOf(s24([0xe4, 0xe4, 0xe4, 0xe4]));
    const w = cache.linear('w.weight');
    expect([w.rows, w.cols, w.quant?.format, w.quant?.scale2, [...w.quant!.scale]]).toEqual([2, 16, 'nvfp4-s24', 0.5, [0x38, 0x40]]);
    expect(cache.linear('w.weight')).toBe(w);
    const dense = new TensorCache(entries());
    expect(dense.linear('a')).toBe(dense.get('a'));
  });

  it('rejects an illegal position code when the tensor is read', () => {
    const cache = cacheOf(s24([0xe4, 0xe4, 0xe4, 0xf4]));
    expect(() => cache.linear('w.weight')).toThrow(IllegalPositionCodeError);
    expect(() => cache.linear('w.weight')).toThrow(/w\.weight_pos: group 7 has position code 0xf/);
  });
});
