// weights-tools/row-chunks.ts: the memory cap's arithmetic (hand-computed), the arena, and rows
// read by byte ranges in chunks equal to the tensor's values (float, nvfp4, nvfp4-s24, and a
// store without ranged reads, read whole).

import { describe, expect, it } from 'vitest';
import { DTYPE_BYTES, type TensorEntry } from '../../engine/core/weights.js';
import { memorySource } from '../../engine/formats/bytes.js';
import { f32ToBf16Bits } from '../../engine/formats/dtype.js';
import { openSafetensorsStore } from '../../engine/formats/safetensors.js';
import { decodeWeightRow } from '../../engine/reference/matmul.js';
import { MemoryCapError } from '../../weights-tools/errors.js';
import { quantizedDecls, quantizedPartBytes, quantizeLinear } from '../../weights-tools/quantize.js';
import { Arena, MemoryBudget, RUNTIME_MIB, rowChunks, rowReader } from '../../weights-tools/row-chunks.js';
import { serializeSafetensors, type TensorData } from '../../weights-tools/safetensors-writer.js';

const MIB = 2 ** 20;

describe('MemoryBudget', () => {
  it('leaves the cap less the runtime for tensor data, and refuses a cap the runtime alone fills', () => {
    expect(new MemoryBudget(RUNTIME_MIB + 1).bytes).toBe(MIB);
    expect(new MemoryBudget(RUNTIME_MIB + 0.5).bytes).toBe(MIB / 2);
    expect(() => new MemoryBudget(RUNTIME_MIB)).toThrow(MemoryCapError);
    expect(() => new MemoryBudget(64)).toThrow(/--max-memory 64 MiB: must be more than the 96 MiB the runtime itself takes/);
  });

  it('sizes the arena by the largest tensor, never past the budget', () => {
    const budget = new MemoryBudget(RUNTIME_MIB + 4);
    expect(budget.arena(10).byteLength).toBe(10 * 32 + MIB);
    expect(budget.arena(1e9).byteLength).toBe(4 * MIB);
  });

  it('fits whole rows in the free arena, beside what is held', () => {
    const budget = new MemoryBudget(RUNTIME_MIB + 1);
    const arena = budget.arena(1e9); // 1 MiB
    expect(budget.rowsPerChunk(arena, 'w', 1000, 4096)).toBe(256); // 2^20 / 2^12
    expect(budget.rowsPerChunk(arena, 'w', 100, 4096)).toBe(100);
    arena.u8(MIB / 2);
    expect(budget.rowsPerChunk(arena, 'w', 1000, 4096)).toBe(128);
    expect(budget.rowsPerChunk(arena, 'w', 1000, 4096, MIB / 4)).toBe(64); // (2^20 − 2^19 − 2^18) / 2^12
    expect(budget.rowsPerChunk(arena, 'empty', 0, 4096)).toBe(0);
  });

  it('names the tensor and the cap it needs when one row does not fit', () => {
    const budget = new MemoryBudget(RUNTIME_MIB + 1);
    const arena = budget.arena(1e9);
    // 2 MiB row, nothing held: ⌈2⌉ + 96 + 1 = 99
    expect(() => budget.rowsPerChunk(arena, 'lm_head.weight', 10, 2 * MIB)).toThrow(
      /--max-memory 97 MiB: one row of lm_head\.weight needs 2\.0 MiB of working memory, more than the 1\.0 MiB left after the 96 MiB runtime; use --max-memory 99 or more/,
    );
    arena.u8(MIB / 2);
    expect(() => budget.rowsPerChunk(arena, 'x', 10, MIB)).toThrow(/beside 512\.0 KiB held.*use --max-memory 99 or more/);
  });

  it('refuses a whole-tensor read larger than half the budget', () => {
    const budget = new MemoryBudget(RUNTIME_MIB + 1);
    expect(() => budget.checkWhole('a', MIB / 2, 'why')).not.toThrow();
    expect(() => budget.checkWhole('big', MIB / 2 + 1, 'its store has no ranged reads')).toThrow(/big \(512\.0 KiB\) must be read whole \(its store has no ranged reads\), and that needs --max-memory 99 or more/); // ⌈2 · (2^19 + 1) / 2^20⌉ + 96 + 1
  });
});

describe('Arena', () => {
  it('aligns every buffer to 8 bytes, reuses its space after reset, and refuses to overflow', () => {
    const arena = new Arena(64);
    const a = arena.u8(3);
    const b = arena.f64(2);
    expect([a.byteOffset, b.byteOffset]).toEqual([0, 8]);
    expect(arena.free).toBe(40);
    expect(() => arena.f32(11)).toThrow(RangeError); // 24 + 44 > 64
    arena.reset();
    expect(arena.u8(64).byteOffset).toBe(0);
    expect(b.buffer).toBe(a.buffer);
  });
});

