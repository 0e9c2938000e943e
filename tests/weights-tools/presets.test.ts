import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/core/config.js';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { expectedTensors } from '../../engine/core/weights.js';
import { PRESET_NAMES, isPresetName, presetConfig, truncateLayers } from '../../weights-tools/presets.js';
import { quantizedLinears } from '../../weights-tools/quant-policy.js';
import { countParams } from '../../weights-tools/inspect.js';
import { parseConfigJson, stringifyConfigJson } from '../../engine/formats/config-json.js';
import { NANO_PATTERN, nanoQuantized, nanoTable } from './nano-table.js';

describe('presets', () => {
  it.each(PRESET_NAMES)('%s parses as a NemotronH config', (name) => {
    const cfg = parseConfig(presetConfig(name));
    expect(cfg.layerKinds.length).toBe(presetConfig(name).num_hidden_layers);
  });

  it('tiny: DESIGN §4 sizes, chunk 8, every layer kind', () => {
    const c = parseConfig(presetConfig('tiny'));
    expect(c.layerKinds.join('')).toBe('ME*M-E*E');
    expect([c.dModel, c.vocabSize, c.mlpDim]).toEqual([64, 512, 128]);
    expect(c.mamba).toMatchObject({ nHeads: 4, headDim: 16, nGroups: 2, dState: 16, chunkSize: 8, dInner: 64, inProjDim: 196 });
    expect(c.attention).toEqual({ nHeads: 4, nKvHeads: 2, headDim: 16 });
    expect(c.moe).toMatchObject({ nExperts: 8, topK: 2, expertDim: 32, sharedDim: 64, latentDim: null });
    expect(c.mtp).toBeNull();
  });

  it('tiny-latent: LatentMoE 32 wide, 16 experts top-4, MTP *E', () => {
    const c = parseConfig(presetConfig('tiny-latent'));
    expect(c.layerKinds.join('')).toBe('ME*ME*E');
    expect(c.moe).toMatchObject({ nExperts: 16, topK: 4, expertDim: 32, sharedDim: 64, latentDim: 32 });
    expect(c.mtp).toEqual({ nPredict: 1, kinds: ['*', 'E'] });
    expect(c.layers.slice(-2).map((l) => l.prefix)).toEqual(['mtp.layers.0.', 'mtp.layers.1.']);
  });

  it('small and medium: DESIGN §4 sizes', () => {
    const s = parseConfig(presetConfig('small'));
    expect([s.dModel, s.vocabSize, s.layerKinds.join('')]).toEqual([768, 16384, 'MEMEM*EMEMEM*EMEM']);
    expect(s.mamba).toMatchObject({ nHeads: 24, headDim: 64, nGroups: 2, dState: 64 });
    expect(s.moe).toMatchObject({ nExperts: 16, topK: 2, expertDim: 384, sharedDim: 768 });
    const m = parseConfig(presetConfig('medium'));
    expect([m.dModel, m.vocabSize, m.layerKinds.join('')]).toEqual([1024, 32768, 'MEMEM*EMEMEM*EMEMEM*EMEM']);
    expect(m.mamba).toMatchObject({ nHeads: 32, headDim: 64, nGroups: 8, dState: 128 });
    expect(m.attention).toEqual({ nHeads: 16, nKvHeads: 2, headDim: 64 });
    expect(m.moe).toMatchObject({ nExperts: 32, topK: 4, expertDim: 512, sharedDim: 1024 });
  });

  it('nano: the spec §2 config and §2.1 derived dimensions', () => {
    const raw = presetConfig('nano');
    expect(raw).toMatchObject({
      vocab_size: 131072,
      hidden_size: 2688,
      num_hidden_layers: 52,
      num_attention_heads: 32,
      num_key_value_heads: 2,
      head_dim: 128,
      mamba_num_heads: 64,
      mamba_head_dim: 64,
      ssm_state_size: 128,
      n_groups: 8,
      chunk_size: 128,
      n_routed_experts: 128,
      num_experts_per_tok: 6,
      moe_intermediate_size: 1856,
      moe_shared_expert_intermediate_size: 3712,
      routed_scaling_factor: 2.5,
      max_position_embeddings: 262144,
      torch_dtype: 'bfloat16',
    });
    const c = parseConfig(raw);
    const at = (k: string) => c.layerKinds.flatMap((x, i) => (x === k ? [i] : []));
    expect(at('*')).toEqual([5, 12, 19, 26, 33, 42]);
    expect([at('M').length, at('E').length]).toEqual([23, 23]);
    expect(c.mamba).toMatchObject({ dInner: 4096, convDim: 6144, inProjDim: 10304 });
  });

  it('nano-4b: the Nemotron 3 Nano 4B config (spec §18), 3,973,556,832 parameters as published', () => {
    const raw = presetConfig('nano-4b');
    expect(raw).toMatchObject({
      vocab_size: 131072,
      hidden_size: 3136,
      num_hidden_layers: 42,
      hybrid_override_pattern: 'M-M-M-MM-M-M*-M-M*-M-M-M*-M-M-MM*-MMM-M-M-',
      num_attention_heads: 40,
      num_key_value_heads: 8,
      head_dim: 128,
      mamba_num_heads: 96,
      mamba_head_dim: 80,
      n_groups: 8,
      ssm_state_size: 128,
      conv_kernel: 4,
      chunk_size: 256,
      intermediate_size: 12544,
      tie_word_embeddings: false,
      max_position_embeddings: 262144,
      torch_dtype: 'bfloat16',
      time_step_limit: [0, Infinity],
    });
    expect(raw.n_routed_experts).toBeUndefined(); // dense: no MoE sizes
    const c = parseConfig(raw);
    const count = (k: string) => c.layerKinds.filter((x) => x === k).length;
    expect([count('M'), count('*'), count('-'), count('E')]).toEqual([21, 4, 17, 0]);
    expect(c.mamba).toMatchObject({ dInner: 7680, convDim: 9728, inProjDim: 17504, timeStepLimit: [0, Infinity] });
    // the model card's 3.97e9; 3,973,556,832 exactly as the HF page's safetensors count is quoted
    expect(countParams(c).total).toBe(3_973_556_832);
    // written as Python writes it (bare Infinity) and read back
    const text = stringifyConfigJson(raw);
    expect(text).toContain('"time_step_limit": [\n    0,\n    Infinity\n  ]');
    expect(parseConfigJson(text, 'config.json')).toEqual(raw);
  });

  it('returns a fresh copy each time and recognises only its names', () => {
    presetConfig('tiny').hidden_size = 1;
    expect(presetConfig('tiny').hidden_size).toBe(64);
    expect(isPresetName('tiny-latent')).toBe(true);
    expect(isPresetName('huge')).toBe(false);
  });
});

