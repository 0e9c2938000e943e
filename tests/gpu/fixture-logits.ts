// `edgetron logits --backend webgpu` (in process) on the oracle fixtures
// (tests/fixtures/nemotron-h-tiny/README.md): every HF twin must match llama.cpp's logits and
// the float64 forward pass to max abs ≤ 2e-3 with the same argmax at every position, the bound
// tests/cli/logits-fixtures.test.ts holds the other backends to. logits-fixtures.test.ts runs
// `moe` (Mamba-2, attention, MoE) in the default suite; logits-fixtures.slow.test.ts runs `dense`
// and `latent` (SwiftShader takes 5–10 s a fixture on a loaded 2-core machine).

import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { compareLogits, readF32 } from '../helpers/fixture-logits.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { describeWithGpu } from './gpu-available.js';

const TOLERANCE = 2e-3;

/**
 * One test per fixture in `names` (subfolders of nemotron-h-tiny).
 * @example describeFixtureLogits(['moe']);
 */
export function describeFixtureLogits(names: readonly string[]): void {
  describeWithGpu('edgetron logits --backend webgpu reproduces the llama.cpp fixtures', () => {
    const fixture = JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[] };
    for (const name of names) {
      it(`${name}/hf`, async () => {
        let out = '';
        let err = '';
        const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {} };
        const code = await main(['logits', '--model', `${FIXTURES}${name}/hf`, '--tokens', fixture.tokens.join(','), '--backend', 'webgpu'], io);
        expect(err).toBe('');
        expect(code).toBe(0);
        const result = JSON.parse(out) as { backend: string; logits: number[][] };
        expect(result.backend).toBe('webgpu');
        expect(result.logits).toHaveLength(fixture.tokens.length);
        for (const oracle of ['llamacpp-f32.f32', 'ref64-f32.f32']) {
          const { maxAbs, argmaxDiffers } = compareLogits(result.logits, readF32(`${FIXTURES}${name}/${oracle}`));
          expect(argmaxDiffers, `${oracle}: positions whose argmax differs`).toEqual([]);
          expect(maxAbs, `max abs error against ${oracle}`).toBeLessThanOrEqual(TOLERANCE);
        }
      });
    }
  });
}
