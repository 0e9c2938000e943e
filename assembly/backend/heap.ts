// The WASM backend's allocator: one WebAssembly.Memory, owned by JS (the kernels never allocate).
// Blocks are 16-byte aligned (v128). Freed blocks go to a free list sorted by address and are
// merged with free neighbours (coalescing); a free block at the top of the used region shrinks
// it instead. When nothing fits, the memory grows, up to 65536 pages = 4 GiB. Pointers are plain
// unsigned numbers (≥ 2³¹ is fine; the kernels take them as i32 bit patterns). Typed-array views
// are made on demand from the current buffer, so a view taken before a growth must not be kept.

import { OpArgumentError, OutOfMemoryError } from '../../engine/core/errors.js';

/** Bytes per WASM page. */
export const PAGE_BYTES = 65536;
/** Most pages a wasm32 memory can have (4 GiB). */
export const MAX_PAGES = 65536;
/** Block alignment in bytes (one v128). */
export const ALIGN = 16;

interface FreeBlock {
  start: number;
  size: number;
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/**
 * A first-fit allocator with coalescing free lists over one WebAssembly.Memory.
 * @example
 * const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES }));
 * const p = heap.alloc(1024);
 * heap.f32(p, 256).fill(1);
 * heap.free(p);
 */
export class Heap {
  private top: number; // end of the used region; [top, buffer end) is free
  private readonly freeList: FreeBlock[] = []; // sorted by start, never adjacent to each other or to top
  private readonly live = new Map<number, number>(); // ptr → size of each allocated block
  private liveBytes = 0;

  /** `base` bytes at the bottom stay reserved (address 0 is never handed out). */
  constructor(
    readonly memory: WebAssembly.Memory,
    readonly base = PAGE_BYTES,
    readonly maxPages = MAX_PAGES,
  ) {
    this.top = alignUp(Math.max(base, ALIGN));
  }

  /** Allocate `bytes` (uninitialised) and return the 16-byte aligned address. */
  alloc(bytes: number): number {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new OpArgumentError('alloc', `invalid size ${bytes}`);
    const size = alignUp(Math.max(bytes, 1));
    const i = this.freeList.findIndex((b) => b.size >= size);
    let ptr: number;
    if (i >= 0) {
      const block = this.freeList[i];
      ptr = block.start;
      if (block.size === size) this.freeList.splice(i, 1);
      else {
        block.start += size;
        block.size -= size;
      }
    } else {
      ptr = this.top;
      this.ensure(ptr + size, size);
      this.top = ptr + size;
    }
    this.live.set(ptr, size);
    this.liveBytes += size;
    return ptr;
  }

  /** Allocate `bytes` filled with zeros. */
  allocZeroed(bytes: number): number {
    const ptr = this.alloc(bytes);
    this.u8(ptr, bytes).fill(0);
    return ptr;
  }

  /** Return a block from `alloc`; its neighbours are merged if free. */
  free(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new OpArgumentError('free', `address ${ptr} is not an allocated block`);
    this.live.delete(ptr);
    this.liveBytes -= size;
    let start = ptr;
    let end = ptr + size;
    // first free block after ptr (binary search)
    let lo = 0;
    let hi = this.freeList.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.freeList[mid].start < start) lo = mid + 1;
      else hi = mid;
    }
    const prev = this.freeList[lo - 1];
    const next = this.freeList[lo];
    let at = lo;
    if (prev && prev.start + prev.size === start) {
      start = prev.start;
      at = lo - 1;
    }
    const removeNext = next !== undefined && next.start === end;
    if (removeNext) end = next.start + next.size;
    this.freeList.splice(at, (at < lo ? 1 : 0) + (removeNext ? 1 : 0));
    if (end === this.top) this.top = start;
    else this.freeList.splice(at, 0, { start, size: end - start });
  }

  /** Grow the memory so that [0, end) is addressable. */
  private ensure(end: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const limit = this.maxPages * PAGE_BYTES;
    if (end > limit) throw new OutOfMemoryError('wasm', requested, limit);
    const pages = Math.ceil((end - have) / PAGE_BYTES);
    // grow a little ahead (≥ 1/8 of the current size) so many small growths stay cheap
    const ahead = Math.min(this.maxPages - have / PAGE_BYTES, Math.max(pages, Math.ceil(have / PAGE_BYTES / 8)));
    this.memory.grow(ahead);
  }

  /** Bytes held by live blocks. */
  get usedBytes(): number {
    return this.liveBytes;
  }

  /** End of the used region (the heap's high-water mark in bytes). */
  get topBytes(): number {
    return this.top;
  }

  /** Number of blocks in the free list (for tests of coalescing). */
  get freeBlocks(): number {
    return this.freeList.length;
  }

  /** A byte view of [ptr, ptr + n) on the current buffer. */
  u8(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, n);
  }

  /** A view of n f32 at ptr. */
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  /** A view of n i32 at ptr. */
  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, n);
  }

  /** A view of n u16 at ptr. */
  u16(ptr: number, n: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, ptr, n);
  }

  /** Copy n bytes from src to dst inside the memory (overlap allowed). */
  copy(dst: number, src: number, n: number): void {
    if (n > 0) this.u8(dst, n).set(this.u8(src, n));
  }
}
