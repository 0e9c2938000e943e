import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ShardLimitError } from '../../engine/core/errors.js';
import { openSession } from '../../engine/core/session.js';
import { validateWeights } from '../../engine/core/weights.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { packageRoot } from '../../runtime/paths.js';
import { openCheckpoint, resolveModelPath } from '../../weights-tools/checkpoint.js';
import { DEMO_TRAIN_DIR, EDGE_ALIGNMENT, TOOL_CHAT_TEMPLATE, buildDefaultPack, packCheckpoint } from '../../weights-tools/pack.js';
import { synthesize } from '../../weights-tools/synth.js';

const tmp = await mkdtemp(join(tmpdir(), 'edgetron-pack-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
const json = async (dir: string, f: string) => JSON.parse(await readFile(join(dir, f), 'utf8'));

// a seeded tiny model stands in for "any checkpoint"; the committed default is the trained demo
const TINY = join(tmp, 'tiny');
await synthesize({ preset: 'tiny', seed: 1, out: TINY, dtype: 'f32' });
const TRAINED = join(packageRoot(), DEMO_TRAIN_DIR);

describe('edge pack (DESIGN §3)', () => {
  it('buildDefaultPack converts a checkpoint to NVFP4 with the tool template, the same bytes every time', async () => {
    const [a, b] = [join(tmp, 'default-a'), join(tmp, 'default-b')];
    await buildDefaultPack(a, TINY);
    await buildDefaultPack(b, TINY);
    expect((await readdir(a)).sort()).toEqual((await readdir(b)).sort());
    for (const f of await readdir(a)) expect((await readFile(join(a, f))).equals(await readFile(join(b, f))), f).toBe(true);
    expect((await json(a, 'tokenizer_config.json')).chat_template).toBe(TOOL_CHAT_TEMPLATE);
    expect((await json(a, 'config.json')).quantization_config).toBeTruthy();
  });

  it.runIf(existsSync(join(TRAINED, 'model.safetensors')))('buildDefaultPack reproduces the committed default pack byte for byte from models/demo-train', async () => {
    const out = join(tmp, 'default');
    await buildDefaultPack(out);
    const committed = resolveModelPath('default');
    expect((await readdir(out)).sort()).toEqual((await readdir(committed)).sort());
    for (const f of await readdir(out)) expect((await readFile(join(out, f))).equals(await readFile(join(committed, f))), f).toBe(true);
  });

  it('splits into shards of at most maxShardBytes, 16-byte aligned, that load with sha256 checks to the same logits', async () => {
    const src = TINY;
    const out = join(tmp, 'small-shards');
    const written = await packCheckpoint(src, out, { maxShardBytes: 300_000 });
    expect(written.files.length).toBeGreaterThan(3);
    for (const f of written.files) {
      const bytes = await readFile(join(out, f));
      expect(bytes.byteLength).toBeLessThanOrEqual(300_000);
      const headerLen = Number(bytes.readBigUInt64LE(0));
      expect((8 + headerLen) % EDGE_ALIGNMENT).toBe(0);
      for (const t of Object.values(JSON.parse(bytes.subarray(8, 8 + headerLen).toString()) as Record<string, { data_offsets?: number[] }>)) {
        if (t.data_offsets) expect(t.data_offsets[0] % 4).toBe(0);
      }
    }
    const logits = async (dir: string) => {
      const ckpt = await openCheckpoint(dir);
      validateWeights(ckpt.config, ckpt.store);
      const s = await openSession(ckpt, referenceBackend);
      const row = s.model.forward(s.model.newSequence(4), Int32Array.of(10, 20, 30), 'last');
      s.dispose();
      await ckpt.store.close();
      return row;
    };
    expect(await logits(out)).toEqual(await logits(src));
  });

  it('refuses a tensor larger than a shard before writing anything, naming it', async () => {
    const out = join(tmp, 'too-small');
    // the largest tiny tensors are the (512, 64) f32 embedding and head: 131072 bytes
    await expect(packCheckpoint(TINY, out, { maxShardBytes: 100_000 })).rejects.toThrow(
      new ShardLimitError('backbone.embeddings.weight', 131072, 100_000),
    );
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });
});
