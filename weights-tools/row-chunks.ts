// DESIGN §3 (a checkpoint larger than RAM converts): the memory model of
// `edgetron convert` (edge packs and GGUF). A cap of C MiB leaves C − RUNTIME_MIB for tensor
// data; RUNTIME_MIB covers Node, the code, the tensor plan and file headers, and the one-row
// temporaries of the quantiser. Tensor data lives in one arena, allocated once and reused by
// every tensor, and each tensor is processed a chunk of whole rows at a time:
//
//   rows per chunk = ⌊(arena − held) / bytes per row⌋
//
// where `bytes per row` is what one row costs in every buffer of a pass (its raw input bytes, its
// f64 decode, its encoded output) and `held` what the tensor keeps across chunks. A tensor whose
// single row does not fit is a `MemoryCapError` naming the cap it would need. Rows are read by
// byte ranges (`readRangeInto`, engine/formats/safetensors.ts); a store without ranged reads (a GGUF
// input, whose entries decode as they are read) is read a whole tensor at a time, held.

import { NVFP4_BLOCK } from '../engine/formats/nvfp4.js';
import type { RawTensor } from '../engine/reference/tensors.js';
import { decodeWeightRow } from '../engine/reference/matmul.js';
import type { SafetensorsTensor } from '../engine/formats/safetensors.js';
import { checkPositionCodes } from '../engine/formats/sparse24.js';
import { DTYPE_BYTES, linearWeight, type TensorEntry } from '../engine/core/weights.js';
import { MemoryCapError } from './errors.js';

/** What the runtime takes besides tensor data (measured: Node with the CLI loaded is ~55 MiB). */
export const RUNTIME_MIB = 96;
/** `--max-memory` when none is given. */
export const DEFAULT_MAX_MEMORY_MIB = 512;
/** Most bytes any pass spends per element (raw ≤ 8, f64 decode 8, f32 copy 4, output ≤ 4, slack). */
const MAX_BYTES_PER_ELEMENT = 32;
const MIB = 2 ** 20;

