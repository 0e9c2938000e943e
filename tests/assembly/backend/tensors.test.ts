// assembly/backend/tensors.ts: the wasm backend reads a checkpoint front to back (every tensor,
// a 4-bit linear's sidecars included, in file and offset order), so an edge-pack shard can be
// streamed into WASM memory without seeking back (serve/shard-stream.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import { expectedTensors, validateWeights, type TensorEntry } from '../../../engine/core/weights.js';
import type { SafetensorsTensor } from '../../../engine/formats/safetensors.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';
import { convertCheckpoint } from '../../../weights-tools/convert.js';
import { synthesize } from '../../../weights-tools/synth.js';
import { loadOrder } from '../../../weights-tools/pack.js';
import { writeShardedSafetensors } from '../../../weights-tools/safetensors-writer.js';

let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgetron-wasm-order-'));
  await synthesize({ preset: 'tiny-latent', seed: 3, out: join(dir, 'f32'), dtype: 'f32' });
  await convertCheckpoint(join(dir, 'f32'), join(dir, 'nvfp4'), { quant: 'nvfp4', policy: 'all-linear', quantizeHead: true, shardMb: 0.05 });
  await convertCheckpoint(join(dir, 'f32'), join(dir, 's24'), { quant: 'nvfp4', sparse: true, policy: 'all-linear', shardMb: 0.05 });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('WasmTensors.load', () => {
  test.each(['nvfp4', 's24'])('%s (many small shards): reads never go back in a file, nor to an earlier file', async (pack) => {
    const ckpt = await openCheckpoint(join(dir, pack));
    const reads: [string, number][] = [];
    const logged = new Map<string, TensorEntry>();
    for (const [name, entry] of validateWeights(ckpt.config, ckpt.store)) {
      const t = entry as SafetensorsTensor;
      logged.set(name, { ...t, readInto: (dst) => (reads.push([t.file, t.offset]), t.readInto(dst)) } as TensorEntry);
    }
    const model = await wasmBackend.load(ckpt.config, logged);
    model.dispose();
    expect(new Set(reads.map(([f]) => f)).size).toBeGreaterThan(2);
    expect(reads).toHaveLength(logged.size);
    const sorted = [...reads].sort(([fa, oa], [fb, ob]) => (fa === fb ? oa - ob : fa < fb ? -1 : 1));
    expect(reads).toEqual(sorted);
  });
});

describe('WasmTensors.load on edge packs in any tensor order (issue 21 point 1)', () => {
  /** Write the MoE `tiny` checkpoint's tensors as a pack of ~40 KiB shards in `order`. */
  const packIn = async (order: (names: string[]) => string[], out: string) => {
    const ckpt = await openCheckpoint(join(dir, 'moe'));
    try {
      const decls = order(ckpt.store.names()).map((name) => ({ name, dtype: ckpt.store.get(name)!.dtype, shape: ckpt.store.get(name)!.shape }));
      await mkdir(out, { recursive: true });
      await writeShardedSafetensors(out, decls, async (t, write) => {
        const bytes = new Uint8Array(ckpt.store.get(t.name)!.byteLength);
        await ckpt.store.get(t.name)!.readInto(bytes);
        await write(bytes);
      }, { maxShardBytes: 40_000, alignment: 16 });
      await writeFile(join(out, 'config.json'), JSON.stringify(ckpt.config.raw));
    } finally {
      await ckpt.store.close();
    }
  };

  /** Passes a forward-only stream (serve/shard-stream.ts) would need per shard: 1 + each read behind the last. */
  const passesPerShard = async (pack: string) => {
    const ckpt = await openCheckpoint(pack);
    const passes = new Map<string, number>();
    const end = new Map<string, number>();
    const logged = new Map<string, TensorEntry>();
    for (const [name, entry] of validateWeights(ckpt.config, ckpt.store)) {
      const t = entry as SafetensorsTensor;
      logged.set(name, {
        ...t,
        readInto: (dst) => {
          if (t.offset < (end.get(t.file) ?? Infinity)) passes.set(t.file, (passes.get(t.file) ?? 0) + 1);
          end.set(t.file, t.offset + t.byteLength);
          return t.readInto(dst);
        },
      } as TensorEntry);
    }
    (await wasmBackend.load(ckpt.config, logged)).dispose();
    await ckpt.store.close();
    return passes;
  };

  beforeAll(async () => {
    await synthesize({ preset: 'tiny', seed: 5, out: join(dir, 'moe-f32'), dtype: 'f32' });
    await convertCheckpoint(join(dir, 'moe-f32'), join(dir, 'moe'), { quant: 'nvfp4', policy: 'all-linear' });
  }, 120_000);

  test.each([
    ['name order (packs of old versions)', 'moe-sorted', (names: string[]) => [...names].sort()],
    ['reverse name order', 'moe-reversed', (names: string[]) => [...names].sort().reverse()],
  ])('%s: every shard of a MoE pack is streamed once', async (_, folder, order) => {
    const out = join(dir, folder);
    await packIn(order, out);
    const passes = await passesPerShard(out);
    expect(passes.size).toBeGreaterThan(3);
    expect([...passes.values()].every((n) => n === 1)).toBe(true);
  });

  test('writeEdgePack writes tensors in load order', async () => {
    const ckpt = await openCheckpoint(join(dir, 'moe'));
    const order = loadOrder(ckpt);
    await ckpt.store.close();
    expect(new Set(order)).toEqual(new Set(ckpt.store.names()));
    const expected = expectedTensors(ckpt.config).map((t) => t.name);
    expect(order.filter((n) => expected.includes(n))).toEqual(expected);
  });
});

