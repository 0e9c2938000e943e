// split-tables.test.ts at the real size: the Nano 4B's tables (spec §18: V 131072, d 3136, untied),
// bf16 as NVIDIA ships them (822 MB each), on the webgpu backend with bindings capped at 128 MiB
// (WebGPU's default maxStorageBufferBindingSize: 7 parts of ≤ 21399 rows) and 1024 workgroups a
// dimension (the head's parts go out in blocks of columns), against the reference backend on the
// first layer of the model. Checked: the device holds every tensor at its stored size (the tables
// at 2 bytes an element, at most 16 bytes of padding per buffer), the embedding rows of the first,
// a middle and the last token exactly, and two rows of the head within tolPath(d). About 3 minutes
// on SwiftShader.

import { expect, test } from 'vitest';
import { parseConfig } from '../../engine/core/config.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { presetConfig, truncateLayers } from '../../weights-tools/presets.js';
import { expectNormwiseClose, tolPath, uploadRandom } from '../conformance/harness.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';
import { describeWithGpu, gpuBackend } from './gpu-available.js';

describeWithGpu('webgpu with the Nano 4B tables above one binding', () => {
  test('bf16 embedding and head (131072, 3136) at 128 MiB bindings: resident at 2 bytes an element; rows and logits as the reference', async () => {
    const config = parseConfig(truncateLayers(presetConfig('nano-4b'), 1));
    const { vocabSize: V, dModel: d } = config;
    expect([V, d, config.tieEmbeddings]).toEqual([131072, 3136, false]);
    const tensors = memoryTensors(config, randomModelTensors(config, 3, { linearDType: 'bf16' }));
    expect([tensors.get('backbone.embeddings.weight')!.byteLength, tensors.get('lm_head.weight')!.byteLength]).toEqual([V * d * 2, V * d * 2]);
    const ref = await referenceBackend.load(config, tensors);
    const gpu = await gpuBackend({ maxBindingBytes: 128 << 20, maxWorkgroups: 1024 }).load(config, tensors);
    try {
      const stored = [...tensors.values()].reduce((n, e) => n + e.byteLength, 0); // linears as stored, vectors f32
      expect(gpu.weightBytes()).toBeGreaterThanOrEqual(stored);
      expect(gpu.weightBytes()).toBeLessThan(stored + 16 * (tensors.size + 2 * 7));
      const tokens = new Int32Array([0, 65535, V - 1]);
      const [x, y] = [gpu.embed(tokens), ref.embed(tokens)];
      expect(gpu.download(x)).toEqual(ref.download(y));
      gpu.free(x);
      const [a, b] = [uploadRandom(gpu, 2, 7), uploadRandom(ref, 2, 7)];
      expectNormwiseClose([gpu.head(a)], [ref.head(b)], tolPath(d));
    } finally {
      gpu.dispose();
    }
  }, 1_200_000);
});
