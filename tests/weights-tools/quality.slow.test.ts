// Quantisation quality (weights-tools/quality.ts) on the `small` preset (d 768, ~132M parameters):
// KL of next-token distributions of nvfp4 and nvfp4-s24 (magnitude, Wanda) against f32, nano
// policy, on the reference backend. Reuses models/bench/small-f32 when the bench has written it,
// else synthesises it into a temp folder. (The tiny-preset version in quality.test.ts also covers
// outlier channels.)

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareQuantizations, type QualityRow } from '../../weights-tools/quality.js';
import { synthesize } from '../../weights-tools/synth.js';

const BENCH_SMALL = fileURLToPath(new URL('../../models/bench/small-f32/', import.meta.url));

describe('quality on the small preset', () => {
  let dir: string;
  let rows: QualityRow[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgetron-quality-small-'));
    const f32 = existsSync(join(BENCH_SMALL, 'model.safetensors')) ? BENCH_SMALL : join(dir, 'small-f32');
    if (f32 !== BENCH_SMALL) await synthesize({ preset: 'small', seed: 1, out: f32, dtype: 'f32' });
    rows = await compareQuantizations(f32, join(dir, 'q'), { policy: 'nano' }, 16);
    console.log(rows.map((r) => `${r.format}${r.score ? `/${r.score}` : ''}: KL ${r.kl.mean.toFixed(4)} (max ${r.kl.max.toFixed(3)}), ${r.bytes} B`).join('; '));
  }, 3_600_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const kl = (score: string | null) => rows.find((r) => r.score === score)!.kl.mean;

  it('nvfp4 KL is finite and small; 2:4 costs more and saves bytes', () => {
    for (const r of rows) expect(Number.isFinite(r.kl.mean) && r.kl.mean > 0).toBe(true);
    expect(kl(null)).toBeLessThan(0.1);
    expect(kl('magnitude')).toBeGreaterThan(kl(null));
    expect(rows[1].bytes).toBeLessThan(rows[0].bytes);
  });

  it('Wanda beats magnitude', () => {
    expect(kl('wanda')).toBeLessThan(kl('magnitude'));
  });
});
