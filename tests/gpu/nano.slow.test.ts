// The Nano-dimension conformance rows (tests/conformance/nano-layers.ts: Mamba-2, attention and
// MoE layers at d 2688, bf16) on the webgpu backend against the reference. Slow on SwiftShader.

import { describeNanoRows, FAST_ROWS } from '../conformance/nano-layers.js';
import { describeWithGpu, gpuBackend } from './gpu-available.js';

describeWithGpu('webgpu at Nano layer shapes', () => {
  describeNanoRows(FAST_ROWS, [gpuBackend()]);
});