describe('truncateLayers', () => {
  it('nano cut to 6 layers: pattern MEMEM*, the spec §12 names and shapes of those layers', () => {
    const raw = truncateLayers(presetConfig('nano'), 6);
    expect([raw.hybrid_override_pattern, raw.num_hidden_layers]).toEqual(['MEMEM*', 6]);
    const c = parseConfig(raw);
    expect(c.layerKinds).toEqual(['M', 'E', 'M', 'E', 'M', '*']);
    expect([c.dModel, c.vocabSize]).toEqual([2688, 131072]);
    const specs = expectedTensors(c, true)
      .map((s) => ({ name: s.name, shape: s.shape }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(specs).toEqual(nanoTable(6));
    // spec §14.2 exclusions, applied to the 6-layer pattern: layer 4 precedes the attention layer 5
    const quantized = quantizedLinears(c, { name: 'nano' });
    const linears = specs.filter((s) => s.shape.length === 2).map((s) => s.name);
    expect(linears.filter((n) => quantized.has(n))).toEqual(linears.filter((n) => nanoQuantized(n, 6)));
    expect(quantized.has('backbone.layers.4.mixer.in_proj.weight')).toBe(false);
    expect(quantized.has('backbone.layers.2.mixer.in_proj.weight')).toBe(true);
  });

  it('nano cut to 2 layers keeps everything else and leaves the preset untouched', () => {
    const full = presetConfig('nano');
    const raw = truncateLayers(full, 2);
    expect(raw).toEqual({ ...full, hybrid_override_pattern: 'ME', num_hidden_layers: 2 });
    expect(full.hybrid_override_pattern).toBe(NANO_PATTERN);
    expect(expectedTensors(parseConfig(raw), true).length).toBe(nanoTable(2).length);
  });

  it('rejects a layer count outside 1..pattern length', () => {
    expect(() => truncateLayers(presetConfig('tiny'), 0)).toThrow(InvalidOptionError);
    expect(() => truncateLayers(presetConfig('tiny'), 9)).toThrow(/1\.\.8/);
    expect(() => truncateLayers(presetConfig('tiny'), 2.5)).toThrow(InvalidOptionError);
    expect(truncateLayers(presetConfig('tiny'), 8).hybrid_override_pattern).toBe('ME*M-E*E');
  });
});
