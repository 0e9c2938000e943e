// The GGUF oracle fixtures (../shared/fixtures/nemotron-h-tiny/README.md), written by llama.cpp's
// own tooling: `edgetron logits --model X.gguf` must match the float64 forward pass over the
// exactly dequantised weights (`ref64-<type>.f32`) to max abs ≤ 2e-3 with the same argmax at every
// position, on the reference and wasm backends; `edgetron tokenize` on the GGUF's embedded
// tokenizer must give llama.cpp's ids for the fixture texts.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { compareLogits, readF32 } from '../helpers/fixture-logits.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/nemotron-h-tiny/', import.meta.url));
const TOLERANCE = 2e-3;


async function cli(args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {} });
  expect(err).toBe('');
  expect(code).toBe(0);
  return out;
}


const CASES: [folder: string, type: string][] = [
  ['moe', 'f32'],
  ['moe', 'f16'],
  ['moe', 'bf16'],
  ['moe', 'q8_0'],
  ['moe', 'nvfp4'],
  ['dense', 'f32'],
  ['latent', 'f32'],
];

describe.skipIf(!existsSync(FIXTURES))('edgetron on the llama.cpp GGUF fixtures', () => {
  const fixture = JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[]; vocab: number };
  const V = fixture.vocab;

  for (const [folder, type] of CASES) {
    // NVFP4 loads as the engine's nvfp4 format, which the wasm backend does not read yet
    for (const backend of type === 'nvfp4' ? ['reference'] : ['reference', 'wasm']) {
      it(`logits of ${folder}/model-${type}.gguf on ${backend} match ref64-${type}`, async () => {
        const out = await cli(['logits', '--model', `${FIXTURES}${folder}/model-${type}.gguf`, '--tokens', fixture.tokens.join(','), '--backend', backend]);
        const result = JSON.parse(out) as { backend: string; logits: number[][] };
        expect(result.backend).toBe(backend);
        expect(result.logits).toHaveLength(fixture.tokens.length);
        expect(result.logits.every((row) => row.length === V)).toBe(true);
        const { maxAbs, argmaxDiffers } = compareLogits(result.logits, readF32(`${FIXTURES}${folder}/ref64-${type}.f32`));
        expect(argmaxDiffers, 'positions whose argmax differs').toEqual([]);
        expect(maxAbs, `max abs error against ref64-${type}`).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  const texts = JSON.parse(readFileSync(`${FIXTURES}tokenize.json`, 'utf8')) as { text: string; ids: number[] }[];
  for (const model of ['moe/model-q8_0.gguf', 'dense/model-f32.gguf']) {
    it(`tokenize with the tokenizer embedded in ${model} gives llama.cpp's ids`, async () => {
      for (const { text, ids } of texts) {
        const out = await cli(['tokenize', '--model', `${FIXTURES}${model}`, '--text', text]);
        expect(JSON.parse(out), JSON.stringify(text)).toEqual(ids);
      }
    });
  }
});
