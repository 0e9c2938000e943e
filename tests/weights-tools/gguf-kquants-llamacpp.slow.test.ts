// edgetron's block-typed GGUFs (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, a Q4_K_M-style mix) in llama.cpp
// (`node-llama-cpp`, DESIGN §8; install it with `npm install --no-save node-llama-cpp@3.22.1` or point
// NODE_LLAMA_CPP at its entry file), logits compared with edgetron's on the same file:
// 1. Dequantisation, bit for bit: an f32 export whose token embedding alone is of the block type.
//    llama.cpp gathers embedding rows with its own dequantiser (get_rows) and every product is f32,
//    so its logits must equal edgetron's to the f32 fixtures' 2e-3, same argmax everywhere: a
//    misread scale, nibble or bit of any block moves them by far more.
// 2. Products: an f32 export whose output head alone is of the block type. llama.cpp rounds the
//    head's input to 8 bits per block (q8_0 / q8_1 for the 32-value types, q8_K per 256 for the
//    K-quants), nothing else: its logits stay within 0.1 of edgetron's (measured 0.04 / 0.07).
// 3. Whole exports: they cannot agree to 2e-3. ggml's CPU products round the activations to 8 bits
//    (q8_0 / q8_K) for these weight types, and in these random MoE models a router then picks other
//    experts at some positions (tests/fixtures/nemotron-h-tiny/README.md: up to ≈ 4 on llama.cpp's
//    own q8_0 file). Each export must load and run in llama.cpp with the same argmax as edgetron at
//    ≥ 70 % of the positions; the max |Δ| is printed.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { planGgufExport, writeGgufFile, type GgufQuant } from '../../weights-tools/gguf-writer.js';
import { GGML_BLOCKS, GGML_BLOCK_DTYPES } from '../../engine/formats/ggml-blocks.js';
import { argmax, compareLogits, readF32 } from '../helpers/fixture-logits.js';
import { FIXTURES } from '../helpers/fixtures.js';

const entry = process.env.NODE_LLAMA_CPP ? pathToFileURL(process.env.NODE_LLAMA_CPP).href : 'node-llama-cpp';
const nlc = await import(entry).catch(() => null);
const tmp = mkdtempSync(join(tmpdir(), 'gguf-kquants-llamacpp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fixture = JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[]; vocab: number };
const PROMPT = fixture.tokens.slice(0, 32);

/** llama.cpp's logits at every position of `tokens` ([T][V]). */
async function llamaLogits(path: string, tokens: number[]): Promise<number[][]> {
  const llama = await nlc.getLlama({ gpu: false, build: 'never' });
  const model = await llama.loadModel({ modelPath: path });
  // an f32 KV cache, as the fixtures were made (the default f16 one rounds K and V)
  const context = await model.createContext({ contextSize: 256, threads: 1, batchSize: 256, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
  const out = await context.getSequence().controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }]));
  const rows = out.map((o: { next: { logits: Map<number, number> } }) => {
    const row = new Array<number>(fixture.vocab).fill(0);
    for (const [tok, v] of o.next.logits) row[tok] = v;
    return row;
  });
  await context.dispose();
  await model.dispose();
  return rows;
}

async function edgetronLogits(path: string, tokens: number[]): Promise<number[][]> {
  let out = '';
  const code = await main(['logits', '--model', path, '--tokens', tokens.join(','), '--backend', 'wasm'], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} }, env: {} });
  expect(code).toBe(0);
  return (JSON.parse(out) as { logits: number[][] }).logits;
}

