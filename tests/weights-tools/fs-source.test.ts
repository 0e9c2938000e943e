import { createHash } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptWeightsError } from '../../engine/core/errors.js';
import { openFileSource, sha256Streaming } from '../../weights-tools/fs-source.js';

let dir: string;
const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-fs-'));
  await writeFile(join(dir, 'data.bin'), bytes);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('openFileSource', () => {
  it('reads positional slices straight into the caller buffer (including a subarray view)', async () => {
    const src = await openFileSource(join(dir, 'data.bin'));
    expect([src.name, src.size]).toEqual([join(dir, 'data.bin'), 1000]);
    const backing = new Uint8Array(20);
    const view = backing.subarray(5, 15);
    await src.readInto(view, 990);
    expect([...backing.subarray(5, 15)]).toEqual([...bytes.subarray(990, 1000)]);
    expect(backing[4]).toBe(0);
    expect(backing[15]).toBe(0);
    await src.close();
  });

  it('reads synchronously into the caller buffer with the same range check', async () => {
    const src = await openFileSource(join(dir, 'data.bin'));
    const dst = new Uint8Array(4);
    src.readIntoSync!(dst, 100);
    expect([...dst]).toEqual([...bytes.subarray(100, 104)]);
    expect(() => src.readIntoSync!(new Uint8Array(2), 999)).toThrow(CorruptWeightsError);
    await src.close();
  });

  it('rejects a read past the end with the truncation message', async () => {
    const src = await openFileSource(join(dir, 'data.bin'));
    await expect(src.readInto(new Uint8Array(11), 990)).rejects.toThrow(
      new CorruptWeightsError(join(dir, 'data.bin'), 'truncated: needs bytes [990, 1001) but the file has 1000'),
    );
    await src.close();
  });

  it('reports a file that shrank after opening as truncated', async () => {
    await writeFile(join(dir, 'shrink.bin'), bytes);
    const src = await openFileSource(join(dir, 'shrink.bin'));
    await truncate(join(dir, 'shrink.bin'), 500);
    await expect(src.readInto(new Uint8Array(100), 450)).rejects.toThrow(CorruptWeightsError);
    await src.close();
  });

  it('fails on a missing file with the path in the message', async () => {
    await expect(openFileSource(join(dir, 'missing.bin'))).rejects.toThrow(/missing\.bin/);
  });
});

describe('sha256Streaming', () => {
  it('equals the one-shot digest', async () => {
    const src = await openFileSource(join(dir, 'data.bin'));
    expect(await sha256Streaming(src)).toBe(createHash('sha256').update(bytes).digest('hex'));
    await src.close();
  });
});
