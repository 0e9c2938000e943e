// The data order (lab/train/data.ts) and the router-bias balancing step
// (blocks/moe.ts updateRouterBias), against hand-worked expectations.

import { describe, expect, it } from 'vitest';
import { updateRouterBias } from '../../../lab/train/blocks/moe.js';
import { WindowSampler } from '../../../lab/train/data.js';

describe('WindowSampler', () => {
  const tokens = Uint16Array.from({ length: 103 }, (_, i) => i);
  it('cuts windows of W tokens every T tokens and visits each once per epoch, in a seeded order', () => {
    const s = new WindowSampler(tokens, 12, 10, 7);
    expect(s.count).toBe(10); // starts 0, 10, …, 90 (90 + 12 ≤ 103)
    const starts = Array.from(s.batch(0, 10).filter((_, i) => i % 12 === 0)).sort((a, b) => a - b);
    expect(starts).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const w = s.batch(3, 1);
    expect([...w]).toEqual(Array.from({ length: 12 }, (_, i) => w[0] + i)); // contiguous
    expect([...new WindowSampler(tokens, 12, 10, 7).batch(0, 10)]).toEqual([...s.batch(0, 10)]); // same seed, same order
    expect([...new WindowSampler(tokens, 12, 10, 8).batch(0, 10)]).not.toEqual([...s.batch(0, 10)]);
    expect([...s.batch(10, 10)]).not.toEqual([...s.batch(0, 10)]); // the next epoch is reshuffled
  });
});

describe('updateRouterBias', () => {
  it('moves each bias by γ toward the mean load', () => {
    const bias = Float32Array.of(0, 0.5, -0.5, 0);
    updateRouterBias(bias, [4, 1, 1, 2], 0.1); // mean 2
    expect([...bias].map((b) => +b.toFixed(6))).toEqual([-0.1, 0.6, -0.4, 0]);
  });
});