const ROWS = 7;
const COLS = 32;
/** W[r, c] = a deterministic spread of values, some exact in bf16 and some not. */
const W = Float64Array.from({ length: ROWS * COLS }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 5)) + (i % 3) * 1e-3);

function f32Bytes(x: Float64Array): Uint8Array {
  return new Uint8Array(Float32Array.from(x).buffer);
}

async function storeOf(tensors: TensorData[]): Promise<Map<string, TensorEntry>> {
  const store = await openSafetensorsStore([memorySource('m.safetensors', serializeSafetensors(tensors))]);
  return new Map(store.names().map((n) => [n, store.get(n)!]));
}

/** Every row of `name` through chunks of at most `chunkRows` rows (the arena holds no more). */
async function chunkedValues(tensors: Map<string, TensorEntry>, name: string, chunkRows: number): Promise<{ values: Float64Array; chunks: number }> {
  const budget = new MemoryBudget(RUNTIME_MIB + 1);
  const rows = await rowReader(tensors, name, budget);
  const arena = new Arena(chunkRows * (rows.rowBytes + 8 * rows.cols) + 8);
  const out = new Float64Array(rows.rows * rows.cols);
  let chunks = 0;
  await rowChunks(rows, budget, arena, 0).each((chunk, values, first) => {
    expect(chunk.rows).toBeLessThanOrEqual(chunkRows);
    out.set(values, first * rows.cols);
    chunks++;
  });
  return { values: out, chunks };
}

describe('rowReader + rowChunks', () => {
  it('reads an f32 and a bf16 matrix by byte ranges, a few rows at a time', async () => {
    const bf16 = new Uint16Array(W.length).map((_, i) => f32ToBf16Bits(W[i]));
    const tensors = await storeOf([
      { name: 'f', dtype: 'f32', shape: [ROWS, COLS], data: f32Bytes(W) },
      { name: 'b', dtype: 'bf16', shape: [ROWS, COLS], data: new Uint8Array(bf16.buffer) },
    ]);
    const f = await chunkedValues(tensors, 'f', 2);
    expect(f.chunks).toBe(4);
    expect(f.values).toEqual(Float64Array.from(Float32Array.from(W)));
    const b = await chunkedValues(tensors, 'b', 3);
    expect(b.chunks).toBe(3);
    // bf16 bits b are the f32 bits b << 16
    expect(b.values).toEqual(Float64Array.from(new Float32Array(new Uint32Array(bf16).map((x) => x << 16).buffer)));
  });

  it('reads nvfp4 and nvfp4-s24 linears with their scale and position rows', async () => {
    for (const format of ['nvfp4', 'nvfp4-s24'] as const) {
      const q = quantizeLinear({ name: 'w.weight', rows: ROWS, cols: COLS, readRow: (r, dst) => dst.set(W.subarray(r * COLS, (r + 1) * COLS)) }, { format });
      const tensors = await storeOf(quantizedDecls('w.weight', ROWS, COLS, format).map((d) => ({ ...d, data: quantizedPartBytes(q, d.part) })));
      const { values, chunks } = await chunkedValues(tensors, 'w.weight', 2);
      expect(chunks).toBe(4);
      // the oracle: the whole tensor in memory, decoded row by row by the engine's codec
      const whole = { name: 'w.weight', dtype: 'u8' as const, rows: ROWS, cols: COLS, bytes: q.weight, quant: { format, scale: q.scale, scale2: q.scale2, positions: q.positions } };
      const row = new Float64Array(COLS);
      for (let r = 0; r < ROWS; r++) {
        decodeWeightRow(whole, r, row);
        expect(values.subarray(r * COLS, (r + 1) * COLS)).toEqual(row);
      }
    }
  });

  it('reads a store without ranged reads whole, holding it, and refuses one too large for the cap', async () => {
    const data = f32Bytes(W);
    const entry: TensorEntry = { name: 'g', dtype: 'f32', shape: [ROWS, COLS], byteLength: data.byteLength, readInto: async (dst) => dst.set(data) };
    const tensors = new Map([['g', entry]]);
    const rows = await rowReader(tensors, 'g', new MemoryBudget(RUNTIME_MIB + 1));
    expect(rows.heldBytes).toBe(ROWS * COLS * DTYPE_BYTES.f32);
    expect((await chunkedValues(tensors, 'g', 3)).values).toEqual(Float64Array.from(Float32Array.from(W)));
    const huge: TensorEntry = { ...entry, name: 'huge', shape: [MIB, 1], byteLength: 4 * MIB };
    await expect(rowReader(new Map([['huge', huge]]), 'huge', new MemoryBudget(RUNTIME_MIB + 1))).rejects.toThrow(/huge \(4\.0 MiB\) must be read whole/);
  });
});
