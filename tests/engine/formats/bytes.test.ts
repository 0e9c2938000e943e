import { describe, expect, it } from 'vitest';
import { CorruptWeightsError } from '../../../engine/core/errors.js';
import { checkRange, memorySource } from '../../../engine/formats/bytes.js';

describe('memorySource', () => {
  const src = memorySource('mem.bin', new Uint8Array([10, 11, 12, 13, 14]));

  it('reports its name and size and reads any in-range slice', async () => {
    expect([src.name, src.size]).toEqual(['mem.bin', 5]);
    const dst = new Uint8Array(3);
    await src.readInto(dst, 2);
    expect([...dst]).toEqual([12, 13, 14]);
    await src.readInto(new Uint8Array(0), 5);
  });

  it('rejects a read past the end with CorruptWeightsError naming the file and the range', async () => {
    const err = await src.readInto(new Uint8Array(4), 3).catch((e: Error) => e);
    expect(err).toBeInstanceOf(CorruptWeightsError);
    expect((err as Error).message).toBe('mem.bin: truncated: needs bytes [3, 7) but the file has 5');
  });

  it('reads synchronously too, with the same range check', () => {
    const dst = new Uint8Array(2);
    src.readIntoSync!(dst, 0);
    expect([...dst]).toEqual([10, 11]);
    expect(() => src.readIntoSync!(new Uint8Array(6), 0)).toThrow('mem.bin: truncated: needs bytes [0, 6) but the file has 5');
  });

  it('rejects negative and fractional offsets', async () => {
    await expect(src.readInto(new Uint8Array(1), -1)).rejects.toThrow(CorruptWeightsError);
    await expect(src.readInto(new Uint8Array(1), 0.5)).rejects.toThrow(CorruptWeightsError);
  });
});

describe('checkRange', () => {
  it('accepts ranges ending exactly at the end and throws one byte later', () => {
    expect(() => checkRange('f', 8, 0, 8)).not.toThrow();
    expect(() => checkRange('f', 8, 1, 8)).toThrow('f: truncated: needs bytes [1, 9) but the file has 8');
  });
});
