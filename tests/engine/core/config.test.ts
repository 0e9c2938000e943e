import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../engine/core/config.js';
import { ConfigError } from '../../../engine/core/errors.js';
import { FIXTURES } from '../../helpers/fixtures.js';

// spec §2: the released Nemotron 3 Nano 30B-A3B config.json (the keys the engine reads).
const NANO = {
  architectures: ['NemotronHForCausalLM'],
  model_type: 'nemotron_h',
  vocab_size: 131072,
  hidden_size: 2688,
  num_hidden_layers: 52,
  hybrid_override_pattern: 'MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME',
  num_attention_heads: 32,
  num_key_value_heads: 2,
  head_dim: 128,
  attention_bias: false,
  mamba_num_heads: 64,
  mamba_head_dim: 64,
  ssm_state_size: 128,
  n_groups: 8,
  conv_kernel: 4,
  chunk_size: 128,
  expand: 2,
  mamba_hidden_act: 'silu',
  mamba_proj_bias: false,
  use_bias: false,
  use_conv_bias: true,
  n_routed_experts: 128,
  num_experts_per_tok: 6,
  n_shared_experts: 1,
  moe_intermediate_size: 1856,
  moe_shared_expert_intermediate_size: 3712,
  intermediate_size: 1856,
  mlp_hidden_act: 'relu2',
  mlp_bias: false,
  routed_scaling_factor: 2.5,
  norm_topk_prob: true,
  n_group: 1,
  topk_group: 1,
  layer_norm_epsilon: 1e-5,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
  max_position_embeddings: 262144,
  rope_theta: 10000,
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('derives the Nano dimensions of spec §2.1', () => {
    const c = parseConfig(NANO, [11]);
    expect(c.layerKinds.filter((k) => k === 'M')).toHaveLength(23);
    expect(c.layerKinds.filter((k) => k === 'E')).toHaveLength(23);
    expect(c.layers.filter((l) => l.kind === '*').map((l) => l.il)).toEqual([5, 12, 19, 26, 33, 42]);
    expect(c.layerKinds[0]).toBe('M');
    expect(c.layerKinds[51]).toBe('E');
    expect(c.mamba).toMatchObject({ dInner: 4096, convDim: 6144, inProjDim: 10304, nGroups: 8, dState: 128 });
    expect(c.attention).toEqual({ nHeads: 32, nKvHeads: 2, headDim: 128 });
    expect(c.moe).toMatchObject({ nExperts: 128, topK: 6, expertDim: 1856, sharedDim: 3712, routedScale: 2.5, latentDim: null });
    expect(c.eosTokenIds).toEqual([2, 11]);
    expect(c.layers[3].prefix).toBe('backbone.layers.3.');
    expect(c.mtp).toBeNull();
  });

  it('accepts layers_block_type instead of the pattern, with every spelling', () => {
    const { hybrid_override_pattern: _, ...rest } = NANO;
    const names: Record<string, string> = { M: 'mamba', E: 'moe', '*': 'attention' };
    const list = [...NANO.hybrid_override_pattern].map((ch, i) => (ch === 'M' && i % 2 ? 'linear_attention' : ch === '*' && i > 20 ? 'full_attention' : names[ch]));
    const c = parseConfig({ ...rest, layers_block_type: list });
    expect(c.layerKinds.join('')).toBe(NANO.hybrid_override_pattern);
  });

  it('rejects a layers_block_type that disagrees with the pattern', () => {
    const e = configError(() => parseConfig({ ...NANO, num_hidden_layers: 2, hybrid_override_pattern: 'ME', layers_block_type: ['mamba', 'attention'] }));
    expect(e.key).toBe('layers_block_type');
  });

  it('accepts the legacy Mamba key names', () => {
    const { n_groups: _g, conv_kernel: _c, chunk_size: _q, ...rest } = NANO;
    const c = parseConfig({ ...rest, mamba_n_groups: 4, mamba_d_conv: 3, mamba_chunk_size: 64 });
    expect(c.mamba).toMatchObject({ nGroups: 4, convKernel: 3, chunkSize: 64 });
  });

  it('reads LatentMoE and MTP keys (Super-style)', () => {
    const c = parseConfig({ ...NANO, moe_latent_size: 1024, num_nextn_predict_layers: 1, mtp_hybrid_override_pattern: '*E', eos_token_id: [2, 11] });
    expect(c.moe!.latentDim).toBe(1024);
    expect(c.mtp).toEqual({ nPredict: 1, kinds: ['*', 'E'] });
    expect(c.nTrunkLayers).toBe(52);
    expect(c.layers).toHaveLength(54);
    expect(c.layers[52]).toEqual({ il: 52, kind: '*', prefix: 'mtp.layers.0.' });
    expect(c.layers[53].prefix).toBe('mtp.layers.1.');
    expect(c.eosTokenIds).toEqual([2, 11]);
  });

  it('accepts the MTP pattern as mtp_layers_block_type', () => {
    const c = parseConfig({ ...NANO, num_nextn_predict_layers: 1, mtp_layers_block_type: ['attention', 'moe'] });
    expect(c.mtp!.kinds).toEqual(['*', 'E']);
  });

  it('reads a dense Nemotron-H config with "-" layers', () => {
    const c = parseConfig({ ...NANO, hybrid_override_pattern: 'M-M*-', num_hidden_layers: 5, intermediate_size: 512 });
    expect(c.mlpDim).toBe(512);
    expect(c.moe).toBeNull();
  });

  it.each([
    ['num_hidden_layers', { num_hidden_layers: 51 }],
    ['hybrid_override_pattern', { hybrid_override_pattern: 'MEX', num_hidden_layers: 3 }],
    ['hidden_size', { hidden_size: -1 }],
    ['vocab_size', { vocab_size: 'big' }],
    ['n_groups', { n_groups: 7 }],
    ['num_key_value_heads', { num_key_value_heads: 3 }],
    ['num_experts_per_tok', { num_experts_per_tok: 129 }],
    ['model_type', { model_type: 'llama' }],
    ['mlp_hidden_act', { mlp_hidden_act: 'silu' }],
    ['attention_bias', { attention_bias: true }],
    ['layer_norm_epsilon', { layer_norm_epsilon: 0 }],
    ['use_conv_bias', { use_conv_bias: 'yes' }],
    ['mtp_hybrid_override_pattern', { num_nextn_predict_layers: 1 }],
    ['mamba_num_heads', { mamba_num_heads: undefined }],
  ])('rejects an inconsistent %s with an error naming the key', (key, patch) => {
    const e = configError(() => parseConfig({ ...NANO, ...patch }));
    expect(e.key).toBe(key);
    expect(e.message).toContain(key);
  });

  it('rejects a non-object', () => {
    expect(configError(() => parseConfig([1, 2])).key).toBe('(root)');
  });

  it('parses the HF fixture configs', async () => {
    const { readFileSync } = await import('node:fs');
    for (const name of ['moe', 'dense', 'latent']) {
      const c = parseConfig(JSON.parse(readFileSync(`${FIXTURES}${name}/hf/config.json`, 'utf8')));
      expect(c.mamba!.inProjDim).toBe(776); // 2·256 + 2·2·64 + 8
      expect(c.nTrunkLayers).toBe(8);
    }
  });
});