/** A size for messages: MiB, or KiB below one MiB. */
const size = (bytes: number) => (bytes < MIB ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / MIB).toFixed(1)} MiB`);

/** A bump allocator over one buffer: `reset` at the start of each tensor, then take its buffers. */
export class Arena {
  private readonly buffer: ArrayBuffer;
  private used = 0;

  constructor(readonly byteLength: number) {
    // pages are committed when first written, so a large arena costs only what tensors touch
    this.buffer = new ArrayBuffer(byteLength);
  }

  reset(): void {
    this.used = 0;
  }

  /** Free bytes left. */
  get free(): number {
    return this.byteLength - this.used;
  }

  private take(bytes: number): number {
    const at = Math.ceil(this.used / 8) * 8;
    if (at + bytes > this.byteLength) throw new RangeError(`arena of ${this.byteLength} bytes cannot give ${bytes} more (used ${at})`);
    this.used = at + bytes;
    return at;
  }

  u8(n: number): Uint8Array {
    return new Uint8Array(this.buffer, this.take(n), n);
  }

  f32(n: number): Float32Array {
    return new Float32Array(this.buffer, this.take(4 * n), n);
  }

  f64(n: number): Float64Array {
    return new Float64Array(this.buffer, this.take(8 * n), n);
  }
}

/**
 * A memory cap in MiB, and the arena and chunk sizes it implies.
 * @example
 * const budget = new MemoryBudget(256);
 * const arena = budget.arena(largestTensorElements);
 * const rows = budget.rowsPerChunk(arena, 'lm_head.weight', 131072, 8 * 2688); // rows that fit
 */
export class MemoryBudget {
  /** Bytes for tensor data: the cap less the runtime's share. */
  readonly bytes: number;

  constructor(readonly capMib: number) {
    if (!(Number.isFinite(capMib) && capMib > RUNTIME_MIB)) {
      throw new MemoryCapError(capMib, `must be more than the ${RUNTIME_MIB} MiB the runtime itself takes`);
    }
    this.bytes = Math.floor((capMib - RUNTIME_MIB) * MIB);
  }

  /** The arena for a conversion whose largest tensor has `largestElements` elements: no larger than any pass over it needs. */
  arena(largestElements: number): Arena {
    return new Arena(Math.min(this.bytes, largestElements * MAX_BYTES_PER_ELEMENT + MIB));
  }

  /**
   * How many of `rows` rows of `rowBytes` each one chunk of tensor `name` takes in `arena`'s free
   * space, beside `held` bytes kept outside it (all of them when they fit); `MemoryCapError` when
   * not even one row does.
   */
  rowsPerChunk(arena: Arena, name: string, rows: number, rowBytes: number, held = 0): number {
    const taken = arena.byteLength - arena.free + held;
    const fit = Math.floor(Math.min(arena.free, this.bytes - taken) / Math.max(1, rowBytes));
    if (fit >= Math.min(rows, 1)) return Math.min(rows, fit);
    const need = Math.ceil((taken + rowBytes) / MIB) + RUNTIME_MIB + 1;
    throw new MemoryCapError(
      this.capMib,
      `one row of ${name} needs ${size(rowBytes)} of working memory${taken > 0 ? ` beside ${size(taken)} held` : ''}, more than the ${size(this.bytes)} left after the ${RUNTIME_MIB} MiB runtime; use --max-memory ${need} or more`,
    );
  }

  /** Check that a tensor read whole (`bytes`, held while it is processed) fits; MemoryCapError otherwise. */
  checkWhole(name: string, bytes: number, why: string): void {
    if (bytes <= this.bytes / 2) return;
    throw new MemoryCapError(
      this.capMib,
      `${name} (${size(bytes)}) must be read whole (${why}), and that needs --max-memory ${Math.ceil((2 * bytes) / MIB) + RUNTIME_MIB + 1} or more`,
    );
  }
}

/** The memory of one conversion: its budget and its one arena. */
export interface ChunkMemory {
  readonly budget: MemoryBudget;
  readonly arena: Arena;
}

/**
 * The budget and the arena for a conversion whose tensors have these (logical) shapes.
 * @example const memory = chunkMemory(new MemoryBudget(256), expectedTensors(config).map((t) => t.shape));
 */
export function chunkMemory(budget: MemoryBudget, shapes: readonly (readonly number[])[]): ChunkMemory {
  return { budget, arena: budget.arena(shapes.reduce((m, s) => Math.max(m, s.reduce((a, b) => a * b, 1)), 0)) };
}

/**
 * A tensor seen as rows of raw bytes, read a chunk at a time: a linear weight in any format
 * [rows, cols] (codes with their scale and position rows for nvfp4 formats), any other tensor
 * with shape[0] rows (a vector or a scalar is one row).
 */
export interface RowReader {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  /** Raw input bytes of one row, over every part. */
  readonly rowBytes: number;
  /** Bytes held for the reader's lifetime (a whole tensor, where the store has no ranged reads). */
  readonly heldBytes: number;
  /** Rows [first, first + count) as a RawTensor of `count` rows whose parts lie in `raw` (≥ count · rowBytes bytes). */
  readRaw(first: number, count: number, raw: Uint8Array): Promise<RawTensor>;
}

/** Bytes [begin, begin + dst.byteLength) of a tensor, from a ranged read or from its whole bytes. */
type RangeRead = (dst: Uint8Array, begin: number) => Promise<void>;

const ranged = (entry: TensorEntry): entry is SafetensorsTensor => typeof (entry as Partial<SafetensorsTensor>).readRangeInto === 'function';

/** A ranged reader of `entry`: its own, or (no ranged reads) its whole bytes read once and held. */
async function rangeReader(entry: TensorEntry, budget: MemoryBudget, held: { bytes: number }): Promise<RangeRead> {
  if (ranged(entry)) return (dst, begin) => entry.readRangeInto(dst, begin);
  held.bytes += entry.byteLength;
  budget.checkWhole(entry.name, held.bytes, 'its store has no ranged reads');
  const whole = new Uint8Array(entry.byteLength);
  await entry.readInto(whole);
  return async (dst, begin) => dst.set(whole.subarray(begin, begin + dst.byteLength));
}

/**
 * The row reader of tensor `name` in a validated tensor map (`validateWeights`): a linear weight's
 * sidecars come with it, weight_scale_2 is read once.
 * @example
 * const rows = await rowReader(tensors, 'lm_head.weight', budget);
 * const chunk = await rows.readRaw(0, 64, arena.u8(64 * rows.rowBytes));
 */
export async function rowReader(tensors: ReadonlyMap<string, TensorEntry>, name: string, budget: MemoryBudget): Promise<RowReader> {
  const held = { bytes: 0 };
  const entry = tensors.get(name)!;
  const rows = entry.dtype === 'u8' ? await quantizedRows(tensors, name, budget, held) : await floatRows(entry, budget, held);
  return { name, heldBytes: held.bytes, ...rows };
}

type RowsOf = Pick<RowReader, 'rows' | 'cols' | 'rowBytes' | 'readRaw'>;

/** A float tensor's rows (shape[0] of them; a vector or a scalar is one row). */
async function floatRows(entry: TensorEntry, budget: MemoryBudget, held: { bytes: number }): Promise<RowsOf> {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const rows = entry.shape.length >= 2 ? entry.shape[0] : 1;
  const cols = rows === 0 ? 0 : n / rows;
  const rowBytes = cols * DTYPE_BYTES[entry.dtype];
  const read = await rangeReader(entry, budget, held);
  async function readRaw(first: number, count: number, raw: Uint8Array): Promise<RawTensor> {
    const bytes = raw.subarray(0, count * rowBytes);
    await read(bytes, first * rowBytes);
    return { name: entry.name, dtype: entry.dtype, rows: count, cols, bytes };
  }
  return { rows, cols, rowBytes, readRaw };
}

/** A 4-bit linear's rows: codes, scale rows and (nvfp4-s24) position rows, with weight_scale_2. */
async function quantizedRows(tensors: ReadonlyMap<string, TensorEntry>, name: string, budget: MemoryBudget, held: { bytes: number }): Promise<RowsOf> {
  const w = linearWeight(tensors, name);
  const format = w.format as 'nvfp4' | 'nvfp4-s24';
  const { rows, cols } = w;
  const part = { weight: format === 'nvfp4' ? cols / 2 : cols / 4, scale: cols / NVFP4_BLOCK, positions: w.positions ? cols / 8 : 0 };
  const readWeight = await rangeReader(w.weight, budget, held);
  const readScale = await rangeReader(w.scale!, budget, held);
  const readPositions = w.positions ? await rangeReader(w.positions, budget, held) : null;
  const scale2Bytes = new Uint8Array(4);
  await w.scale2!.readInto(scale2Bytes);
  const scale2 = new Float32Array(scale2Bytes.buffer)[0];
  const rowBytes = part.weight + part.scale + part.positions;
  async function readRaw(first: number, count: number, raw: Uint8Array): Promise<RawTensor> {
    const bytes = raw.subarray(0, count * part.weight);
    const scale = raw.subarray(bytes.byteLength, bytes.byteLength + count * part.scale);
    await readWeight(bytes, first * part.weight);
    await readScale(scale, first * part.scale);
    let positions: Uint8Array | undefined;
    if (readPositions) {
      positions = raw.subarray(bytes.byteLength + scale.byteLength, count * rowBytes);
      await readPositions(positions, first * part.positions);
      checkPositionCodes(positions, `${name.replace(/\.weight$/, '')}.weight_pos`);
    }
    return { name, dtype: 'u8', rows: count, cols, bytes, quant: { format, scale, scale2, positions } };
  }
  return { rows, cols, rowBytes, readRaw };
}

/** A pass over a reader's rows in chunks: the chunk buffers, and a visit of every chunk. */
export interface RowChunks {
  /** Rows per chunk (the last may hold fewer). */
  readonly chunkRows: number;
  /**
   * Visit rows [first, first + count) of every chunk in order, as raw bytes and, unless the pass
   * is raw, decoded to f64 (`values`: count × cols; empty for a raw pass).
   */
  each(visit: (chunk: RawTensor, values: Float64Array, first: number) => Promise<void> | void): Promise<void>;
}

/**
 * Plan the chunks of a pass over `rows`: each row costs its raw bytes, its f64 decode (unless
 * `raw`) and `outPerRow` bytes the caller then takes from `arena` for `chunkRows` rows.
 * @example
 * const pass = rowChunks(rows, budget, arena, 4 * rows.cols, false);
 * const out = arena.f32(pass.chunkRows * rows.cols);
 * await pass.each((chunk, values, first) => { … });
 */
export function rowChunks(rows: RowReader, budget: MemoryBudget, arena: Arena, outPerRow: number, raw = false): RowChunks {
  const decodedPerRow = raw ? 0 : 8 * rows.cols;
  const chunkRows = budget.rowsPerChunk(arena, rows.name, rows.rows, rows.rowBytes + decodedPerRow + outPerRow, rows.heldBytes);
  const bytes = arena.u8(chunkRows * rows.rowBytes);
  const decoded = arena.f64(raw ? 0 : chunkRows * rows.cols);
  return {
    chunkRows,
    async each(visit) {
      for (let first = 0; first < rows.rows; first += chunkRows) {
        const chunk = await rows.readRaw(first, Math.min(chunkRows, rows.rows - first), bytes);
        const values = decoded.subarray(0, raw ? 0 : chunk.rows * rows.cols);
        if (!raw) for (let r = 0; r < chunk.rows; r++) decodeWeightRow(chunk, r, values, r * chunk.cols);
        await visit(chunk, values, first);
      }
    },
  };
}
