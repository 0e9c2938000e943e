// GGUFs exported by edgetron load in llama.cpp (the `node-llama-cpp` npm package, DESIGN §8);
// on the f32 exports llama.cpp's greedy tokens equal edgetron's on the same prompt. It is not a
// default dependency (≈ 700 MB of prebuilt binaries, DESIGN §7): install it with
// `npm install --no-save node-llama-cpp@3.22.1`, or point NODE_LLAMA_CPP at its entry file.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { planGgufExport, writeGgufFile } from '../../weights-tools/gguf-writer.js';
import { argmax } from '../helpers/fixture-logits.js';
import { FIXTURES } from '../helpers/fixtures.js';

const entry = process.env.NODE_LLAMA_CPP ? pathToFileURL(process.env.NODE_LLAMA_CPP).href : 'node-llama-cpp';
const nlc = await import(entry).catch(() => null);
const tmp = mkdtempSync(join(tmpdir(), 'gguf-llamacpp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!nlc)('llama.cpp runs edgetron-exported GGUFs', () => {
  for (const folder of ['moe', 'dense', 'latent']) {
    it(`${folder}: llama.cpp's greedy tokens on the f32 export are edgetron's`, async () => {
      const ckpt = await openCheckpoint(`${FIXTURES}${folder}/hf`);
      const path = join(tmp, `${folder}.gguf`);
      await writeGgufFile(path, planGgufExport(ckpt, 'f32'));
      await ckpt.store.close();

      const prompt = (JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[] }).tokens.slice(0, 16);
      const llama = await nlc.getLlama({ gpu: false, build: 'never' });
      const model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ contextSize: 256, threads: 1 });
      const greedy: number[] = [];
      for await (const token of context.getSequence().evaluate(prompt, { temperature: 0 })) {
        greedy.push(Number(token));
        if (greedy.length === 16) break;
      }
      expect(greedy).toHaveLength(16);
      await context.dispose();
      await model.dispose();

      // edgetron, teacher-forced on llama.cpp's continuation: its argmax must be each next token
      let out = '';
      const code = await main(['logits', '--model', path, '--tokens', [...prompt, ...greedy].join(','), '--backend', 'wasm'], {
        stdout: { write: (s: string) => (out += s) },
        stderr: { write: () => {} },
        env: {},
      });
      expect(code).toBe(0);
      const rows = (JSON.parse(out) as { logits: number[][] }).logits;
      const mine = greedy.map((_, i) => argmax(rows[prompt.length - 1 + i]));
      expect(mine).toEqual(greedy);
    }, 120_000);
  }

  it('an NVFP4 export loads and generates (its tokens differ: llama.cpp rounds activations to 8 bits)', async () => {
    const ckpt = await openCheckpoint(`${FIXTURES}moe/hf`);
    const path = join(tmp, 'moe-nvfp4.gguf');
    await writeGgufFile(path, planGgufExport(ckpt, 'nvfp4'));
    await ckpt.store.close();
    const llama = await nlc.getLlama({ gpu: false, build: 'never' });
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    const tokens: number[] = [];
    for await (const token of context.getSequence().evaluate([1, 48, 396], { temperature: 0 })) {
      tokens.push(Number(token));
      if (tokens.length === 8) break;
    }
    await context.dispose();
    await model.dispose();
    expect(tokens).toHaveLength(8);
    expect(tokens.every((t) => t >= 0 && t < 512)).toBe(true);
  }, 120_000);
});
