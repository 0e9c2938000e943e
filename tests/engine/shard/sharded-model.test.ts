// A model split over shards (engine/shard) computes what the unsplit model computes: the same
// kernels run on the same f32 hidden states, so on wasm the logits are bit-identical — for
// prefill, decode, a snapshot restored, and on every layer kind (the `tiny` preset has M, *, E
// and - layers; `tiny-latent` LatentMoE). The reference keeps its hidden state in f64, which the
// wire carries as f32: one rounding (relative 2⁻²⁴) per shard boundary, amplified through the
// remaining layers; we allow 1e-5 of the largest logit. Also: each shard holds only its own layers'
// weights and state, and an error inside a shard reaches the caller with the shard named.

import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import type { Backend } from '../../../engine/core/backend.js';
import { parseConfig, type ModelConfig } from '../../../engine/core/config.js';
import { ShardError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { validateWeights } from '../../../engine/core/weights.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { loadLocalShards } from '../../../engine/shard/local.js';
import type { ShardedModel } from '../../../engine/shard/sharded-model.js';
import { splitLayers } from '../../../engine/shard/split.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

async function twins(preset: 'tiny' | 'tiny-latent', backend: Backend, shardCount: number): Promise<{ config: ModelConfig; plain: Model; split: Model; sharded: ShardedModel }> {
  const config = parseConfig(presetConfig(preset));
  const tensors = validateWeights(config, memoryTensors(config, randomModelTensors(config, 11)));
  const total = [...tensors.values()].reduce((n, e) => n + e.byteLength, 0);
  // a budget a little above an even share, so the cut gives `shardCount` shards or one more
  const specs = splitLayers(config, tensors.keys(), (n) => tensors.get(n)!.byteLength, Math.ceil((total / shardCount) * 1.05));
  const sharded = await loadLocalShards(backend, config, tensors, specs);
  return { config, plain: new Model(await backend.load(config, tensors)), split: new Model(sharded), sharded };
}

const prompt = Int32Array.from({ length: 21 }, (_, i) => (i * 37 + 5) % 512);

describe.each(['tiny', 'tiny-latent'] as const)('%s split over shards', (preset) => {
  describe.each([
    ['wasm', wasmBackend, 0],
    ['reference', referenceBackend, 1e-5],
  ] as const)('on %s', (_name, backend, rel) => {
    it('gives the same logits for prefill, decode and a restored snapshot', async () => {
      const { plain, split, sharded } = await twins(preset, backend, 3);
      expect(sharded.shards.length).toBeGreaterThanOrEqual(3);
      const run = (model: Model) => {
        const seq = model.newSequence(64);
        const out = [model.forward(seq, prompt, 'all')];
        const snap = seq.snapshot();
        for (const t of [7, 300, 42]) out.push(model.forward(seq, Int32Array.of(t)));
        seq.restore(snap);
        out.push(model.forward(seq, Int32Array.of(7)));
        snap.free();
        seq.free();
        return out;
      };
      const want = run(plain);
      const got = run(split);
      got.forEach((logits, i) => {
        if (rel === 0) expect(logits, `pass ${i}`).toEqual(want[i]);
        else {
          const bound = rel * want[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(Math.max(...logits.map((v, j) => Math.abs(v - want[i][j]))), `pass ${i}`).toBeLessThanOrEqual(bound);
        }
      });
      // the restored decode repeats the first decode step exactly
      expect(got[4]).toEqual(got[1]);
      plain.ops.dispose();
      sharded.dispose();
    });
  });
});

describe('shards', () => {
  it('each hold only their own layers: weights and state add up to the unsplit model', async () => {
    const { plain, sharded } = await twins('tiny', wasmBackend, 3);
    const perShard = sharded.shards.map((_, s) => sharded.send(s, { op: 'usage' }) as { weightBytes: number; usedBytes: number });
    expect(perShard.reduce((n, u) => n + u.weightBytes, 0)).toBe(plain.ops.weightBytes());
    expect(sharded.weightBytes()).toBe(plain.ops.weightBytes());
    // a sequence's state lives on the shards with 'M' or '*' layers, and is freed there
    const before = perShard.map((u) => u.usedBytes);
    const seq = sharded.newSequence(64);
    const during = sharded.shards.map((_, s) => (sharded.send(s, { op: 'usage' }) as { usedBytes: number }).usedBytes);
    seq.free();
    const after = sharded.shards.map((_, s) => (sharded.send(s, { op: 'usage' }) as { usedBytes: number }).usedBytes);
    expect(after).toEqual(before);
    const stateful = sharded.shards.map((sh) => plain.config.layers.slice(sh.spec.from, sh.spec.to).some((l) => l.kind === 'M' || l.kind === '*'));
    during.forEach((used, s) => expect(used > before[s], `shard ${s}`).toBe(stateful[s]));
    plain.ops.dispose();
    sharded.dispose();
  });

  it('name the shard whose op failed, and keep serving', async () => {
    const { split, sharded } = await twins('tiny', wasmBackend, 2);
    const seq = split.newSequence(4);
    expect(() => sharded.send(sharded.shards.length - 1, { op: 'blocks', seq: 999, position: 0, from: sharded.shards.at(-1)!.spec.from, to: sharded.shards.at(-1)!.spec.to, x: { rows: 1, cols: 64, data: new Float32Array(64) } })).toThrow(ShardError);
    expect(() => sharded.send(0, { op: 'blocks', seq: 999, position: 0, from: 0, to: 1, x: { rows: 1, cols: 64, data: new Float32Array(64) } })).toThrow(/shard 0 \(blocks\): SequenceStateError: .*sequence 999/);
    expect(split.forward(seq, Int32Array.of(1, 2)).length).toBe(split.config.vocabSize);
    sharded.dispose();
  });
});
