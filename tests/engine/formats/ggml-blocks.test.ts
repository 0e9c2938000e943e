// engine/formats/ggml-blocks.ts and the path of a block-typed GGUF through the engine: rows decode
// through decodeBlocksInto exactly as the block dequantisers give them; edgetron's own exports of the
// moe fixture as Q4_0, Q8_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K and a Q4_K_M-style mix keep their blocks in the
// weight store (dtype = the block type, bytes = the file's), and `edgetron logits` on them equals,
// on the reference backend, bit for bit the logits of their f32 twin (the same GGUF re-exported as
// f32: the exactly dequantised weights), and on wasm (block kernels) matches that twin within the
// fixtures' 2e-3 with the same argmax at every position.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GGML_BLOCKS, GGML_BLOCK_DTYPES, decodeBlocksInto } from '../../../engine/formats/ggml-blocks.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';
import { planGgufExport, writeGgufFile, type GgufQuant } from '../../../weights-tools/gguf-writer.js';
import { compareLogits } from '../../helpers/fixture-logits.js';
import { main } from '../../../cli/main.js';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES } from '../../helpers/fixtures.js';
import { mulberry32 } from '../../helpers/memory-store.js';

const tmp = mkdtempSync(join(tmpdir(), 'ggml-blocks-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** stdout of `edgetron ...args`, which must exit 0 with nothing on stderr. */
async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('decodeBlocksInto', () => {
  it.each(GGML_BLOCK_DTYPES)('%s: row r of a [3, 2 blocks] matrix is the dequantiser’s values r·cols …', (dtype) => {
    const t = GGML_BLOCKS[dtype];
    const cols = 2 * t.blockValues;
    const r = mulberry32(3);
    const x = Float32Array.from({ length: 3 * cols }, () => r() - 0.5);
    const bytes = new Uint8Array(((3 * cols) / t.blockValues) * t.blockBytes);
    t.quant(x, bytes, 3 * cols);
    const all = new Float32Array(3 * cols);
    t.dequant(bytes, all, 3 * cols);
    const row = new Float64Array(cols + 1);
    decodeBlocksInto(dtype, bytes, 2 * cols, cols, row, 1);
    expect([...row.subarray(1)]).toEqual([...all.subarray(2 * cols)]);
    expect(() => decodeBlocksInto(dtype, bytes, 1, cols, row)).toThrow(/whole/);
  });
});

describe('block-typed GGUFs load as their blocks and run', () => {
  const tokens = (JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[] }).tokens.slice(0, 24).join(',');
  const QUANTS: [GgufQuant, string[]][] = [
    ['q4_0', ['q4_0']],
    ['q8_0', ['q8_0']],
    ['q4_1', ['q4_1']],
    ['q5_0', ['q5_0']],
    ['q5_1', ['q5_1']],
    // expert down_proj rows (128) do not fill a 256-value block: llama.cpp's fallbacks Q5_0, Q5_1, Q8_0
    ['q4_k', ['q4_k', 'q5_0']],
    ['q5_k', ['q5_k', 'q5_1']],
    ['q6_k', ['q6_k', 'q8_0']],
    ['q4_k_m', ['q4_k', 'q6_k', 'q8_0', 'q5_0']],
  ];
  for (const [quant, dtypes] of QUANTS) {
    it(`${quant}: blocks kept (${dtypes.join(', ')}); reference = its f32 twin exactly, wasm within 2e-3`, async () => {
      const ckpt = await openCheckpoint(`${FIXTURES}moe/hf`);
      const path = join(tmp, `moe-${quant}.gguf`);
      await writeGgufFile(path, planGgufExport(ckpt, quant));
      await ckpt.store.close();

      const q = await openCheckpoint(path);
      const kept = new Set(q.store.names().map((n) => q.store.get(n)!.dtype));
      const twin = join(tmp, `moe-${quant}-f32.gguf`);
      await writeGgufFile(twin, planGgufExport(q, 'f32'));
      await q.store.close();
      expect([...kept].filter((d) => d !== 'f32').sort()).toEqual([...dtypes].sort());

      const logits = async (model: string, backend: string) => (JSON.parse(await cli(['logits', '--model', model, '--tokens', tokens, '--backend', backend])) as { logits: number[][] }).logits;
      const oracle = await logits(twin, 'reference');
      expect(await logits(path, 'reference')).toEqual(oracle);
      const { maxAbs, argmaxDiffers } = compareLogits(await logits(path, 'wasm'), oracle);
      expect(argmaxDiffers).toEqual([]);
      expect(maxAbs).toBeLessThanOrEqual(2e-3);
    }, 60_000);
  }

  it('a Q4_K_M-style GGUF converts to an edge pack: tensors it keeps (the embedding) are its exact f32 values', async () => {
    const path = join(tmp, 'moe-q4_k_m.gguf'); // written above
    const pack = join(tmp, 'pack-from-q4_k_m');
    const quiet = { write: () => {} };
    expect(await main(['convert', path, pack, '--quant', 'nvfp4'], { stdout: quiet, stderr: quiet, env: {} })).toBe(0);
    const emb = 'backbone.embeddings.weight';
    const read = async (model: string) => {
      const c = await openCheckpoint(model);
      const e = c.store.get(emb)!;
      const raw = new Uint8Array(e.byteLength);
      await e.readInto(raw);
      await c.store.close();
      return { dtype: e.dtype, raw };
    };
    const [q, p] = [await read(path), await read(pack)];
    expect(q.dtype).toBe('q8_0');
    expect(p.dtype).toBe('f32');
    const want = new Float32Array((q.raw.length / 34) * 32);
    GGML_BLOCKS.q8_0.dequant(q.raw, want, want.length);
    expect(new Float32Array(p.raw.buffer)).toEqual(want);
    JSON.parse(await cli(['logits', '--model', pack, '--tokens', '1,48', '--backend', 'wasm']));
  }, 60_000);
});
