// assembly/backend/tensors.ts: the wasm backend reads a checkpoint front to back (every tensor,
// a 4-bit linear's sidecars included, in file and offset order), so an edge-pack shard can be
// streamed into WASM memory without seeking back (serve/shard-stream.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import { validateWeights, type TensorEntry } from '../../../engine/core/weights.js';
import type { SafetensorsTensor } from '../../../engine/formats/safetensors.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';
import { convertCheckpoint } from '../../../weights-tools/convert.js';
import { synthesize } from '../../../weights-tools/synth.js';

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
