// weights-tools/convert.ts under a memory cap (row-chunks.ts): with a cap that leaves 16 KiB for
// tensor data, every tensor of the tiny-latent model streams in many chunks of rows, and the edge
// packs (f32, bf16, nvfp4, nvfp4-s24, --mse, from f32, bf16 and 4-bit inputs) are byte for byte
// those of the whole-tensor converter this replaced (tests/helpers/stream-prints.ts). A cap too
// small for one row, and Wanda calibration over the cap, are clear errors.

import { copyFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { convertCheckpoint, type ConvertOptions } from '../../weights-tools/convert.js';
import { MemoryCapError } from '../../weights-tools/errors.js';
import { MemoryBudget, RUNTIME_MIB } from '../../weights-tools/row-chunks.js';
import { planSafetensors, type TensorDecl } from '../../weights-tools/safetensors-writer.js';
import { CAP, packPrint, streamInputs } from '../helpers/stream-prints.js';

let dir: string;
let wholePrint: Awaited<ReturnType<typeof streamInputs>>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-convert-stream-'));
  wholePrint = await streamInputs(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('convert under a cap that splits every tensor into chunks of rows', () => {
  it('the cap leaves room for a few rows only', () => {
    const budget = new MemoryBudget(CAP);
    const arena = budget.arena(512 * 64);
    expect(budget.rowsPerChunk(arena, 'backbone.embeddings.weight', 512, 64 * 4)).toBe(64); // 16 KiB / 256 B
    expect(budget.rowsPerChunk(arena, 'backbone.embeddings.weight', 512, 64 * (4 + 8 + 2))).toBe(18); // f32 → f64 → bf16
  });

  const PACKS: [from: string, to: string, options: Partial<ConvertOptions>][] = [
    ['f32', 'pack-f32', { quant: 'f32' }],
    ['f32', 'pack-bf16', { quant: 'bf16' }],
    ['bf16', 'pack-f32-from-bf16', { quant: 'f32' }],
    ['f32', 'pack-nvfp4', { quant: 'nvfp4' }],
    ['f32', 'pack-nvfp4-all-mse', { quant: 'nvfp4', policy: 'all-linear', mse: true, quantizeHead: true, quantizeEmbedding: true }],
    ['f32', 'pack-s24', { quant: 'nvfp4', sparse: true, policy: 'all-linear' }],
    ['pack-nvfp4-all-mse', 'pack-f32-from-nvfp4', { quant: 'f32' }],
    ['pack-s24', 'pack-bf16-from-s24', { quant: 'bf16' }],
  ];
  it.each(PACKS)('edge pack %s → %s: the whole-tensor bytes', async (from, to, options) => {
    const convert = async (out: string, maxMemoryMb?: number) => {
      await convertCheckpoint(join(dir, from), join(dir, out), { quant: 'f32', shardMb: 0.25, maxMemoryMb, ...options });
      return packPrint(join(dir, out));
    };
    expect(await convert(to, CAP)).toBe(await wholePrint(to, () => convert(`${to}-whole`)));
  });
});

describe('convert refuses what the cap cannot hold', () => {
  it('names the tensor whose single row does not fit, and the cap it needs', async () => {
    // 256 B for data; one embedding row f32 → bf16 takes 256 + 512 + 128 B
    const err = await convertCheckpoint(join(dir, 'f32'), join(dir, 'never'), { quant: 'bf16', maxMemoryMb: RUNTIME_MIB + 1 / 4096 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemoryCapError);
    expect((err as Error).message).toMatch(/one row of backbone\.embeddings\.weight needs 0\.9 KiB of working memory, more than the 0\.3 KiB left .* use --max-memory 98 or more/);
    expect(existsSync(join(dir, 'never', 'model-00001-of-00001.safetensors'))).toBe(false);
  });

  it('refuses Wanda calibration on a checkpoint larger than the cap, before loading anything', async () => {
    // the tiny-latent model with a 2^19-token vocabulary: 256 MiB of embedding and head, as a
    // sparse file (nothing is read before the refusal)
    const big = join(dir, 'big-vocab');
    await mkdir(big);
    const config = JSON.parse(readFileSync(join(dir, 'f32', 'config.json'), 'utf8'));
    const vocab = config.vocab_size as number;
    writeFileSync(join(big, 'config.json'), JSON.stringify({ ...config, vocab_size: 2 ** 19 }));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(dir, 'f32', f), join(big, f));
    const ckpt = await openCheckpoint(join(dir, 'f32'));
    const decls: TensorDecl[] = ckpt.store.names().map((name) => {
      const t = ckpt.store.get(name)!;
      return { name, dtype: t.dtype, shape: t.shape.length === 2 && t.shape[0] === vocab ? [2 ** 19, t.shape[1]] : t.shape };
    });
    await ckpt.store.close();
    const layout = planSafetensors(decls);
    writeFileSync(join(big, 'model.safetensors'), layout.header);
    truncateSync(join(big, 'model.safetensors'), layout.fileSize);
    const wanda = convertCheckpoint(big, join(dir, 'never-wanda'), { quant: 'nvfp4', sparse: true, score: 'wanda', maxMemoryMb: 200 });
    await expect(wanda).rejects.toThrow(/--max-memory 200 MiB: calibration \(--score wanda, --calib\) loads the whole checkpoint \(2\d\d MiB\) into memory/);
  });
});
