import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/core/config.js';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { expectedTensors } from '../../engine/core/weights.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { quantizedLinears, type QuantPolicyName } from '../../weights-tools/quant-policy.js';

describe('quantizedLinears', () => {
  const nano = parseConfig(presetConfig('nano'));
  const L = (il: number, rest: string) => `backbone.layers.${il}.mixer.${rest}.weight`;

  it('nano: spec §14.2, the attention layers and the Mamba layer before each stay high precision', () => {
    const q = quantizedLinears(nano, { name: 'nano' });
    // attention layers 5, 12, 19, 26, 33, 42; the Mamba layers 4, 11, 18, 25, 32, 41 before them
    for (const il of [5, 12, 19, 26, 33, 42]) for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) expect(q.has(L(il, p))).toBe(false);
    for (const il of [4, 11, 18, 25, 32, 41]) for (const p of ['in_proj', 'out_proj']) expect(q.has(L(il, p))).toBe(false);
    expect(q.has(L(0, 'in_proj'))).toBe(true);
    expect(q.has(L(2, 'out_proj'))).toBe(true);
    expect(q.has(L(1, 'experts.127.up_proj'))).toBe(true);
    expect(q.has(L(1, 'shared_experts.down_proj'))).toBe(true);
    expect(q.has(L(1, 'gate'))).toBe(false);
    expect(q.has('backbone.embeddings.weight')).toBe(false);
    expect(q.has('lm_head.weight')).toBe(false);
    // every quantised name is a linear weight; no norm, conv or bias
    const linear = new Set(expectedTensors(nano).filter((t) => t.linear).map((t) => t.name));
    for (const n of q) expect(linear.has(n)).toBe(true);
    // 23 MoE layers × (128 · 2 + 2) + 23 − 6 Mamba layers × 2 = 5968
    expect(q.size).toBe(23 * 258 + 17 * 2);
  });

  it('all-linear: everything but the router; embedding and head on request', () => {
    const q = quantizedLinears(nano, { name: 'all-linear' });
    expect(q.has(L(5, 'q_proj'))).toBe(true);
    expect(q.has(L(4, 'in_proj'))).toBe(true);
    expect(q.has(L(1, 'gate'))).toBe(false);
    const both = quantizedLinears(nano, { name: 'all-linear', embedding: true, head: true });
    expect(both.has('backbone.embeddings.weight') && both.has('lm_head.weight')).toBe(true);
  });

  it('keeps the MTP block and LatentMoE projections high precision under nano', () => {
    const latent = parseConfig(presetConfig('tiny-latent'));
    const q = quantizedLinears(latent, { name: 'nano' });
    expect([...q].some((n) => n.startsWith('mtp.') || n.includes('latent_proj'))).toBe(false);
    expect([...quantizedLinears(latent, { name: 'all-linear' })].some((n) => n.includes('latent_proj'))).toBe(true);
  });

  it('never quantises a K that is not a multiple of 16, and names an unknown policy', () => {
    const odd = parseConfig({ ...presetConfig('tiny'), moe_intermediate_size: 40 });
    const q = quantizedLinears(odd, { name: 'all-linear' });
    expect(q.has(L(1, 'experts.0.down_proj'))).toBe(false); // [64, 40]
    expect(q.has(L(1, 'experts.0.up_proj'))).toBe(true); // [40, 64]
    expect(() => quantizedLinears(odd, { name: 'int4' as QuantPolicyName })).toThrow(InvalidOptionError);
  });
});
