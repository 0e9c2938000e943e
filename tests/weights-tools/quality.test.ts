import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../engine/core/model.js';
import { compareQuantizations, klDivergence, type QualityRow } from '../../weights-tools/quality.js';
import { synthesize } from '../../weights-tools/synth.js';
import { withOutlierChannels } from '../helpers/outlier-channels.js';

/** A stand-in model whose logits are the same fixed row at every position. */
function fixedLogits(row: number[]): Model {
  return {
    config: { vocabSize: row.length },
    newSequence: () => ({}),
    forward: (_seq: unknown, tokens: Int32Array) => Float32Array.from({ length: tokens.length * row.length }, (_, i) => row[i % row.length]),
  } as unknown as Model;
}

describe('klDivergence', () => {
  it('matches a hand-computed KL and is 0 against itself', () => {
    // P = softmax(0, ln 3) = (1/4, 3/4), Q = (1/2, 1/2): KL = ¼ ln ½ + ¾ ln 1.5
    const p = fixedLogits([0, Math.log(3)]);
    const q = fixedLogits([5, 5]);
    const kl = klDivergence(p, q, [Int32Array.of(0, 1, 1)]);
    expect(kl.mean).toBeCloseTo(0.25 * Math.log(0.5) + 0.75 * Math.log(1.5), 6);
    expect(kl.max).toBeCloseTo(kl.mean, 12);
    expect(kl.positions).toBe(3);
    expect(klDivergence(p, p, [Int32Array.of(1)]).mean).toBe(0);
  });
});

// Quantisation quality, default-suite size: the tiny preset (the `small` preset is in
// quality.slow.test.ts)
describe('compareQuantizations on tiny', () => {
  let dir: string;
  let plain: QualityRow[];
  let outliers: QualityRow[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgetron-quality-'));
    await synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'f32'), dtype: 'f32' });
    await withOutlierChannels(join(dir, 'f32'), join(dir, 'outliers'));
    plain = await compareQuantizations(join(dir, 'f32'), join(dir, 'q-plain'), { policy: 'all-linear' }, 16);
    outliers = await compareQuantizations(join(dir, 'outliers'), join(dir, 'q-outliers'), { policy: 'all-linear' }, 16);
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const kl = (rows: QualityRow[], score: string | null) => rows.find((r) => r.score === score)!.kl.mean;

  it('nvfp4 moves next-token distributions little; 2:4 costs more and saves bytes', () => {
    for (const rows of [plain, outliers]) {
      expect(rows.map((r) => [r.format, r.score])).toEqual([['nvfp4', null], ['nvfp4-s24', 'magnitude'], ['nvfp4-s24', 'wanda']]);
      for (const r of rows) expect(Number.isFinite(r.kl.mean) && r.kl.mean > 0).toBe(true);
      expect(kl(rows, null)).toBeLessThan(0.15);
      expect(kl(rows, 'magnitude')).toBeGreaterThan(kl(rows, null));
      expect(rows[1].bytes).toBeLessThan(rows[0].bytes);
    }
    expect(kl(plain, null)).toBeLessThan(0.06);
  });

  it('Wanda beats magnitude where activations have outlier channels', () => {
    expect(kl(outliers, 'wanda')).toBeLessThan(0.8 * kl(outliers, 'magnitude'));
  });
});