describe.skipIf(!nlc)('llama.cpp on edgetron-exported block-typed GGUFs', () => {
  let q8Error = 0;

  it('llama.cpp on its own q8_0 fixture, against ref64-q8_0 (the bound below)', async () => {
    const rows = await llamaLogits(`${FIXTURES}moe/model-q8_0.gguf`, PROMPT);
    const ref = readF32(`${FIXTURES}moe/ref64-q8_0.f32`);
    q8Error = compareLogits(rows, ref.subarray(0, PROMPT.length * fixture.vocab)).maxAbs;
    console.log(`llama.cpp q8_0 fixture vs ref64-q8_0: max |Δ| ${q8Error.toFixed(4)}`);
    expect(q8Error).toBeGreaterThan(0);
  }, 120_000);

  const QUANTS: GgufQuant[] = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k', 'q4_k_m'];
  for (const quant of QUANTS) {
    it(`${quant}: llama.cpp loads the export; its logits are edgetron's within llama.cpp's own activation-rounding error`, async () => {
      const ckpt = await openCheckpoint(`${FIXTURES}moe/hf`);
      const path = join(tmp, `moe-${quant}.gguf`);
      await writeGgufFile(path, planGgufExport(ckpt, quant));
      await ckpt.store.close();
      const theirs = await llamaLogits(path, PROMPT);
      const mine = await edgetronLogits(path, PROMPT);
      const { maxAbs, argmaxDiffers } = compareLogits(mine, theirs);
      const same = PROMPT.filter((_, t) => argmax(mine[t]) === argmax(theirs[t])).length;
      console.log(`${quant}: max |Δ| ${maxAbs.toFixed(4)}, argmax differs at ${argmaxDiffers.length}/${PROMPT.length} positions`);
      expect(same / PROMPT.length).toBeGreaterThanOrEqual(0.7);
    }, 120_000);
  }

  for (const dtype of GGML_BLOCK_DTYPES) {
    it(`${dtype} output head in an f32 export: llama.cpp's product (8-bit activations) stays near edgetron's`, async () => {
      const ckpt = await openCheckpoint(`${FIXTURES}moe/hf`);
      const plan = planGgufExport(ckpt, 'f32');
      const head = ckpt.store.get('lm_head.weight')!;
      const raw = new Uint8Array(head.byteLength);
      await head.readInto(raw);
      const values = new Float32Array(raw.buffer);
      const t = GGML_BLOCKS[dtype];
      const blocks = new Uint8Array((values.length / t.blockValues) * t.blockBytes);
      t.quant(values, blocks, values.length);
      const i = plan.tensors.findIndex((x) => x.name === 'output.weight');
      plan.tensors[i] = { ...plan.tensors[i], type: t.ggmlType, byteLength: blocks.byteLength, produce: (write) => write(blocks) };
      const path = join(tmp, `moe-head-${dtype}.gguf`);
      await writeGgufFile(path, plan);
      await ckpt.store.close();
      const { maxAbs, argmaxDiffers } = compareLogits(await edgetronLogits(path, PROMPT), await llamaLogits(path, PROMPT));
      console.log(`head ${dtype}: max |Δ| ${maxAbs.toExponential(3)}, argmax differs at ${argmaxDiffers.length}`);
      expect(maxAbs).toBeLessThanOrEqual(0.1);
    }, 120_000);
  }

  it('the f32 export itself: the floor of the comparison below', async () => {
    const ckpt = await openCheckpoint(`${FIXTURES}moe/hf`);
    const path = join(tmp, 'moe-f32.gguf');
    await writeGgufFile(path, planGgufExport(ckpt, 'f32'));
    await ckpt.store.close();
    const { maxAbs, argmaxDiffers } = compareLogits(await edgetronLogits(path, PROMPT), await llamaLogits(path, PROMPT));
    console.log(`f32 export: max |Δ| ${maxAbs.toExponential(3)}`);
    expect(argmaxDiffers).toEqual([]);
    expect(maxAbs).toBeLessThanOrEqual(2e-3);
  }, 120_000);

  for (const dtype of GGML_BLOCK_DTYPES) {
    it(`${dtype} token embedding in an f32 export: llama.cpp's logits are edgetron's to 2e-3 (its dequantiser is ours)`, async () => {
      const ckpt = await openCheckpoint(`${FIXTURES}moe/hf`);
      const plan = planGgufExport(ckpt, 'f32');
      const emb = ckpt.store.get('backbone.embeddings.weight')!;
      const raw = new Uint8Array(emb.byteLength);
      await emb.readInto(raw);
      const values = new Float32Array(raw.buffer);
      const t = GGML_BLOCKS[dtype];
      const blocks = new Uint8Array((values.length / t.blockValues) * t.blockBytes);
      t.quant(values, blocks, values.length);
      const i = plan.tensors.findIndex((x) => x.name === 'token_embd.weight');
      plan.tensors[i] = { ...plan.tensors[i], type: t.ggmlType, byteLength: blocks.byteLength, produce: (write) => write(blocks) };
      const path = join(tmp, `moe-embd-${dtype}.gguf`);
      await writeGgufFile(path, plan);
      await ckpt.store.close();
      const theirs = await llamaLogits(path, PROMPT);
      const mine = await edgetronLogits(path, PROMPT);
      const { maxAbs, argmaxDiffers } = compareLogits(mine, theirs);
      console.log(`embedding ${dtype}: max |Δ| ${maxAbs.toExponential(3)}`);
      expect(argmaxDiffers).toEqual([]);
      expect(maxAbs).toBeLessThanOrEqual(2e-3);
    }, 120_000);
  }
});
