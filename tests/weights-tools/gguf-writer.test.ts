// weights-tools/gguf-writer.ts: GGUF export of the HF fixture twins. An f32 export read back
// gives the same logits as the HF folder; f16/bf16/q8_0 exports hold exactly the tensor bytes
// llama.cpp's own converter wrote into the fixtures, under the same metadata; the Q4_0 quantiser
// follows ggml's definition on a hand-computed block.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memorySource } from '../../engine/formats/bytes.js';
import { dequantQ4_0, quantQ4_0, quantQ8_0, dequantQ8_0 } from '../../engine/formats/ggml-types.js';
import { openGguf, type GgufFile } from '../../engine/formats/gguf.js';
import { main } from '../../cli/main.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { compareLogits } from '../helpers/fixture-logits.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { planGgufExport, writeGgufFile, type GgufQuant } from '../../weights-tools/gguf-writer.js';
import { quantizeLinear } from '../../weights-tools/quantize.js';

const tmp = mkdtempSync(join(tmpdir(), 'gguf-writer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const openFile = (path: string) => openGguf(memorySource(path, new Uint8Array(readFileSync(path))));

async function exportTo(folder: string, quant: GgufQuant): Promise<string> {
  const ckpt = await openCheckpoint(`${FIXTURES}${folder}/hf`);
  const out = join(tmp, `${folder}-${quant}.gguf`);
  try {
    const progress: number[][] = [];
    await writeGgufFile(out, planGgufExport(ckpt, quant, `oracle-tiny-${folder}`), (done, total) => progress.push([done, total]));
    expect(progress.at(-1)![0]).toBe(progress.at(-1)![1]);
    expect(progress.every(([d], i) => i === 0 || d > progress[i - 1][0])).toBe(true);
  } finally {
    await ckpt.store.close();
  }
  return out;
}

async function logits(model: string, tokens: number[]): Promise<number[][]> {
  let out = '';
  const code = await main(['logits', '--model', model, '--tokens', tokens.join(','), '--backend', 'reference'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => {} },
    env: {},
  });
  expect(code).toBe(0);
  return JSON.parse(out).logits;
}

async function tensorBytes(g: GgufFile, name: string): Promise<Uint8Array> {
  const t = g.tensorsByName.get(name)!;
  const b = new Uint8Array(t.byteLength);
  await g.source.readInto(b, t.offset);
  return b;
}

describe('GGUF export of the fixture twins', () => {
  const tokens = (JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[] }).tokens.slice(0, 24);

  for (const folder of ['moe', 'dense', 'latent']) {
    it(`${folder}: an f32 export gives the HF folder's logits`, async () => {
      const path = await exportTo(folder, 'f32');
      const [got, want] = [await logits(path, tokens), await logits(`${FIXTURES}${folder}/hf`, tokens)];
      const { maxAbs, argmaxDiffers } = compareLogits(got, want);
      expect(argmaxDiffers).toEqual([]);
      expect(maxAbs).toBeLessThanOrEqual(1e-5); // A_log goes through −exp and back: ≤ 1 ulp
      // the same file llama.cpp wrote: same tensors, same metadata
      const [mine, theirs] = [await openFile(path), await openFile(`${FIXTURES}${folder}/model-f32.gguf`)];
      expect(mine.tensors.map((t) => [t.name, t.type.name, t.dims])).toEqual(theirs.tensors.map((t) => [t.name, t.type.name, t.dims]));
      // llama.cpp's converter wrote no chat template: the fixture's tokenizer_config.json came later
      const meta = (g: GgufFile) => [...g.metadata].filter(([k]) => k !== 'general.name' && k !== 'tokenizer.chat_template');
      expect(meta(mine)).toEqual(meta(theirs));
      expect(mine.metadata.get('tokenizer.chat_template')?.value).toContain('<|im_start|>');
    });
  }

  for (const quant of ['f16', 'bf16', 'q8_0'] as const) {
    it(`moe: a ${quant} export holds llama.cpp's bytes for every tensor`, async () => {
      const [mine, theirs] = [await openFile(await exportTo('moe', quant)), await openFile(`${FIXTURES}moe/model-${quant}.gguf`)];
      expect(mine.tensors.map((t) => [t.name, t.type.name, t.dims])).toEqual(theirs.tensors.map((t) => [t.name, t.type.name, t.dims]));
      for (const t of theirs.tensors) {
        if (t.name.endsWith('ssm_a')) continue; // −exp(A_log) computed by each side's own exp
        expect(Buffer.compare(await tensorBytes(mine, t.name), await tensorBytes(theirs, t.name)), t.name).toBe(0);
      }
      expect(mine.metadata.get('general.file_type')).toEqual(theirs.metadata.get('general.file_type'));
    });
  }
});

