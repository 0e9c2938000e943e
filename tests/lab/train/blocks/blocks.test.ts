// Every non-Mamba block pass (attention, MoE plain and LatentMoE, relu² MLP): its forward equals
// the reference backend's mixer on the same weights within 1e-4 relative, and its backward passes
// the finite-difference check (worst relative error < 2e-2) on x and on every parameter. Then
// RMSNorm (the same two checks), the embedding (hand-worked) and the head's cross-entropy.

import { describe, expect, it } from 'vitest';
import { attentionBlock } from '../../../../lab/train/blocks/attention.js';
import { mlpBlock } from '../../../../lab/train/blocks/mlp.js';
import { moeBlock } from '../../../../lab/train/blocks/moe.js';
import type { BlockFactory, BlockPass } from '../../../../lab/train/block.js';
import { embedBackward, embedForward } from '../../../../lab/train/blocks/embedding.js';
import { headLoss } from '../../../../lab/train/blocks/head.js';
import { rmsnormBackward, rmsnormForward, type RmsnormCache } from '../../../../lab/train/blocks/rmsnorm.js';
import { Prng } from '../../../../engine/decode/prng.js';
import type { PresetName } from '../../../../weights-tools/presets.js';
import { gradCheck, randomArray } from '../grad-check.js';
import { blockParams, randomInput, referenceMixer, tinyModel, worstRelative } from '../tiny-model.js';

const CASES: [string, PresetName, number, BlockFactory][] = [
  ['attention (tiny, layer 2)', 'tiny', 2, attentionBlock],
  ['MoE (tiny, layer 1)', 'tiny', 1, moeBlock],
  ['LatentMoE (tiny-latent, layer 1)', 'tiny-latent', 1, moeBlock],
  ['relu² MLP (tiny, layer 4)', 'tiny', 4, mlpBlock],
  ['attention (tiny-latent, layer 2)', 'tiny-latent', 2, attentionBlock],
];

describe('train blocks', () => {
  for (const [label, preset, il, factory] of CASES) {
    it(`${label}: forward equals the reference backend; backward passes the gradient check`, async () => {
      const m = await tinyModel(preset, 5);
      const layer = m.config.layers[il];
      const pass = factory(m.config, layer);
      const [B, T] = [2, 7];
      const d = m.config.dModel;
      const u = randomInput(B * T, d, il);
      const { y } = pass.forward(m.params, u, { B, T });
      expect(worstRelative(y, referenceMixer(m, il, u, B, T), 1e-2)).toBeLessThan(1e-4);
      const check = gradCheck(pass, blockParams(m.params, `${layer.prefix}mixer.`), u, { B, T }, {
        samples: 6,
        h: 1e-2,
        floor: 1e-2, // f32 forward: central differences carry ~1e-4 absolute noise
        skip: (name) => name.endsWith('e_score_correction_bias'),
      });
      expect(check.worst, check.where).toBeLessThan(2e-2);
    });
  }
});

describe('train norms, embedding and head', () => {
  it('RMSNorm equals the reference backend and passes the gradient check', async () => {
    const m = await tinyModel('tiny', 5);
    const d = m.config.dModel;
    const name = 'backbone.layers.2.norm.weight';
    const x = randomInput(6, d, 1);
    const { y } = rmsnormForward(x, m.params.get(name)!, m.config.normEps);
    const ref = m.reference.download(m.reference.rmsnorm(m.reference.upload(x, 6, d), name));
    expect(worstRelative(y, ref, 1e-2)).toBeLessThan(1e-4);
    const pass: BlockPass<RmsnormCache> = {
      forward: (params, xin) => rmsnormForward(xin, params.get(name)!, m.config.normEps),
      backward: (params, grads, cache, dy) => rmsnormBackward(params.get(name)!, grads.get(name)!, cache, dy),
    };
    const check = gradCheck(pass as BlockPass, new Map([[name, m.params.get(name)!]]), x, { B: 1, T: 6 }, { floor: 1e-2 });
    expect(check.worst, check.where).toBeLessThan(2e-2);
  });

  it('the embedding gathers rows and scatters gradients back, repeated tokens accumulating', () => {
    const emb = Float32Array.of(1, 2, 3, 4, 5, 6); // V 3, d 2
    expect([...embedForward(emb, Int32Array.of(2, 0, 2), 2)]).toEqual([5, 6, 1, 2, 5, 6]);
    const dEmb = new Float32Array(6);
    embedBackward(dEmb, Int32Array.of(2, 0, 2), Float32Array.of(1, 1, 2, 2, 3, 3), 2);
    expect([...dEmb]).toEqual([2, 2, 0, 0, 4, 4]);
  });

  it('the head cross-entropy: ln V for zero weights, and gradients matching central differences', () => {
    const [R, d, V] = [5, 4, 7];
    const rng = new Prng(8, 'head');
    const h = randomArray(R * d, rng, 1);
    const targets = Int32Array.from({ length: R }, () => rng.nextU32() % V);
    expect(headLoss(new Float32Array(V * d), h, targets, d, null, 1).loss).toBeCloseTo(Math.log(V), 6);
    const W = randomArray(V * d, rng, 1);
    const dW = new Float32Array(V * d);
    const { dh } = headLoss(W, h, targets, d, dW, 0.5);
    const eps = 1e-2;
    for (const [target, analytic] of [
      [W, dW],
      [h, dh],
    ]) {
      for (let i = 0; i < target.length; i += 3) {
        const saved = target[i];
        target[i] = saved + eps;
        const up = headLoss(W, h, targets, d, null, 1).loss;
        target[i] = saved - eps;
        const down = headLoss(W, h, targets, d, null, 1).loss;
        target[i] = saved;
        expect(analytic[i]).toBeCloseTo((0.5 * (up - down)) / (2 * eps), 3);
      }
    }
  });
});