describe('parseConfig: time_step_limit and unknown keys (spec §6.4)', () => {
  it('defaults to [0, Infinity], takes the pair HF writes, and never clamps (only reports it)', () => {
    expect(parseConfig(NANO).mamba!.timeStepLimit).toEqual([0, Infinity]);
    expect(parseConfig({ ...NANO, time_step_limit: [0.0, Infinity] }).mamba!.timeStepLimit).toEqual([0, Infinity]);
    expect(parseConfig({ ...NANO, time_step_limit: [0.0, 1e30] }).mamba!.timeStepLimit).toEqual([0, 1e30]);
  });

  it.each([[[0, NaN]], [[0.1, 0.01]], [[-1, Infinity]], [[0]], ['inf'], [[0, 'Infinity']]])('rejects time_step_limit %j', (v) => {
    expect(configError(() => parseConfig({ ...NANO, time_step_limit: v })).key).toBe('time_step_limit');
  });

  it('ignores keys it does not know, whatever their value (NaN, -Infinity, objects)', () => {
    const extra = { some_future_key: NaN, another: -Infinity, nested: { a: [1, Infinity] }, auto_map: { AutoConfig: 'x' } };
    const c = parseConfig({ ...NANO, ...extra });
    expect(c.layerKinds).toEqual(parseConfig(NANO).layerKinds);
    expect(c.raw.another).toBe(-Infinity);
  });
});
