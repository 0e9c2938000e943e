import { describe, expect, it } from 'vitest';
import { parseConfig, type MoeConfig } from '../../../engine/core/config.js';
import type { RefAct } from '../../../engine/reference/act.js';
import { referenceBackend, type ReferenceModel } from '../../../engine/reference/index.js';
import { route } from '../../../engine/reference/moe.js';
import { memoryTensors, randomModelTensors, type MemoryTensor } from '../../helpers/memory-store.js';

// Logits with exact sigmoids: σ(0) = 1/2, σ(ln 3) = 3/4, σ(−ln 3) = 1/4, σ(ln 9) = 9/10
const L3 = Math.log(3);
const L9 = Math.log(9);
const base: MoeConfig = {
  nExperts: 4,
  topK: 2,
  expertDim: 1,
  sharedDim: 1,
  routedScale: 1,
  normTopK: false,
  nGroup: 1,
  topkGroup: 1,
  latentDim: null,
};
const close = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 14));
};

describe('router (spec §8 steps 2–8)', () => {
  const r = [0, L3, -L3, L9]; // s = [0.5, 0.75, 0.25, 0.9]

  it('picks the K largest sigmoid scores, weights = the unbiased scores', () => {
    const { experts, weights } = route(r, [0, 0, 0, 0], base);
    expect(experts).toEqual([3, 1]);
    close(weights, [0.9, 0.75]);
  });

  it('the correction bias changes the selection but not the weights', () => {
    // biased s' = [0.5, 0.75, 0.95, 0.9]: expert 2 now wins, with its unbiased weight 0.25
    const { experts, weights } = route(r, [0, 0, 0.7, 0], base);
    expect(experts).toEqual([2, 3]);
    close(weights, [0.25, 0.9]);
  });

  it('renormalises the K weights (+1e-20) and then scales them', () => {
    const { weights } = route(r, [0, 0, 0.7, 0], { ...base, normTopK: true, routedScale: 2.5 });
    close(weights, [(0.25 / 1.15) * 2.5, (0.9 / 1.15) * 2.5]);
    // scaling without renormalisation
    close(route(r, [0, 0, 0, 0], { ...base, routedScale: 2 }).weights, [1.8, 1.5]);
  });

  it('breaks ties toward the lower expert index', () => {
    expect(route([0, 0, 0, 0], [0, 0, 0, 0], { ...base, topK: 3 }).experts).toEqual([0, 1, 2]);
    // experts 1 and 3 tie on the biased score (0.75 + 0.15 = 0.9 + 0): 1 goes first
    expect(route(r, [0, 0.15, 0, 0], { ...base, topK: 1 }).experts).toEqual([1]);
    expect(route(r, [0, 0.15, 0, 0], base).experts).toEqual([1, 3]);
  });

  it('group-limited routing keeps the topk_group groups by the sum of their top-2 biased scores', () => {
    // all logits 0 (s = 1/2), so the bias alone sets s' = 0.5 + b and every weight is 1/2.
    // groups of 4: group 0 s' = [0.9, 0.1, 0.1, 0.1] (top-2 sum 1.0, max 0.9, total 1.2)
    //              group 1 s' = [0.6, 0.5, 0.0, 0.0] (top-2 sum 1.1, max 0.6, total 1.1)
    const bias = [0.4, -0.4, -0.4, -0.4, 0.1, 0, -0.5, -0.5];
    const cfg = { ...base, nExperts: 8, nGroup: 2, topkGroup: 1 };
    const { experts, weights } = route(new Array(8).fill(0), bias, cfg);
    expect(experts).toEqual([4, 5]); // expert 0 has the best score but its group is dropped
    close(weights, [0.5, 0.5]);
    // without group limiting the best two overall win
    expect(route(new Array(8).fill(0), bias, { ...cfg, nGroup: 1 }).experts).toEqual([0, 4]);
    // keeping both groups is the same as no limit
    expect(route(new Array(8).fill(0), bias, { ...cfg, topkGroup: 2 }).experts).toEqual([0, 4]);
  });

  it('breaks group ties toward the lower group index', () => {
    const cfg = { ...base, nExperts: 4, nGroup: 2, topkGroup: 1, topK: 1 };
    // both groups sum to 1.0; group 0 is kept, so expert 1 (0.6) wins over expert 3 (0.7)
    expect(route([0, 0, 0, 0], [-0.1, 0.1, -0.2, 0.2], cfg).experts).toEqual([1]);
  });
});

const f32 = (shape: number[], values: number[]): MemoryTensor => ({ dtype: 'f32', shape, data: Float32Array.from(values) });

async function load(raw: Record<string, unknown>, overrides: Record<string, MemoryTensor>): Promise<ReferenceModel> {
  const config = parseConfig(raw);
  const tensors = { ...randomModelTensors(config, 1), ...overrides };
  return (await referenceBackend.load(config, memoryTensors(config, tensors))) as ReferenceModel;
}

