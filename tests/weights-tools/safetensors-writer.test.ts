import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensorsStore, openShardedSafetensors } from '../../engine/formats/safetensors.js';
import { openFileSource } from '../../weights-tools/fs-source.js';
import { planSafetensors, serializeSafetensors, writeSafetensorsFile, writeShardedSafetensors } from '../../weights-tools/safetensors-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-stw-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('planSafetensors', () => {
  it('lays tensors out contiguously in the given order with the exact header JSON', () => {
    const plan = planSafetensors(
      [
        { name: 'b', dtype: 'bf16', shape: [3] },
        { name: 'a', dtype: 'f32', shape: [2, 2] },
      ],
      { format: 'pt' },
    );
    expect(plan.tensors.map((t) => [t.name, t.begin, t.byteLength])).toEqual([
      ['b', 0, 6],
      ['a', 6, 16],
    ]);
    const n = new DataView(plan.header.buffer).getUint32(0, true);
    expect(plan.header.byteLength).toBe(8 + n);
    expect(plan.header.byteLength % 8).toBe(0);
    expect(new TextDecoder().decode(plan.header.subarray(8)).trimEnd()).toBe(
      '{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[6,22]}}',
    );
    expect(plan.fileSize).toBe(plan.header.byteLength + 22);
  });

  it('aligns the data section to a larger power of two on request, and rejects bad alignments and duplicates', () => {
    expect(planSafetensors([{ name: 'w', dtype: 'u8', shape: [1] }], {}, 64).header.byteLength % 64).toBe(0);
    expect(() => planSafetensors([], {}, 12)).toThrow(RangeError);
    expect(() => planSafetensors([], {}, 4)).toThrow(RangeError);
    expect(() => planSafetensors([{ name: 'w', dtype: 'u8', shape: [1] }, { name: 'w', dtype: 'u8', shape: [1] }])).toThrow(/duplicate/);
  });
});

describe('serializeSafetensors', () => {
  it('rejects data whose length disagrees with the shape', () => {
    expect(() => serializeSafetensors([{ name: 'w', dtype: 'f32', shape: [2], data: new Uint8Array(4) }])).toThrow(/4 bytes of data, shape needs 8/);
  });
});

describe('writeSafetensorsFile', () => {
  it('streams tensors in chunks, returns the file sha256, and reads back through the parser', async () => {
    const path = join(dir, 'stream.safetensors');
    const chunks: string[] = [];
    const written = await writeSafetensorsFile(
      path,
      [
        { name: 'x', dtype: 'f32', shape: [4] },
        { name: 'y', dtype: 'u8', shape: [3] },
      ],
      async (t, write) => {
        if (t.name === 'x') {
          await write(new Uint8Array(new Float32Array([1, 2]).buffer));
          await write(new Uint8Array(new Float32Array([3, 4]).buffer));
        } else await write(new Uint8Array([7, 8, 9]));
      },
      { onTensor: (t, i, n) => chunks.push(`${t.name} ${i}/${n}`) },
    );
    expect(chunks).toEqual(['x 0/2', 'y 1/2']);
    const onDisk = await readFile(path);
    expect(onDisk.byteLength).toBe(written.layout.fileSize);
    expect(written.sha256).toBe(createHash('sha256').update(onDisk).digest('hex'));
    const store = await openSafetensorsStore([await openFileSource(path)]);
    const x = new Uint8Array(16);
    await store.get('x')!.readInto(x);
    expect(new Float32Array(x.buffer)).toEqual(new Float32Array([1, 2, 3, 4]));
    await store.close();
  });

  it('fails when a filler writes too few or too many bytes, leaving no file behind', async () => {
    const decl = [{ name: 'x', dtype: 'f32' as const, shape: [2] }];
    const short = join(dir, 'short.safetensors');
    await expect(writeSafetensorsFile(short, decl, (_t, write) => write(new Uint8Array(4)))).rejects.toThrow('tensor x: filler wrote 4 of 8 bytes');
    const long = join(dir, 'long.safetensors');
    await expect(writeSafetensorsFile(long, decl, (_t, write) => write(new Uint8Array(12)))).rejects.toThrow('tensor x: filler wrote more than 8 bytes');
    for (const f of [short, long]) expect(existsSync(f) || existsSync(`${f}.partial`)).toBe(false);
  });
});

describe('writeShardedSafetensors', () => {
  it('splits tensors in order into shards within the limit and writes an index with sha256 and size per shard', async () => {
    const out = join(dir, 'sharded');
    await mkdir(out);
    // 6 tensors of 400 bytes; with ~100-byte headers, at most 2 fit under 1000 bytes.
    const decls = Array.from({ length: 6 }, (_, i) => ({ name: `t${i}`, dtype: 'f32' as const, shape: [100] }));
    const value = (name: string) => Number(name.slice(1)) + 0.5;
    const { files, index } = await writeShardedSafetensors(out, decls, (t, write) => write(new Uint8Array(new Float32Array(100).fill(value(t.name)).buffer)), {
      maxShardBytes: 1000,
      alignment: 16,
    });
    expect(files).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    expect(index.weight_map).toEqual({ t0: files[0], t1: files[0], t2: files[1], t3: files[1], t4: files[2], t5: files[2] });
    expect(index.metadata.total_size).toBe(2400);
    for (const f of files) {
      const bytes = await readFile(join(out, f));
      expect(bytes.byteLength).toBeLessThanOrEqual(1000);
      expect(index.shards[f]).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength });
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) % 16).toBe(8); // data section 16-aligned
    }
    const onDisk = JSON.parse(await readFile(join(out, 'model.safetensors.index.json'), 'utf8'));
    expect(onDisk).toEqual(index);
    const store = await openShardedSafetensors('index', onDisk, { openShard: (f) => openFileSource(join(out, f)) });
    const t5 = new Uint8Array(400);
    await store.get('t5')!.readInto(t5);
    expect(new Float32Array(t5.buffer)[99]).toBe(5.5);
    await store.close();
  });

  it('gives a tensor larger than the limit a shard of its own', async () => {
    const out = join(dir, 'oversize');
    await mkdir(out);
    const decls = [
      { name: 'small', dtype: 'u8' as const, shape: [10] },
      { name: 'big', dtype: 'u8' as const, shape: [5000] },
      { name: 'tail', dtype: 'u8' as const, shape: [10] },
    ];
    const { index } = await writeShardedSafetensors(out, decls, (t, write) => write(new Uint8Array(t.byteLength)), { maxShardBytes: 1000 });
    expect(Object.values(index.weight_map)).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
  });
});
