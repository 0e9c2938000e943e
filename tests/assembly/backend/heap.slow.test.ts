// Large memory on the wasm backend (`npm run test:slow`): AssemblyScript's 1 GiB per-allocation
// cap does not apply because JS owns the memory. A model whose embedding and head are each
// > 1 GiB of f32 loads, and the head (whose rows span 2³¹) runs and matches the reference; kernels
// also run on pointers ≥ 2³¹ directly.

import { expect, test } from 'vitest';
import { loadKernels, wasmBackend } from '../../../assembly/backend/index.js';
import { parseConfig } from '../../../engine/core/config.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';
import { expectNormwiseClose, randomRows, tolPath } from '../../conformance/harness.js';
import { tiledRows } from '../../conformance/nano-layers.js';

const GiB = 2 ** 30;

test('kernels run on pointers ≥ 2³¹ after the memory grew past 2 GiB', async () => {
  const { heap, exports: k } = await loadKernels({ simd: true });
  heap.alloc(2 * GiB + 4096); // filler: what follows lives above 2³¹
  const [K, N] = [1000, 3];
  const x = heap.alloc(K * 4);
  const w = heap.alloc(N * K * 4);
  const y = heap.alloc(N * 4);
  expect(x).toBeGreaterThanOrEqual(2 ** 31);
  heap.f32(x, K).fill(0.5);
  heap.f32(w, N * K).set(Float32Array.from({ length: N * K }, (_, i) => Math.floor(i / K) + 1));
  k.f32_matvec(x, w, y, K, N);
  expect([...heap.f32(y, N)]).toEqual([500, 1000, 1500]);
  expect(k.f32_sum_probe(w, N * K)).toBe(6000);
});

test('one weight tensor > 1 GiB loads, and the head spanning 2³¹ runs (vocab 110000 × d 2688, f32)', async () => {
  const config = parseConfig({ ...presetConfig('tiny'), hidden_size: 2688, hybrid_override_pattern: '-', num_hidden_layers: 1, vocab_size: 110000, intermediate_size: 64 });
  const d = config.dModel;
  expect(config.vocabSize * d * 4).toBeGreaterThan(GiB);
  const tensors = { ...randomModelTensors(config, 3) };
  const pool = randomRows(4096 + 1, d, 11);
  for (const [name, salt] of [['backbone.embeddings.weight', 0], ['lm_head.weight', 1]] as const) {
    tensors[name] = { dtype: 'f32', shape: [config.vocabSize, d], data: tiledRows(pool, new Float32Array(config.vocabSize * d), d, salt) };
  }
  const entries = memoryTensors(config, tensors);
  const wasm = await wasmBackend.load(config, entries);
  expect(wasm.weightBytes()).toBeGreaterThan(2 * GiB);
  const ref = await referenceBackend.load(config, entries);
  const tokens = new Int32Array([0, 109999, 54321]);
  const emb = [wasm, ref].map((m) => m.download(m.embed(tokens)));
  expect(emb[0]).toEqual(emb[1]);
  const h = randomRows(2, d, 12);
  const logits = [wasm, ref].map((m) => m.head(m.upload(h, 2, d)));
  expectNormwiseClose([logits[0]], [logits[1]], tolPath(d));
});
