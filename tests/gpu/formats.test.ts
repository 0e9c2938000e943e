// The webgpu backend on every linear-weight format and under a small binding limit, against the
// `reference` backend (format-rows.ts): f16 (the shader-f16 decoder where the adapter has the
// feature, and the unpack2x16float decoder always), nvfp4 and nvfp4-s24. With `maxBindingBytes`
// 4096 the embedding, the head and the expert stacks are split into parts (whole experts per
// part). Where the adapter has subgroups, plain projections use matmul_subgroup.wgsl; the
// `no subgroups` rows cover the fallback.

import { expect, test } from 'vitest';
import { OutOfMemoryError } from '../../engine/errors.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';
import { config, describeFormatVariants, type Variant } from './format-rows.js';
import { describeWithGpu, gpuBackend, gpuInfo } from './gpu-available.js';

const VARIANTS: Variant[] = [
  { format: 'f16', label: `f16, shader-f16 decoder${gpuInfo?.nativeF16 ? '' : ' (not offered by this adapter: unpack2x16float decoder)'}`, backend: () => gpuBackend() },
  { format: 'f16', label: 'f16, unpack2x16float decoder', backend: () => gpuBackend({ disableF16: true }) },
  { format: 'f16', label: 'f16, split at 4096-byte bindings', backend: () => gpuBackend({ maxBindingBytes: 4096, disableF16: true }) },
  { format: 'nvfp4', label: 'nvfp4', backend: () => gpuBackend() },
  { format: 'nvfp4', label: 'nvfp4, split at 4096-byte bindings', backend: () => gpuBackend({ maxBindingBytes: 4096 }) },
  { format: 'nvfp4-s24', label: 'nvfp4-s24', backend: () => gpuBackend() },
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
