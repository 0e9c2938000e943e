import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../../engine/bytes.js';
import { parseConfig } from '../../../engine/config.js';
import { OpArgumentError, TokenOutOfRangeError } from '../../../engine/errors.js';
import { Model } from '../../../engine/model.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { openSafetensorsStore } from '../../../engine/safetensors.js';
import { validateWeights } from '../../../engine/weights.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

const FIXTURES = '/work/shared/fixtures/nemotron-h-tiny';

// The fixtures' README: ref64-f32 is a float64 NumPy forward pass of the same weights, and agrees
// with llama.cpp to 6.5e-6. Both sides are f64 rounded once to f32 at the end, so they may differ
// by one f32 ulp of the logit: 9.5e-7 for |logit| < 16 (measured: 4.8e-7 on all three models).
describe('reference backend vs the fixtures (independent f64 forward pass, spec §4)', () => {
  const fixture = JSON.parse(readFileSync(`${FIXTURES}/fixture.json`, 'utf8')) as { tokens: number[]; vocab: number };
  for (const kind of ['moe', 'dense', 'latent']) {
    it(`${kind}: logits at all 64 positions match ref64-f32`, async () => {
      const config = parseConfig(JSON.parse(readFileSync(`${FIXTURES}/${kind}/hf/config.json`, 'utf8')));
      const bytes = new Uint8Array(readFileSync(`${FIXTURES}/${kind}/hf/model.safetensors`));
      const store = await openSafetensorsStore([memorySource('model.safetensors', bytes)]);
      // these entries only read asynchronously, so load() reads them all up front
      const loaded = await referenceBackend.load(config, validateWeights(config, store));
      const model = new Model(loaded);
      const logits = model.forward(model.newSequence(64), new Int32Array(fixture.tokens), 'all');
      const want = new Float32Array(readFileSync(`${FIXTURES}/${kind}/ref64-f32.f32`).buffer.slice(0));
      expect(logits.length).toBe(want.length);
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i] - want[i]));
      expect(maxDiff).toBeLessThan(2e-6);
    });
  }
});
