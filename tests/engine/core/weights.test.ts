import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../engine/core/config.js';
import { MissingTensorError, QuantizedLayoutError, TensorShapeError, TruncatedTensorError, UnsupportedDTypeError, UnsupportedQuantizationError } from '../../../engine/core/errors.js';
import { DTYPE_BYTES, expectedTensors, linearWeight, validateWeights, type DType, type TensorEntry, type WeightStore } from '../../../engine/core/weights.js';

// A store of header-only entries: validation never reads bytes.
function headerStore(entries: { name: string; dtype: DType; shape: readonly number[]; byteLength?: number }[]): WeightStore {
  const map = new Map<string, TensorEntry>();
  for (const e of entries) {
    const byteLength = e.byteLength ?? e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype];
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

describe('validateWeights: nvfp4 and nvfp4-s24 linear weights (DESIGN §3)', () => {
  // every K a multiple of 16: d = 32, dInner = 32, expert/shared/MLP widths 16/32/48
  const C16 = parseConfig({
    vocab_size: 32, hidden_size: 32, hybrid_override_pattern: 'ME*-', mamba_num_heads: 2, mamba_head_dim: 16, n_groups: 1,
    ssm_state_size: 4, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, n_routed_experts: 2,
    num_experts_per_tok: 1, moe_intermediate_size: 16, moe_shared_expert_intermediate_size: 32, intermediate_size: 48,
  });
  const specs = expectedTensors(C16);
  const OUT = 'backbone.layers.0.mixer.out_proj'; // [32, 32]
  const UP = 'backbone.layers.1.mixer.experts.1.up_proj'; // [16, 32]
  type E = { name: string; dtype: DType; shape: readonly number[]; byteLength?: number };
  const nvfp4 = (base: string, rows: number, cols: number): E[] => [
    { name: `${base}.weight`, dtype: 'u8', shape: [rows, cols / 2] },
    { name: `${base}.weight_scale`, dtype: 'f8_e4m3', shape: [rows, cols / 16] },
    { name: `${base}.weight_scale_2`, dtype: 'f32', shape: [] },
    { name: `${base}.input_scale`, dtype: 'f32', shape: [] },
  ];
  const s24 = (base: string, rows: number, cols: number): E[] => [
    { name: `${base}.weight`, dtype: 'u8', shape: [rows, cols / 4] },
    { name: `${base}.weight_scale`, dtype: 'f8_e4m3', shape: [rows, cols / 16] },
    { name: `${base}.weight_scale_2`, dtype: 'f32', shape: [1] },
    { name: `${base}.weight_pos`, dtype: 'u8', shape: [rows, cols / 8] },
  ];
  const store = (patch: (entries: E[]) => E[] = (e) => e) =>
    headerStore(
      patch([
        ...specs.filter((t) => t.name !== `${OUT}.weight` && t.name !== `${UP}.weight`).map((t) => ({ name: t.name, dtype: 'f32' as DType, shape: t.shape })),
        ...nvfp4(OUT, 32, 32),
        ...s24(UP, 16, 32),
      ]),
    );

  it('accepts both formats, puts the sidecars beside the weight and ignores input_scale', () => {
    const found = validateWeights(C16, store());
    expect(found.has(`${OUT}.weight_scale`)).toBe(true);
    expect(found.has(`${OUT}.weight_scale_2`)).toBe(true);
    expect(found.has(`${OUT}.input_scale`)).toBe(false);
    expect(found.has(`${UP}.weight_pos`)).toBe(true);
    const out = linearWeight(found, `${OUT}.weight`);
    expect([out.format, out.rows, out.cols, out.positions]).toEqual(['nvfp4', 32, 32, undefined]);
    const up = linearWeight(found, `${UP}.weight`);
    expect([up.format, up.rows, up.cols, up.positions?.name]).toEqual(['nvfp4-s24', 16, 32, `${UP}.weight_pos`]);
    expect(linearWeight(found, 'lm_head.weight').format).toBe('f32');
  });

  it('names a wrong scale shape', () => {
    const bad = store((e) => e.map((t) => (t.name === `${OUT}.weight_scale` ? { ...t, shape: [32, 1] } : t)));
    expect(() => validateWeights(C16, bad)).toThrow(TensorShapeError);
    expect(() => validateWeights(C16, bad)).toThrow(/out_proj\.weight_scale has shape \[32, 1\], expected \[32, 2\]/);
    const bad2 = store((e) => e.map((t) => (t.name === `${OUT}.weight_scale_2` ? { ...t, shape: [2] } : t)));
    expect(() => validateWeights(C16, bad2)).toThrow(/weight_scale_2 has shape \[2\], expected \[1\]/);
  });

  it('names a wrong scale dtype, a missing sidecar and a wrong packed shape', () => {
    const dtype = store((e) => e.map((t) => (t.name === `${OUT}.weight_scale` ? { ...t, dtype: 'u8' as DType } : t)));
    expect(() => validateWeights(C16, dtype)).toThrow(UnsupportedDTypeError);
    const missing = store((e) => e.filter((t) => t.name !== `${UP}.weight_scale`));
    expect(() => validateWeights(C16, missing)).toThrow(MissingTensorError);
    expect(() => validateWeights(C16, missing)).toThrow(/up_proj\.weight_scale/);
    const packed = store((e) => e.map((t) => (t.name === `${OUT}.weight` ? { ...t, shape: [32, 32] } : t)));
    expect(() => validateWeights(C16, packed)).toThrow(/out_proj\.weight has shape \[32, 32\], expected \[32, 16\]/);
  });

  it('names a truncated buffer', () => {
    const bad = store((e) => e.map((t) => (t.name === `${UP}.weight_pos` ? { ...t, byteLength: 63 } : t)));
    expect(() => validateWeights(C16, bad)).toThrow(TruncatedTensorError);
    expect(() => validateWeights(C16, bad)).toThrow(/weight_pos holds 63 bytes; its dtype and shape need 64/);
    const dense = store((e) => e.map((t) => (t.name === 'lm_head.weight' ? { ...t, byteLength: 100 } : t)));
    expect(() => validateWeights(C16, dense)).toThrow(TruncatedTensorError);
  });

  it('rejects a K that is not a multiple of 16 (odd K included)', () => {
    // TINY has d = 8: in_proj [26, 8] cannot be nvfp4
    const entries = expectedTensors(TINY).map((t) =>
      t.name === 'backbone.layers.0.mixer.in_proj.weight' ? { name: t.name, dtype: 'u8' as DType, shape: [26, 4] } : { name: t.name, dtype: 'f32' as DType, shape: t.shape },
    );
    expect(() => validateWeights(TINY, headerStore(entries))).toThrow(QuantizedLayoutError);
    expect(() => validateWeights(TINY, headerStore(entries))).toThrow(/in_proj\.weight: K = 8 is not a multiple of 16/);
  });
});

describe('validateWeights: ModelOpt FP8 and the quantisation config (engine/formats/fp8.ts, modelopt.ts)', () => {
  const C16 = parseConfig({
    vocab_size: 32, hidden_size: 32, hybrid_override_pattern: 'ME*-', mamba_num_heads: 2, mamba_head_dim: 16, n_groups: 1,
    ssm_state_size: 4, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, n_routed_experts: 2,
    num_experts_per_tok: 1, moe_intermediate_size: 16, moe_shared_expert_intermediate_size: 32, intermediate_size: 48,
  });
  const withQuant = (q: unknown) => parseConfig({ ...C16.raw, quantization_config: q });
  const OUT = 'backbone.layers.0.mixer.out_proj'; // [32, 32]
  const IN = 'backbone.layers.0.mixer.in_proj';
  type E = { name: string; dtype: DType; shape: readonly number[]; byteLength?: number };
  const fp8 = (base: string, rows: number, cols: number): E[] => [
    { name: `${base}.weight`, dtype: 'f8_e4m3', shape: [rows, cols] },
    { name: `${base}.weight_scale`, dtype: 'f32', shape: [] },
    { name: `${base}.input_scale`, dtype: 'f32', shape: [] },
  ];
  const nvfp4 = (base: string, rows: number, cols: number): E[] => [
    { name: `${base}.weight`, dtype: 'u8', shape: [rows, cols / 2] },
    { name: `${base}.weight_scale`, dtype: 'f8_e4m3', shape: [rows, cols / 16] },
    { name: `${base}.weight_scale_2`, dtype: 'f32', shape: [] },
  ];
  const floats = (skip: string[]) =>
    expectedTensors(C16)
      .filter((t) => !skip.includes(t.name))
      .map((t) => ({ name: t.name, dtype: 'bf16' as DType, shape: t.shape }));
  const store = (out: E[]) => headerStore([...floats([`${OUT}.weight`]), ...out]);

  it('reads an f8_e4m3 weight with its per-tensor scale as a bf16 view, keeping input_scale', () => {
    const found = validateWeights(withQuant({ quant_method: 'modelopt', quant_algo: 'FP8' }), store(fp8(OUT, 32, 32)));
    const w = found.get(`${OUT}.weight`) as TensorEntry & { fp8?: { weight: TensorEntry; scale: TensorEntry; inputScale?: TensorEntry } };
    expect([w.dtype, w.shape, w.byteLength]).toEqual(['bf16', [32, 32], 2048]);
    expect([w.fp8?.weight.dtype, w.fp8?.scale.name, w.fp8?.inputScale?.name]).toEqual(['f8_e4m3', `${OUT}.weight_scale`, `${OUT}.input_scale`]);
    expect(linearWeight(found, `${OUT}.weight`).format).toBe('bf16');
    // no config at all: the stored dtypes decide
    expect(validateWeights(C16, store(fp8(OUT, 32, 32))).get(`${OUT}.weight`)!.dtype).toBe('bf16');
  });

  it('names a missing weight_scale, a per-channel scale and a bad input_scale', () => {
    const missing = store(fp8(OUT, 32, 32).filter((t) => !t.name.endsWith('weight_scale')));
    expect(() => validateWeights(C16, missing)).toThrow(MissingTensorError);
    expect(() => validateWeights(C16, missing)).toThrow(/missing tensor backbone\.layers\.0\.mixer\.out_proj\.weight_scale .*FP8 weight backbone\.layers\.0\.mixer\.out_proj\.weight/);
    const perChannel = store(fp8(OUT, 32, 32).map((t) => (t.name.endsWith('weight_scale') ? { ...t, shape: [32] } : t)));
    expect(() => validateWeights(C16, perChannel)).toThrow(QuantizedLayoutError);
    expect(() => validateWeights(C16, perChannel)).toThrow(/out_proj\.weight_scale: shape \[32\]: .*per-tensor scale/);
    const inputScale = store(fp8(OUT, 32, 32).map((t) => (t.name.endsWith('input_scale') ? { ...t, dtype: 'u8' as DType } : t)));
    expect(() => validateWeights(C16, inputScale)).toThrow(/out_proj\.input_scale has dtype u8; supported: f32, bf16/);
  });

  it('an algorithm edgetron cannot load is an error naming the tensor, where a weight is stored quantised', () => {
    const awq = withQuant({ quant_method: 'modelopt', quant_algo: 'W4A16_AWQ' });
    expect(() => validateWeights(awq, store(nvfp4(OUT, 32, 32)))).toThrow(UnsupportedQuantizationError);
    expect(() => validateWeights(awq, store(nvfp4(OUT, 32, 32)))).toThrow(
      /tensor backbone\.layers\.0\.mixer\.out_proj\.weight: quantization_config \(config\.json, hf_quant_config\.json\) says W4A16_AWQ, which edgetron cannot load; supported: FP8, NVFP4, MIXED_PRECISION/,
    );
    // every linear in float: the algorithm does not matter
    expect(() => validateWeights(awq, headerStore(floats([])))).not.toThrow();
    const gptq = withQuant({ quant_method: 'gptq', bits: 4 });
    expect(() => validateWeights(gptq, store(nvfp4(OUT, 32, 32)))).toThrow(/says quant_method "gptq".*supported: quant_method "modelopt"/);
    const g32 = withQuant({ quant_method: 'modelopt', quant_algo: 'NVFP4', group_size: 32 });
    expect(() => validateWeights(g32, store(nvfp4(OUT, 32, 32)))).toThrow(/out_proj\.weight: .*says NVFP4 with group_size 32.*supported: group_size 16/);
  });

  it('the config and the stored layout disagreeing on FP8 vs NVFP4 is an error naming the tensor', () => {
    const fp8Config = withQuant({ quant_method: 'modelopt', quant_algo: 'FP8' });
    expect(() => validateWeights(fp8Config, store(nvfp4(OUT, 32, 32)))).toThrow(QuantizedLayoutError);
    expect(() => validateWeights(fp8Config, store(nvfp4(OUT, 32, 32)))).toThrow(/out_proj\.weight: .*quantises backbone\.layers\.0\.mixer\.out_proj as FP8, but it is stored as u8 \(NVFP4\)/);
    const nvConfig = withQuant({ quant_method: 'modelopt', quant_algo: 'NVFP4', group_size: 16 });
    expect(() => validateWeights(nvConfig, store(fp8(OUT, 32, 32)))).toThrow(/as NVFP4, but it is stored as f8_e4m3 \(FP8\)/);
    // excluded by pattern: the stored layout is read as it is
    const excluded = withQuant({ quant_method: 'modelopt', quant_algo: 'NVFP4', ignore: ['backbone.layers.0.*'] });
    expect(validateWeights(excluded, store(fp8(OUT, 32, 32))).get(`${OUT}.weight`)!.dtype).toBe('bf16');
  });

  it("MIXED_PRECISION (Super's NVFP4 release): FP8 and NVFP4 modules side by side, each checked against its own algorithm", () => {
    const mixed = withQuant({
      quant_method: 'modelopt',
      quant_algo: 'MIXED_PRECISION',
      quantized_layers: { [OUT]: { quant_algo: 'FP8' }, [IN]: { quant_algo: 'NVFP4', group_size: 16 } },
    });
    const both = (out: E[], inProj: E[]) => headerStore([...floats([`${OUT}.weight`, `${IN}.weight`]), ...out, ...inProj]);
    const found = validateWeights(mixed, both(fp8(OUT, 32, 32), nvfp4(IN, 74, 32))); // in_proj: 2·32 + 2·4 + 2 rows
    expect([linearWeight(found, `${OUT}.weight`).format, linearWeight(found, `${IN}.weight`).format]).toEqual(['bf16', 'nvfp4']);
    expect(() => validateWeights(mixed, both(nvfp4(OUT, 32, 32), nvfp4(IN, 74, 32)))).toThrow(/out_proj\.weight: .*as FP8, but it is stored as u8 \(NVFP4\)/);
    // a module MIXED_PRECISION does not list is high precision: stored BF16, it loads
    expect(() => validateWeights(mixed, headerStore(floats([])))).not.toThrow();
  });

  it('a float weight with a weight_scale is refused when the config quantises it, read as stored when a pattern excludes it', () => {
    const scaled = headerStore([...floats([]), { name: `${IN}.weight_scale`, dtype: 'f32', shape: [] }]);
    const quantised = withQuant({ quant_method: 'modelopt', quant_algo: 'FP8', ignore: ['lm_head'] });
    expect(() => validateWeights(quantised, scaled)).toThrow(QuantizedLayoutError);
    expect(() => validateWeights(quantised, scaled)).toThrow(/in_proj\.weight: .*quantises backbone\.layers\.0\.mixer\.in_proj as FP8 and .*in_proj\.weight_scale is present, but the weight is stored as bf16/);
    const excluded = withQuant({ quant_method: 'modelopt', quant_algo: 'FP8', ignore: ['*.mixer.in_proj'] });
    expect(validateWeights(excluded, scaled).get(`${IN}.weight`)!.dtype).toBe('bf16');
    // and with no config the float weight is simply float
    expect(validateWeights(C16, scaled).get(`${IN}.weight`)!.dtype).toBe('bf16');
  });
});
