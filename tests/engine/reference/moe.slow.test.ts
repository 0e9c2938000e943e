import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../engine/core/config.js';
import type { RefAct } from '../../../engine/reference/act.js';
import { referenceBackend, type ReferenceModel } from '../../../engine/reference/index.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

const pre = 'backbone.layers.0.mixer.';

// Slow (~10–30 s on 2 shared cores): generating and multiplying ~80M bf16 weights.
describe('MoE mixer at Nano size (spec §2, §8)', () => {
  it('reads only the routed experts of a Nano-sized layer (128 bf16 experts of [1856, 2688])', async () => {
    // spec §2: Nano's MoE shapes; vocabulary cut to 8 to keep the embedding small
    const config = parseConfig({
      vocab_size: 8,
      hidden_size: 2688,
      hybrid_override_pattern: 'E',
      n_routed_experts: 128,
      num_experts_per_tok: 6,
      moe_intermediate_size: 1856,
      moe_shared_expert_intermediate_size: 3712,
      routed_scaling_factor: 2.5,
      norm_topk_prob: true,
    });
    const tensors = randomModelTensors(config, 3, { linearDType: 'bf16' });
    const model = (await referenceBackend.load(config, memoryTensors(config, tensors))) as ReferenceModel;
    expect(model.weightBytes()).toBe(0); // load() read nothing
    const u = model.upload(Float32Array.from({ length: 2688 }, (_, i) => Math.sin(i)), 1, 2688);
    const out = model.moe(0, u) as RefAct;
    expect(out.cols).toBe(2688);
    expect(out.data.every(Number.isFinite)).toBe(true);
    const read = [...Array(128).keys()].filter((e) => model.tensors.isResident(`${pre}experts.${e}.up_proj.weight`));
    expect(read.length).toBe(6);
    for (const e of read) expect(model.tensors.isResident(`${pre}experts.${e}.down_proj.weight`)).toBe(true);
    // resident: the 6 routed experts (up + down), the shared expert, the router and its bias
    const expert = 2 * 1856 * 2688 * 2;
    const shared = 2 * 3712 * 2688 * 2;
    expect(model.weightBytes()).toBe(6 * expert + shared + 128 * 2688 * 2 + 128 * 4);
  });
});
