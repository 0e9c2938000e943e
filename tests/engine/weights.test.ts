import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/config.js';
import { MissingTensorError, TensorShapeError, UnsupportedDTypeError } from '../../engine/errors.js';
import { DTYPE_BYTES, expectedTensors, validateWeights, type DType, type TensorEntry, type WeightStore } from '../../engine/weights.js';

// A store of header-only entries: validation never reads bytes.
function headerStore(entries: { name: string; dtype: DType; shape: readonly number[] }[]): WeightStore {
  const map = new Map<string, TensorEntry>();
  for (const e of entries) {
    const byteLength = e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype];
    map.set(e.name, { ...e, byteLength, readInto: async () => {} });
  }
  return { source: 'mem', get: (n) => map.get(n), names: () => [...map.keys()], close: async () => {} };
}

const TINY = parseConfig({
  vocab_size: 32,
  hidden_size: 8,
  hybrid_override_pattern: 'ME*-',
  mamba_num_heads: 2,
  mamba_head_dim: 4,
  n_groups: 1,
  ssm_state_size: 4,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 4,
  n_routed_experts: 3,
  num_experts_per_tok: 2,
  moe_intermediate_size: 6,
  moe_shared_expert_intermediate_size: 5,
  moe_latent_size: 4,
  intermediate_size: 7,
});

describe('expectedTensors', () => {
  it('lists the spec §12 names and shapes', () => {
    const byName = new Map(expectedTensors(TINY).map((t) => [t.name, t.shape]));
    // Mamba: inProjDim = 2·8 + 2·1·4 + 2 = 26, convDim = 8 + 8 = 16
    expect(byName.get('backbone.layers.0.mixer.in_proj.weight')).toEqual([26, 8]);
    expect(byName.get('backbone.layers.0.mixer.conv1d.weight')).toEqual([16, 1, 4]);
    expect(byName.get('backbone.layers.0.mixer.norm.weight')).toEqual([8]);
    expect(byName.get('backbone.layers.0.mixer.out_proj.weight')).toEqual([8, 8]);
    // LatentMoE: experts in the 4-wide latent space, router and shared expert at d = 8
    expect(byName.get('backbone.layers.1.mixer.gate.weight')).toEqual([3, 8]);
    expect(byName.get('backbone.layers.1.mixer.experts.2.up_proj.weight')).toEqual([6, 4]);
    expect(byName.get('backbone.layers.1.mixer.experts.2.down_proj.weight')).toEqual([4, 6]);
    expect(byName.get('backbone.layers.1.mixer.shared_experts.up_proj.weight')).toEqual([5, 8]);
    expect(byName.get('backbone.layers.1.mixer.fc1_latent_proj.weight')).toEqual([4, 8]);
    expect(byName.get('backbone.layers.1.mixer.fc2_latent_proj.weight')).toEqual([8, 4]);
    expect(byName.get('backbone.layers.2.mixer.q_proj.weight')).toEqual([8, 8]);
    expect(byName.get('backbone.layers.2.mixer.k_proj.weight')).toEqual([4, 8]);
    expect(byName.get('backbone.layers.3.mixer.up_proj.weight')).toEqual([7, 8]);
    expect(byName.get('lm_head.weight')).toEqual([32, 8]);
    expect(byName.has('backbone.layers.3.norm.weight')).toBe(true);
  });
});

describe('validateWeights', () => {
  const good = expectedTensors(TINY).map((t) => ({ name: t.name, dtype: 'f32' as DType, shape: t.shape }));

  it('accepts a complete store, the singular embedding alias and a 2-D conv weight', () => {
    const entries = good.map((e) =>
      e.name === 'backbone.embeddings.weight'
        ? { ...e, name: 'backbone.embedding.weight' }
        : e.name.endsWith('conv1d.weight')
          ? { ...e, shape: [16, 4] }
          : e,
    );
    const found = validateWeights(TINY, headerStore(entries));
    expect(found.get('backbone.embeddings.weight')?.name).toBe('backbone.embedding.weight');
  });

  it('names a missing tensor', () => {
    const store = headerStore(good.filter((e) => e.name !== 'backbone.layers.1.mixer.experts.1.down_proj.weight'));
    expect(() => validateWeights(TINY, store)).toThrow(MissingTensorError);
    expect(() => validateWeights(TINY, store)).toThrow(/experts\.1\.down_proj/);
  });

  it('names a wrong shape', () => {
    const store = headerStore(good.map((e) => (e.name.endsWith('layers.2.mixer.k_proj.weight') ? { ...e, shape: [8, 8] } : e)));
    expect(() => validateWeights(TINY, store)).toThrow(TensorShapeError);
    expect(() => validateWeights(TINY, store)).toThrow(/k_proj.*\[8, 8\].*expected \[4, 8\]/);
  });

  it('names an unsupported dtype', () => {
    const store = headerStore(good.map((e) => (e.name === 'lm_head.weight' ? { ...e, dtype: 'i64' as DType } : e)));
    expect(() => validateWeights(TINY, store)).toThrow(UnsupportedDTypeError);
    expect(() => validateWeights(TINY, store)).toThrow(/lm_head\.weight has dtype i64/);
  });
});

describe('expectedTensors with MTP (spec §11)', () => {
  it('adds the MTP sub-layers, enorm/hnorm/eh_proj and the final norm only when asked', () => {
    const c = parseConfig({
      vocab_size: 32, hidden_size: 8, hybrid_override_pattern: 'M*', mamba_num_heads: 2, mamba_head_dim: 4, n_groups: 1,
      ssm_state_size: 4, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, n_routed_experts: 3,
      num_experts_per_tok: 2, moe_intermediate_size: 6, moe_shared_expert_intermediate_size: 5,
      num_nextn_predict_layers: 1, mtp_hybrid_override_pattern: '*E',
    });
    const trunk = new Set(expectedTensors(c).map((t) => t.name));
    const withMtp = new Map(expectedTensors(c, true).map((t) => [t.name, t.shape]));
    expect([...trunk].some((n) => n.startsWith('mtp.'))).toBe(false);
    expect(withMtp.get('mtp.layers.0.eh_proj.weight')).toEqual([8, 16]);
    expect(withMtp.get('mtp.layers.0.enorm.weight')).toEqual([8]);
    expect(withMtp.get('mtp.layers.0.hnorm.weight')).toEqual([8]);
    expect(withMtp.get('mtp.layers.0.mixer.q_proj.weight')).toEqual([8, 8]);
    expect(withMtp.get('mtp.layers.1.mixer.experts.2.up_proj.weight')).toEqual([6, 8]);
    expect(withMtp.get('mtp.layers.1.final_layernorm.weight')).toEqual([8]);
  });
});