describe('NVFP4 GGUF export', () => {
  it("llama.cpp's NVFP4 fixture → edgetron (ModelOpt nvfp4) → NVFP4 GGUF gives back every byte", async () => {
    const ckpt = await openCheckpoint(`${FIXTURES}moe/model-nvfp4.gguf`);
    expect(ckpt.store.get('lm_head.weight')!.dtype).toBe('u8'); // read as the engine's nvfp4 format
    const path = join(tmp, 'moe-nvfp4-roundtrip.gguf');
    try {
      await writeGgufFile(path, planGgufExport(ckpt, 'nvfp4'));
    } finally {
      await ckpt.store.close();
    }
    const [mine, theirs] = [await openFile(path), await openFile(`${FIXTURES}moe/model-nvfp4.gguf`)];
    expect(mine.tensors.map((t) => [t.name, t.type.name, t.dims])).toEqual(theirs.tensors.map((t) => [t.name, t.type.name, t.dims]));
    for (const t of theirs.tensors) {
      if (t.name.endsWith('ssm_a')) continue;
      expect(Buffer.compare(await tensorBytes(mine, t.name), await tensorBytes(theirs, t.name)), t.name).toBe(0);
    }
    expect(mine.metadata.get('general.file_type')).toEqual(theirs.metadata.get('general.file_type'));
  });

  it('an f32 checkpoint exports as the edge-pack quantiser\'s nvfp4, losslessly packed', async () => {
    const ckpt = await openCheckpoint(`${FIXTURES}moe/hf`);
    const path = join(tmp, 'moe-nvfp4.gguf');
    const name = 'backbone.layers.1.mixer.experts.3.down_proj.weight';
    const w = ckpt.store.get(name)!;
    const raw = new Uint8Array(w.byteLength);
    await w.readInto(raw);
    const values = new Float32Array(raw.buffer);
    const [rows, cols] = w.shape;
    const q = quantizeLinear({ name, rows, cols, readRow: (r, dst) => dst.set(values.subarray(r * cols, (r + 1) * cols)) }, { format: 'nvfp4' });
    try {
      await writeGgufFile(path, planGgufExport(ckpt, 'nvfp4'));
    } finally {
      await ckpt.store.close();
    }
    const back = await openCheckpoint(path);
    const read = async (n: string) => {
      const t = back.store.get(n)!;
      const b = new Uint8Array(t.byteLength);
      await t.readInto(b);
      return b;
    };
    expect(Buffer.compare(await read(name), q.weight)).toBe(0);
    expect(Buffer.compare(await read(name.replace('.weight', '.weight_scale')), q.scale)).toBe(0);
    expect(new Float32Array((await read(name.replace('.weight', '.weight_scale_2'))).buffer)[0]).toBe(q.scale2);
    expect(back.store.get('backbone.embeddings.weight')!.dtype).toBe('f16');
    expect(back.store.get('backbone.layers.1.mixer.gate.weight')!.dtype).toBe('f32');
    await back.store.close();
  });
});

describe('ggml quantisers', () => {
  it('Q4_0 on a hand-computed block: d = (value of largest |x|)/−8, q = min(15, trunc(x/d + 8.5))', () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => j - 16); // largest |x| is −16 → d = 2
    const block = new Uint8Array(18);
    quantQ4_0(x, block, 32);
    expect([block[0], block[1]]).toEqual([0x00, 0x40]); // f16 2.0
    // x/d + 8.5 for x = −16 … −1 → 0.5 … 8 → codes 0 … 8; x = 0 … 15 → 8.5 … 16 → codes 8 … 15 (16 clamps)
    expect(block[2] & 0xf).toBe(0);
    expect(block[2] >> 4).toBe(8); // x[16] = 0
    expect(block[17] >> 4).toBe(15); // x[31] = 15 → 16 → 15
    const back = new Float32Array(32);
    dequantQ4_0(block, back, 32);
    expect(back[0]).toBe(-16);
    expect(back[31]).toBe(14);
  });

  it('Q8_0 round trip is within half a step, and a zero block stays zero', () => {
    const x = Float32Array.from({ length: 64 }, (_, j) => (j < 32 ? Math.sin(j) * 3 : 0));
    const blocks = new Uint8Array(68);
    quantQ8_0(x, blocks, 64);
    const back = new Float32Array(64);
    dequantQ8_0(blocks, back, 64);
    const step = (3 * Math.max(...x.slice(0, 32).map(Math.abs))) / 3 / 127;
    for (let j = 0; j < 32; j++) expect(Math.abs(back[j] - x[j])).toBeLessThanOrEqual(step / 2 + 1e-3 * step);
    expect([...back.slice(32)]).toEqual(new Array(32).fill(0));
  });
});
