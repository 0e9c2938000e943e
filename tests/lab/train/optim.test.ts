// AdamW, the schedule and clipping (lab/train/optim.ts) against hand-computed values.

import { describe, expect, it } from 'vitest';
import { adamwStep, clipGradNorm, learningRate } from '../../../lab/train/optim.js';
import type { ParamLayout } from '../../../lab/train/params.js';

// three tensors: a linear weight (decayed), a norm weight (not decayed), the router bias (frozen)
const LAYOUT: ParamLayout = {
  names: ['lm_head.weight', 'backbone.norm_f.weight', 'backbone.layers.1.mixer.gate.e_score_correction_bias'],
  shapes: [[2], [1], [1]],
  offsets: [0, 2, 3],
  total: 4,
};

describe('train optim', () => {
  it('AdamW step 1: θ − lr·(m̂/(√v̂+ε) + λθ), no decay on norms, router bias untouched', () => {
    const p = Float32Array.of(1, -2, 3, 0.5);
    const g = Float32Array.of(0.5, -0.25, 2, 7);
    const m = new Float32Array(4);
    const v = new Float32Array(4);
    adamwStep(LAYOUT, p, g, m, v, 1, 0.1, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    // step 1: m̂ = g, v̂ = g², so the Adam term is sign(g)·|g|/(|g| + ε) ≈ ±1
    // p0 = 1 − 0.1·(1 + 0.1·1) = 0.89;  p1 = −2 − 0.1·(−1 + 0.1·(−2)) = −1.88;  p2 = 3 − 0.1·1 = 2.9 (no decay)
    expect(p[0]).toBeCloseTo(0.89, 6);
    expect(p[1]).toBeCloseTo(-1.88, 6);
    expect(p[2]).toBeCloseTo(2.9, 6);
    expect(p[3]).toBe(0.5);
    expect(m[0]).toBeCloseTo(0.05, 7); // (1 − β₁)·g
    expect(v[0]).toBeCloseTo(0.0125, 7); // (1 − β₂)·g²
  });

  it('AdamW step 2 with the bias corrections', () => {
    const p = Float32Array.of(0, 0, 0, 0);
    const m = Float32Array.of(0.1, 0, 0, 0);
    const v = Float32Array.of(0.05, 0, 0, 0);
    adamwStep(LAYOUT, p, Float32Array.of(-1, 0, 0, 0), m, v, 2, 0.01, { beta1: 0.9, beta2: 0.95, eps: 0, weightDecay: 0 });
    // m = 0.9·0.1 − 0.1 = −0.01, m̂ = −0.01/0.19; v = 0.95·0.05 + 0.05 = 0.0975, v̂ = 0.0975/0.0975 = 1
    expect(p[0]).toBeCloseTo(0.01 * (0.01 / 0.19), 7);
  });

  it('schedule: linear warm-up, cosine to the floor', () => {
    const s = { lr: 1, warmup: 4, total: 14, floor: 0.1 };
    expect(learningRate(0, s)).toBe(0.25);
    expect(learningRate(3, s)).toBe(1);
    expect(learningRate(4, s)).toBe(1);
    expect(learningRate(9, s)).toBeCloseTo(0.55, 12); // halfway: floor + (1 − floor)/2
    expect(learningRate(14, s)).toBeCloseTo(0.1, 12);
  });

  it('clipping scales to the max norm and reports the norm before', () => {
    const g = Float32Array.of(3, 4);
    expect(clipGradNorm(g, 1)).toBe(5);
    expect([...g].map((x) => +x.toFixed(6))).toEqual([0.6, 0.8]);
    const small = Float32Array.of(0.3, 0.4);
    clipGradNorm(small, 1);
    expect([...small]).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});
