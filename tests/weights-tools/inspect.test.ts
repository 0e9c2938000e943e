import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/core/config.js';
import { countParams, inspect } from '../../weights-tools/inspect.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { synthesize } from '../../weights-tools/synth.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-inspect-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('countParams', () => {
  it('tiny, counted by hand: 266,224 total, 192,496 active', () => {
    // emb + head 2·512·64, norm_f 64, 8 block norms ·64;
    // M ×2: in_proj 196·64, conv 128·4 + 128, dt_bias/A_log/D 3·4, norm 64, out_proj 64·64 = 17,356;
    // * ×2: q 64·64, k/v 32·64 each, o 64·64 = 12,288;  - ×1: 2·128·64 = 16,384;
    // E ×3: gate 8·64 + 8, experts 8·2·32·64, shared 2·64·64 = 41,480; 6 idle experts · 4,096 per E layer.
    const total = 2 * 512 * 64 + 64 + 8 * 64 + 2 * 17356 + 2 * 12288 + 16384 + 3 * 41480;
    expect(countParams(parseConfig(presetConfig('tiny')))).toEqual({ total, trunk: total, active: total - 3 * 6 * 4096 });
  });

  // Active counts include the embedding table and the head, as spec §1 does for Nano (3.6B).
  // DESIGN §4's medium figure (~196M) leaves out the 33.5M embedding table; with it, 230M.
  it('small and medium match DESIGN §4 (~132M/75M and ~524M/230M)', () => {
    const small = countParams(parseConfig(presetConfig('small')));
    expect(small.total / 1e6).toBeCloseTo(132, -0.5);
    expect(small.active / 1e6).toBeCloseTo(75, -0.5);
    const medium = countParams(parseConfig(presetConfig('medium')));
    expect(medium.total / 1e6).toBeCloseTo(524, -0.5);
    expect(medium.active / 1e6).toBeCloseTo(230, -0.5);
    expect((medium.active - 32768 * 1024) / 1e6).toBeCloseTo(196, -0.5);
  });

  it('nano matches spec §1 (31.6B total, 3.6B active incl. embeddings)', () => {
    const nano = countParams(parseConfig(presetConfig('nano')));
    expect(nano.total / 1e9).toBeCloseTo(31.58, 1);
    expect(nano.active / 1e9).toBeCloseTo(3.58, 1);
  });

  it('separates MTP parameters from the trunk', () => {
    const c = countParams(parseConfig(presetConfig('tiny-latent')));
    expect(c.total).toBeGreaterThan(c.trunk);
  });
});

describe('inspect', () => {
  it('reports config, every tensor with dtype/shape/bytes, dtype totals and parameter counts', async () => {
    await synthesize({ preset: 'tiny-latent', seed: 1, out: join(dir, 'm'), dtype: 'bf16' });
    const report = await inspect(join(dir, 'm'));
    expect(report).toContain('pattern ME*ME*E (M 2, * 2, E 3, - 0)');
    expect(report).toContain('mamba2: H 4 × P 16, G 2, N 16, conv 4, chunk 8');
    expect(report).toContain('LatentMoE ℓ 32');
    expect(report).toContain('mtp: 1 × *E');
    expect(report).toMatch(/backbone\.layers\.0\.mixer\.in_proj\.weight\s+bf16\s+\[196, 64\]\s+25088\n/);
    expect(report).toMatch(/mtp\.layers\.1\.mixer\.gate\.e_score_correction_bias\s+f32\s+\[16\]\s+64\n/);
    expect(report).toMatch(/ f32 +4 tensors +0\.25 KiB\n/); // router correction biases: 3 trunk E + 1 MTP E, 16 × 4 bytes each
    expect(report).toMatch(/parameters: [\d.]+M total \([\d.]+M trunk \+ [\d.]+M MTP\), [\d.]+M active per token$/);
  });
});
