// Model parity (DESIGN §7) for the graph in engine/core/model.ts on every backend:
// - prefilling all tokens at once (chunked SSD, spec §6.6) gives the same logits as prefilling
//   a prefix and then decoding the rest one token at a time (the §6.5 step);
// - a snapshot taken mid-sequence and restored replays exactly;
// on the `tiny` (every layer kind, chunk length 8) and `tiny-latent` (LatentMoE) presets.
//
// Tolerances: the reference computes in f64, where the two schedules differ only by
// reassociation (≈1e-15 relative; we allow 1e-9). The wasm backends compute in f32; the two
// schedules run different summation orders (chunked SSD vs the recurrence, T-row vs 1-row
// matmul tiles), each contributing O(√K·u) relative error per dot product (u = 2⁻²⁴ ≈ 6e-8,
// K ≤ 128 here) through 8 layers of residual updates: ≈ 8·√128·6e-8 ≈ 5e-6 relative. We allow
// 5e-5 of the largest logit magnitude, 10× that estimate.

import { describe, expect, it } from 'vitest';
import { wasmBackend, wasmScalarBackend } from '../../../assembly/backend/index.js';
import type { Backend } from '../../../engine/core/backend.js';
import { parseConfig } from '../../../engine/core/config.js';
import { Model } from '../../../engine/core/model.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

const BACKENDS: [Backend, number][] = [
  [referenceBackend, 1e-9],
  [wasmBackend, 5e-5],
  [wasmScalarBackend, 5e-5],
];

async function load(preset: 'tiny' | 'tiny-latent', backend: Backend): Promise<Model> {
  const config = parseConfig(presetConfig(preset));
  return new Model(await backend.load(config, memoryTensors(config, randomModelTensors(config, 11))));
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function expectClose(actual: Float32Array, expected: Float32Array, rel: number): void {
  expect(actual.length).toBe(expected.length);
  const bound = rel * maxAbs(expected);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(bound);
}

describe.each(['tiny', 'tiny-latent'] as const)('%s preset', (preset) => {
  describe.each(BACKENDS)('on %s', (backend, rel) => {
    // 21 tokens: two full SSD chunks of 8 plus a tail of 5.
    const tokens = Int32Array.from({ length: 21 }, (_, i) => (i * 37 + 5) % 512);

    it('prefill-all equals prefill-prefix then token-by-token decode', async () => {
      const model = await load(preset, backend);
      const V = model.config.vocabSize;
      const all = model.forward(model.newSequence(32), tokens, 'all'); // (21, V)

      for (const prefix of [1, 8, 13]) {
        const seq = model.newSequence(32);
        const first = model.forward(seq, tokens.subarray(0, prefix), 'all');
        expectClose(first, all.subarray(0, prefix * V), rel);
        for (let t = prefix; t < tokens.length; t++) {
          const row = model.forward(seq, tokens.subarray(t, t + 1), 'last');
          expectClose(row, all.subarray(t * V, (t + 1) * V), rel);
        }
        expect(seq.position).toBe(tokens.length);
        seq.free();
      }
      model.ops.dispose();
    });

    it('prefill in two chunked calls equals one call (SSD continues from the cached state)', async () => {
      const model = await load(preset, backend);
      const V = model.config.vocabSize;
      const all = model.forward(model.newSequence(32), tokens, 'all');
      const seq = model.newSequence(32);
      model.forward(seq, tokens.subarray(0, 11), 'last');
      const rest = model.forward(seq, tokens.subarray(11), 'all');
      expectClose(rest, all.subarray(11 * V), rel);
      model.ops.dispose();
    });

    it('restoring a snapshot replays the same logits', async () => {
      const model = await load(preset, backend);
      const seq = model.newSequence(32);
      model.forward(seq, tokens.subarray(0, 9));
      const snap = seq.snapshot();
      const a = model.forward(seq, tokens.subarray(9, 12), 'all');
      model.forward(seq, tokens.subarray(12, 15));
      seq.restore(snap);
      expect(seq.position).toBe(9);
      const b = model.forward(seq, tokens.subarray(9, 12), 'all');
      expect(Array.from(b)).toEqual(Array.from(a));
      snap.free();
      model.ops.dispose();
    });

    it('hidden() gives the final-normed rows (T, d) that the head turns into forward\'s logits', async () => {
      const model = await load(preset, backend);
      const d = model.config.dModel;
      const seq = model.newSequence(32);
      const h = model.hidden(seq, tokens); // (21, d)
      expect(h.length).toBe(tokens.length * d);
      expect(seq.position).toBe(tokens.length);
      const logits = model.ops.head(model.ops.upload(h, tokens.length, d));
      // h comes back as f32 (2⁻²⁴ relative per element, even from the f64 reference); over a
      // 64-term dot product that is ≲ 64·6e-8 ≈ 4e-6 of Σ|h·W|; allow 1e-6 of the largest logit
      expectClose(logits, model.forward(model.newSequence(32), tokens, 'all'), Math.max(rel, 1e-6));
      model.ops.dispose();
    });

    it('rejects an out-of-vocabulary token and an overlong sequence before computing', async () => {
      const model = await load(preset, backend);
      const seq = model.newSequence(4);
      expect(() => model.forward(seq, Int32Array.of(1, model.config.vocabSize))).toThrow(/outside the vocabulary/);
      expect(() => model.forward(seq, Int32Array.of(1, 2, 3, 4, 5), 'last', 4)).toThrow(/exceeds the context limit/);
      expect(seq.position).toBe(0);
      model.ops.dispose();
    });
  });
});
