// The webgpu backend on the weight paths the op table (ops.test.ts: f32, bf16, nvfp4, nvfp4-s24)
// does not reach, against the `reference` backend (format-rows.ts): f16 with the unpack2x16float
// decoder (the shader-f16 decoder runs in f16.test.ts, on lavapipe), weights split into parts at
// 4096-byte bindings (the embedding, the head, and expert stacks at whole experts), and the
// matmul.wgsl fallback where the adapter has subgroups (`no subgroups`).

import { expect, test } from 'vitest';
import { OutOfMemoryError } from '../../engine/core/errors.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';
import { config, describeFormatVariants, type Variant } from './format-rows.js';
import { describeWithGpu, gpuBackend } from './gpu-available.js';

const VARIANTS: Variant[] = [
  { format: 'f16', label: 'f16, unpack2x16float decoder', backend: () => gpuBackend({ disableF16: true }) },
  { format: 'f16', label: 'f16, split at 4096-byte bindings', backend: () => gpuBackend({ maxBindingBytes: 4096, disableF16: true }) },
  { format: 'nvfp4', label: 'nvfp4, split at 4096-byte bindings', backend: () => gpuBackend({ maxBindingBytes: 4096 }) },
  { format: 'f16', label: 'f16, no subgroups (matmul.wgsl for every projection)', backend: () => gpuBackend({ disableSubgroups: true, disableF16: true }) },
  { format: 'nvfp4-s24', label: 'nvfp4-s24, no subgroups', backend: () => gpuBackend({ disableSubgroups: true }) },
];

describeFormatVariants(describeWithGpu, VARIANTS);

describeWithGpu('webgpu load limits', () => {
  test('a weight row block larger than one binding is refused with OutOfMemoryError', async () => {
    // f32 experts: up_proj is 32 rows × 256 bytes = 8 KiB, and experts are never split
    const tensors = memoryTensors(config, randomModelTensors(config, 17));
    await expect(gpuBackend({ maxBindingBytes: 4096 }).load(config, tensors)).rejects.toBeInstanceOf(OutOfMemoryError);
  });
});