// d = 2, two experts of width 1, top-1, shared expert of width 1, routed scale 2
const TINY = {
  vocab_size: 4,
  hidden_size: 2,
  hybrid_override_pattern: 'E',
  n_routed_experts: 2,
  num_experts_per_tok: 1,
  moe_intermediate_size: 1,
  moe_shared_expert_intermediate_size: 1,
  routed_scaling_factor: 2,
  norm_topk_prob: true,
};
const pre = 'backbone.layers.0.mixer.';
const ROUTER_AND_SHARED = {
  [`${pre}gate.weight`]: f32([2, 2], [1, 0, 0, 1]), // router logits = u
  [`${pre}gate.e_score_correction_bias`]: f32([2], [0, 0]),
  [`${pre}shared_experts.up_proj.weight`]: f32([1, 2], [1, -1]),
  [`${pre}shared_experts.down_proj.weight`]: f32([2, 1], [1, 0.5]),
};
// one weight renormalised: 2 · σ / (σ + 1e-20) = 2 to 1e-19
const W = 2;

describe('MoE mixer (spec §8)', () => {
  it('routes each token to its expert and adds the shared expert (hand computation)', async () => {
    const model = await load(TINY, {
      ...ROUTER_AND_SHARED,
      [`${pre}experts.0.up_proj.weight`]: f32([1, 2], [1, 1]),
      [`${pre}experts.0.down_proj.weight`]: f32([2, 1], [3, 4]),
      [`${pre}experts.1.up_proj.weight`]: f32([1, 2], [0.5, 0.5]),
      [`${pre}experts.1.down_proj.weight`]: f32([2, 1], [-1, 2]),
    });
    const out = (model.moe(0, model.upload(Float32Array.from([2, -1, -1, 2]), 2, 2)) as RefAct).data;
    // token [2, −1]: logits (2, −1) → expert 0; relu(2 − 1)² = 1 → [3, 4]·W; shared relu(3)² = 9 → [9, 4.5]
    // token [−1, 2]: logits (−1, 2) → expert 1; relu(0.5)² = 0.25 → [−0.25, 0.5]·W; shared relu(−3)² = 0
    const want = [3 * W + 9, 4 * W + 4.5, -0.25 * W, 0.5 * W];
    out.forEach((v, i) => expect(v).toBeCloseTo(want[i], 13));
  });

  it('LatentMoE: experts act on u_ℓ = fc1·u and fc2 maps their sum back (hand computation)', async () => {
    const model = await load(
      { ...TINY, moe_latent_size: 1 },
      {
        ...ROUTER_AND_SHARED,
        [`${pre}fc1_latent_proj.weight`]: f32([1, 2], [1, -1]), // u_ℓ = u0 − u1
        [`${pre}fc2_latent_proj.weight`]: f32([2, 1], [1, 2]),
        [`${pre}experts.0.up_proj.weight`]: f32([1, 1], [2]),
        [`${pre}experts.0.down_proj.weight`]: f32([1, 1], [1]),
        [`${pre}experts.1.up_proj.weight`]: f32([1, 1], [-1]),
        [`${pre}experts.1.down_proj.weight`]: f32([1, 1], [3]),
      },
    );
    const out = (model.moe(0, model.upload(Float32Array.from([2, -1, -1, 2]), 2, 2)) as RefAct).data;
    // token [2, −1]: expert 0 (the router reads the full-width u); u_ℓ = 3 → relu(6)² = 36 → W·36 → fc2 [1, 2]
    // token [−1, 2]: expert 1; u_ℓ = −3 → 3·relu(3)² = 27 → W·27 → fc2 [1, 2]; shared 0
    const want = [36 * W + 9, 72 * W + 4.5, 27 * W, 54 * W];
    out.forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
  });

  it('reads only the routed experts: load() reads nothing, a token reads its K experts', async () => {
    const config = parseConfig({ ...TINY, n_routed_experts: 16, num_experts_per_tok: 3, moe_intermediate_size: 4 });
    const model = (await referenceBackend.load(config, memoryTensors(config, randomModelTensors(config, 5, { linearDType: 'bf16' })))) as ReferenceModel;
    expect(model.weightBytes()).toBe(0);
    model.moe(0, model.upload(Float32Array.from([0.3, -0.7]), 1, 2));
    const read = [...Array(16).keys()].filter((e) => model.tensors.isResident(`${pre}experts.${e}.up_proj.weight`));
    expect(read.length).toBe(3);
    for (const e of read) expect(model.tensors.isResident(`${pre}experts.${e}.down_proj.weight`)).toBe(true);
    // 3 experts × (up + down) × 4·2 bf16, the shared expert (2 × 1·2 bf16), the router (16·2 bf16 + 16 f32)
    expect(model.weightBytes()).toBe(3 * 2 * 8 * 2 + 2 * 2 * 2 + 16 * 2 * 2 + 16 * 4);
  });
});
