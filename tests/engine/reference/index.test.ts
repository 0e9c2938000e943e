import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../engine/core/config.js';
import { OpArgumentError, TokenOutOfRangeError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { validateWeights } from '../../../engine/core/weights.js';
import { memorySource } from '../../../engine/formats/bytes.js';
import { openSafetensorsStore } from '../../../engine/formats/safetensors.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { FIXTURES } from '../../helpers/fixtures.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';
import { TINY_HYBRID } from './configs.js';

// The fixtures' README: ref64-f32 is a float64 NumPy forward pass of the same weights, and agrees
// with llama.cpp to 6.5e-6. Both sides are f64 rounded once to f32 at the end, so they may differ
// by one f32 ulp of the logit: 9.5e-7 for |logit| < 16 (measured: 4.8e-7 on all three models).
describe('reference backend vs the fixtures (independent f64 forward pass, spec §4)', () => {
  const fixture = JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[]; vocab: number };
  for (const kind of ['moe', 'dense', 'latent']) {
    it(`${kind}: logits at all 64 positions match ref64-f32`, async () => {
      const config = parseConfig(JSON.parse(readFileSync(`${FIXTURES}${kind}/hf/config.json`, 'utf8')));
      const bytes = new Uint8Array(readFileSync(`${FIXTURES}${kind}/hf/model.safetensors`));
      const store = await openSafetensorsStore([memorySource('model.safetensors', bytes)]);
      // these entries only read asynchronously, so load() reads them all up front
      const loaded = await referenceBackend.load(config, validateWeights(config, store));
      const model = new Model(loaded);
      const logits = model.forward(model.newSequence(64), new Int32Array(fixture.tokens), 'all');
      const want = new Float32Array(readFileSync(`${FIXTURES}${kind}/ref64-f32.f32`).buffer.slice(0));
      expect(logits.length).toBe(want.length);
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i] - want[i]));
      expect(maxDiff).toBeLessThan(2e-6);
    });
  }
});

describe('reference backend ops', () => {
  const config = parseConfig(TINY_HYBRID);
  const tensors = randomModelTensors(config, 4, { linearDType: 'bf16' });
  const load = () => referenceBackend.load(config, memoryTensors(config, tensors));

  it('upload / download / sliceRows / addInPlace', async () => {
    const m = await load();
    const x = m.upload(Float32Array.from([1, 2, 3, 4, 5, 6]), 3, 2);
    expect([x.rows, x.cols]).toEqual([3, 2]);
    expect([...m.download(m.sliceRows(x, 1, 2))]).toEqual([3, 4, 5, 6]);
    m.addInPlace(x, m.upload(Float32Array.from([1, 1, 1, 1, 1, 1]), 3, 2));
    expect([...m.download(x)]).toEqual([2, 3, 4, 5, 6, 7]);
    expect(() => m.addInPlace(x, m.upload(new Float32Array(2), 1, 2))).toThrow(OpArgumentError);
    expect(() => m.sliceRows(x, 2, 2)).toThrow(OpArgumentError);
    expect(() => m.upload(new Float32Array(3), 2, 2)).toThrow(OpArgumentError);
    expect(() => m.download({ rows: 1, cols: 1 })).toThrow(/reference backend/);
  });

  it('embed decodes the bf16 embedding rows exactly; head multiplies by lm_head', async () => {
    const m = await load();
    const emb = tensors['backbone.embeddings.weight'].data as Uint16Array;
    const x = m.embed(new Int32Array([3, 0]));
    const want = [...emb.subarray(3 * 16, 4 * 16), ...emb.subarray(0, 16)].map((h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]);
    expect([...m.download(x)]).toEqual(want);
    expect(() => m.embed(new Int32Array([32]))).toThrow(TokenOutOfRangeError);
    const logits = m.head(x);
    expect(logits.length).toBe(2 * 32);
    expect([...logits]).toEqual([...m.download(m.matmul(x, 'lm_head.weight'))]);
  });

  it('prefill of all tokens equals a prefill then token-by-token decode (every layer kind)', async () => {
    const model = new Model(await load());
    const tokens = new Int32Array([1, 5, 9, 13, 17, 21, 25, 29]);
    const all = model.forward(model.newSequence(8), tokens, 'all');
    const seq = model.newSequence(8);
    const split = [...model.forward(seq, tokens.subarray(0, 4), 'all')];
    for (let t = 4; t < 8; t++) split.push(...model.forward(seq, tokens.subarray(t, t + 1)));
    // f64 agreement, then each side rounded to f32 once: at most one f32 ulp apart
    split.forEach((v, i) => expect(Math.abs(v - all[i])).toBeLessThanOrEqual(2 ** -23 * Math.abs(all[i]) + 1e-30));
    expect(all.some((v) => Math.abs(v) > 0.01)).toBe(true);
  });

  it('dispose releases the weights', async () => {
    const m = await load();
    m.embed(new Int32Array([1]));
    expect(m.weightBytes()).toBe(32 * 16 * 2);
    m.dispose();
    expect(m.weightBytes()).toBe(0);
  });
});
