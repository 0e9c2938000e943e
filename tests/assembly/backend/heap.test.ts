// The WASM heap: alignment, reuse, coalescing of free neighbours, growth that keeps data, and the
// named error past the page limit. (Pointers ≥ 2³¹ and > 1 GiB blocks: heap.slow.test.ts.)

import { describe, expect, test } from 'vitest';
import { ALIGN, Heap, MAX_PAGES, PAGE_BYTES } from '../../../assembly/backend/heap.js';
import { OpArgumentError, OutOfMemoryError } from '../../../engine/core/errors.js';

const newHeap = (maxPages = MAX_PAGES) => new Heap(new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES }), PAGE_BYTES, maxPages);

describe('Heap', () => {
  test('blocks are 16-byte aligned, above the reserved base, and disjoint', () => {
    const heap = newHeap();
    const sizes = [1, 3, 16, 17, 100, 4096, 5];
    const ptrs = sizes.map((s) => heap.alloc(s));
    ptrs.forEach((p, i) => {
      expect(p % ALIGN).toBe(0);
      expect(p).toBeGreaterThanOrEqual(PAGE_BYTES);
      if (i > 0) expect(p).toBeGreaterThanOrEqual(ptrs[i - 1] + sizes[i - 1]);
    });
    expect(heap.usedBytes).toBe(sizes.reduce((n, s) => n + Math.ceil(s / ALIGN) * ALIGN, 0));
  });

  test('a freed block is reused, first fit, and split', () => {
    const heap = newHeap();
    const a = heap.alloc(256);
    heap.alloc(16); // keeps a's block from touching the top
    heap.free(a);
    expect(heap.freeBlocks).toBe(1);
    const b = heap.alloc(64);
    expect(b).toBe(a);
    expect(heap.alloc(64)).toBe(a + 64);
  });

  test('free neighbours coalesce, and a free block at the top lowers the top', () => {
    const heap = newHeap();
    const [a, b, c, d] = [heap.alloc(32), heap.alloc(32), heap.alloc(32), heap.alloc(32)];
    const top = heap.topBytes;
    heap.free(a);
    heap.free(c);
    expect(heap.freeBlocks).toBe(2);
    heap.free(b); // a | b | c merge into one block
    expect(heap.freeBlocks).toBe(1);
    expect(heap.alloc(96)).toBe(a);
    heap.free(a);
    heap.free(d); // the merged block now reaches the top: the top drops to a
    expect(heap.freeBlocks).toBe(0);
    expect(heap.topBytes).toBe(a);
    expect(top).toBe(d + 32);
    expect(heap.usedBytes).toBe(0);
  });

  test('growing the memory keeps the data; views are made from the new buffer', () => {
    const heap = newHeap();
    const p = heap.alloc(1000 * 4);
    heap.f32(p, 1000).set(Float32Array.from({ length: 1000 }, (_, i) => i));
    const before = heap.memory.buffer.byteLength;
    const q = heap.alloc(8 * PAGE_BYTES);
    expect(heap.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(heap.f32(p, 1000)[999]).toBe(999);
    heap.f32(q, 4).set([1, 2, 3, 4]);
    heap.copy(p, q, 16);
    expect([...heap.f32(p, 5)]).toEqual([1, 2, 3, 4, 4]);
  });

  test('allocZeroed clears reused memory', () => {
    const heap = newHeap();
    const a = heap.alloc(64);
    heap.alloc(16);
    heap.u8(a, 64).fill(7);
    heap.free(a);
    const b = heap.allocZeroed(64);
    expect(b).toBe(a);
    expect(heap.u8(b, 64).every((v) => v === 0)).toBe(true);
  });

  test('past the page limit: OutOfMemoryError naming the request and the limit', () => {
    const heap = newHeap(4);
    heap.alloc(2 * PAGE_BYTES);
    const err = (() => {
      try {
        heap.alloc(2 * PAGE_BYTES);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err).toMatchObject({ requestedBytes: 2 * PAGE_BYTES, limitBytes: 4 * PAGE_BYTES });
  });

  test('freeing an address that is not a live block is an OpArgumentError', () => {
    const heap = newHeap();
    const a = heap.alloc(32);
    heap.free(a);
    expect(() => heap.free(a)).toThrow(OpArgumentError);
    expect(() => heap.alloc(-1)).toThrow(OpArgumentError);
  });
});
