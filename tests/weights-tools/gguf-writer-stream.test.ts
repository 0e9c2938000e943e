// weights-tools/gguf-writer.ts under a memory cap (row-chunks.ts): with a cap that leaves 16 KiB
// for tensor data, every tensor of the tiny-latent model streams in many chunks of rows, and the
// GGUF files (f32, f16, bf16, q8_0, q4_0, nvfp4 from float inputs; nvfp4 repacked losslessly from
// an nvfp4 pack and requantised from nvfp4-s24) are byte for byte those of the whole-tensor
// export this replaced (tests/helpers/stream-prints.ts).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { convertCheckpoint } from '../../weights-tools/convert.js';
import { planGgufExport, writeGgufFile, type GgufQuant } from '../../weights-tools/gguf-writer.js';
import { CAP, ggufPrint, streamInputs } from '../helpers/stream-prints.js';

let dir: string;
let wholePrint: Awaited<ReturnType<typeof streamInputs>>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-gguf-stream-'));
  wholePrint = await streamInputs(dir);
  await convertCheckpoint(join(dir, 'f32'), join(dir, 'pack-nvfp4'), { quant: 'nvfp4' });
  await convertCheckpoint(join(dir, 'f32'), join(dir, 'pack-s24'), { quant: 'nvfp4', sparse: true });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('GGUF export under a cap that splits every tensor into chunks of rows', () => {
  const GGUFS: [from: string, quant: GgufQuant][] = [
    ['f32', 'f32'],
    ['f32', 'bf16'],
    ['f32', 'f16'],
    ['f32', 'q8_0'],
    ['f32', 'q4_0'],
    ['f32', 'nvfp4'],
    ['pack-nvfp4', 'nvfp4'], // lossless repack of ModelOpt blocks
    ['pack-s24', 'nvfp4'], // decoded, requantised
    ['pack-s24', 'f32'],
    ['bf16', 'q8_0'],
  ];
  it.each(GGUFS)('%s → %s: the whole-tensor bytes', async (from, quant) => {
    const ckpt = await openCheckpoint(join(dir, from));
    const write = async (name: string, maxMemoryMb?: number) => {
      const path = join(dir, `${name}.gguf`);
      await writeGgufFile(path, planGgufExport(ckpt, quant, 'edgetron export', maxMemoryMb));
      return ggufPrint(path);
    };
    try {
      const key = `gguf-${from}-${quant}`;
      expect(await write(key, CAP)).toBe(await wholePrint(key, () => write(`${key}-whole`)));
    } finally {
      await ckpt.store.close();
    }
  });
});
