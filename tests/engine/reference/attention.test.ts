import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../engine/core/config.js';
import { ContextWindowExceededError } from '../../../engine/core/errors.js';
import type { RefAct } from '../../../engine/reference/act.js';
import { referenceBackend, type ReferenceModel } from '../../../engine/reference/index.js';
import { memoryTensors, randomModelTensors, type MemoryTensor } from '../../helpers/memory-store.js';

const f32 = (shape: number[], values: number[]): MemoryTensor => ({ dtype: 'f32', shape, data: Float32Array.from(values) });

// d = 2; 4 query heads and 2 kv heads of width hd = 1, so the scale 1/√hd is 1.
// Query heads 0, 1 read kv head 0; heads 2, 3 read kv head 1.
const CONFIG = parseConfig({
  vocab_size: 4,
  hidden_size: 2,
  hybrid_override_pattern: '*',
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 1,
});
const pre = 'backbone.layers.0.mixer.';
const WEIGHTS = {
  [`${pre}q_proj.weight`]: f32([4, 2], [1, 0, 0, 1, 2, 0, 0, -1]), // q = [u0, u1, 2·u0, −u1]
  [`${pre}k_proj.weight`]: f32([2, 2], [1, 2, 1, -1]), // k = [u0 + 2·u1, u0 − u1]
  [`${pre}v_proj.weight`]: f32([2, 2], [1, 2, 3, -1]), // v = [u0 + 2·u1, 3·u0 − u1]
  [`${pre}o_proj.weight`]: f32([2, 4], [1, 0.5, 0, 2, 0, 1, -1, 0]), // out = [o0 + o1/2 + 2·o3, o1 − o2]
};

async function load(): Promise<ReferenceModel> {
  const tensors = { ...randomModelTensors(CONFIG, 1), ...WEIGHTS };
  return (await referenceBackend.load(CONFIG, memoryTensors(CONFIG, tensors))) as ReferenceModel;
}

// Tokens u = [1, 0] then [0, 1]:
//   token 0: k = [1, 1], v = [1, 3]; one key, so o = [1, 1, 3, 3]
//   token 1: q = [0, 1, 0, −1], k = [2, −1], v = [2, −1]
//     head 0 (kv 0): scores [0·1, 0·2] = [0, 0]      → o = (1 + 2)/2
//     head 1 (kv 0): scores [1·1, 1·2] = [1, 2]      → o = (e·1 + e²·2)/(e + e²)
//     head 2 (kv 1): scores [0, 0]                   → o = (3 + −1)/2
//     head 3 (kv 1): scores [−1·1, −1·−1] = [−1, 1]  → o = (e⁻¹·3 + e·−1)/(e⁻¹ + e)
const e = Math.E;
const O0 = [1, 1, 3, 3];
const O1 = [1.5, (e + 2 * e * e) / (e + e * e), 1, (3 / e - e) / (1 / e + e)];
const project = (o: number[]) => [o[0] + 0.5 * o[1] + 2 * o[3], o[1] - o[2]];

describe('attention (spec §7): NoPE, causal, GQA', () => {
  it('two tokens at once match the hand computation', async () => {
    const model = await load();
    const seq = model.newSequence(4);
    const out = (model.attention(0, model.upload(Float32Array.from([1, 0, 0, 1]), 2, 2), seq) as RefAct).data;
    const want = [...project(O0), ...project(O1)];
    out.forEach((v, i) => expect(v).toBeCloseTo(want[i], 14));
  });

  it('the same tokens one at a time through the KV cache give the same rows', async () => {
    const model = await load();
    const seq = model.newSequence(4);
    const first = (model.attention(0, model.upload(Float32Array.from([1, 0]), 1, 2), seq) as RefAct).data;
    seq.advance(1);
    const second = (model.attention(0, model.upload(Float32Array.from([0, 1]), 1, 2), seq) as RefAct).data;
    [...first, ...second].forEach((v, i) => expect(v).toBeCloseTo([...project(O0), ...project(O1)][i], 14));
  });

  it('refuses to write past the KV capacity', async () => {
    const model = await load();
    const seq = model.newSequence(1);
    expect(() => model.attention(0, model.upload(Float32Array.from([1, 0, 0, 1]), 2, 2), seq)).toThrow(ContextWindowExceededError);
  });
});
