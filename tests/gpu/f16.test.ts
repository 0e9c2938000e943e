// The "with f16" half of the webgpu conformance: Dawn on Mesa 25 lavapipe (a CPU Vulkan driver
// that offers shader-f16; unpacked into .cache/lavapipe by scripts/install-system-deps.sh). This
// file's process points VK_ICD_FILENAMES at it before any device starts, then runs the op table
// (tests/conformance/ops-rows.ts) and the f16 rows of format-rows.ts with the shader-f16 decoder
// (weights_f16_native.wgsl). The half without f16 is ops.test.ts / formats.test.ts on SwiftShader.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { describeOpRows } from '../conformance/ops-rows.js';
import { describeFormatVariants } from './format-rows.js';

const LAVAPIPE = fileURLToPath(new URL('../../.cache/lavapipe/lvp_icd.json', import.meta.url));
const present = existsSync(LAVAPIPE);
if (present) process.env.VK_ICD_FILENAMES = LAVAPIPE;
else console.warn(`f16 webgpu tests skipped: ${LAVAPIPE} is missing; run scripts/install-system-deps.sh`);
const { gpuBackend, gpuInfo } = await import('./gpu-available.js'); // probes with the variable set

// skipped without lavapipe, and without an adapter on it (no Vulkan loader: libvulkan1)
describe.skipIf(!present || !gpuInfo)('webgpu on lavapipe (shader-f16)', () => {
  test('the adapter is lavapipe and the device uses shader-f16', () => {
    expect(gpuInfo?.adapter).toMatch(/llvmpipe/);
    expect(gpuInfo?.nativeF16).toBe(true);
  });
  describeOpRows([gpuBackend()]);
  describeFormatVariants(describe, [{ format: 'f16', label: 'f16, shader-f16 decoder', backend: () => gpuBackend() }]);
});
