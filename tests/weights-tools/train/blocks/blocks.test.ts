// Every non-Mamba block pass (attention, MoE plain and LatentMoE, relu² MLP): its forward equals
// the reference backend's mixer on the same weights within 1e-4 relative, and its backward passes
// the finite-difference check (worst relative error < 2e-2) on x and on every parameter.

import { describe, expect, it } from 'vitest';
import { attentionBlock } from '../../../../weights-tools/train/blocks/attention.js';
import { mlpBlock } from '../../../../weights-tools/train/blocks/mlp.js';
import { moeBlock } from '../../../../weights-tools/train/blocks/moe.js';
import type { BlockFactory } from '../../../../weights-tools/train/block.js';
import type { PresetName } from '../../../../weights-tools/presets.js';
import { gradCheck } from '../grad-check.js';
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
