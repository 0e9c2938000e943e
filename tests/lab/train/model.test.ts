// The whole training graph (lab/train/model.ts) on tiny (every layer kind) and
// tiny-latent (LatentMoE + the MTP block): the trunk loss equals the cross-entropy of the reference
// backend's logits, and the gradient of L_main + 0.3·L_mtp matches central differences on the
// largest-gradient coordinate of every tensor (of the routed experts, expert 0's). The router correction biases are set to pin the
// selection (the first K experts, by a margin no perturbation crosses), because a finite
// difference across a discrete routing flip measures the jump, not the gradient.

import { describe, expect, it } from 'vitest';
import { Model } from '../../../engine/core/model.js';
import { Prng } from '../../../engine/decode/prng.js';
import type { TensorMap } from '../../../lab/train/block.js';
import { MTP_LOSS_WEIGHT, TrainModel, windowLength } from '../../../lab/train/model.js';
import type { PresetName } from '../../../weights-tools/presets.js';
import { tinyModel } from './tiny-model.js';

const [B, T] = [2, 9];

function windows(V: number, n: number, seed: number): Int32Array {
  const rng = new Prng(seed, 'windows');
  return Int32Array.from({ length: n }, () => rng.nextU32() % V);
}

describe('train model', () => {
  for (const preset of ['tiny', 'tiny-latent'] as PresetName[]) {
    it(`${preset}: trunk loss equals the reference backend's cross-entropy; gradient matches central differences`, async () => {
      const m = await tinyModel(preset, 11);
      const { config, params } = m;
      const model = new TrainModel(config);
      const W = windowLength(config, T);
      const tokens = windows(config.vocabSize, B * W, 3);
      const zeroGrads = (): TensorMap => new Map([...params].map(([n, p]) => [n, new Float32Array(p.length)]));
      const stats = model.lossAndGrads(params, zeroGrads(), tokens, B, T);
      expect(stats.mtpLoss === null).toBe(config.mtp === null);

      // reference: mean −log softmax(logits)[x_{t+1}] over both sequences, in f64
      const ref = new Model(m.reference);
      let ce = 0;
      for (let b = 0; b < B; b++) {
        const logits = ref.forward(ref.newSequence(T), tokens.slice(b * W, b * W + T), 'all');
        const V = config.vocabSize;
        for (let t = 0; t < T; t++) {
          const row = logits.subarray(t * V, (t + 1) * V);
          const max = Math.max(...row);
          const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
          ce += lse - row[tokens[b * W + t + 1]];
        }
      }
      expect(stats.loss).toBeCloseTo(ce / (B * T), 4);

      for (const [name, p] of params) if (name.endsWith('e_score_correction_bias')) p.forEach((_, e) => (p[e] = e < config.moe!.topK ? 2 : 0));
      const grads = zeroGrads();
      model.lossAndGrads(params, grads, tokens, B, T);
      const objective = () => {
        const s = model.lossAndGrads(params, zeroGrads(), tokens, B, T);
        return s.loss + MTP_LOSS_WEIGHT * (s.mtpLoss ?? 0);
      };
      const h = 3e-3;
      let worst = 0;
      let where = '';
      for (const [name, p] of params) {
        if (name.endsWith('e_score_correction_bias')) continue; // selection only: no gradient
        if (/experts\.[1-9]\d*\./.test(name)) continue; // routed experts share one code path: expert 0 stands for them
        const g = grads.get(name)!;
        let top = 0;
        for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[top])) top = i;
        if (g[top] === 0) continue; // an expert the pinned router never selects
        for (const i of [top]) {
          const saved = p[i];
          p[i] = saved + h;
          const up = objective();
          p[i] = saved - h;
          const down = objective();
          p[i] = saved;
          const numeric = (up - down) / (2 * h);
          const err = Math.abs(numeric - g[i]) / Math.max(Math.abs(g[i]), Math.abs(numeric), 1e-3);
          if (err > worst) [worst, where] = [err, `${name}[${i}] analytic ${g[i]} numeric ${numeric}`];
        }
      }
      expect(worst, where).toBeLessThan(2e-2);
    }, 60_000);
  }
});
