// The conformance table (tests/conformance/ops-rows.ts) on the webgpu backend against the
// `reference` backend, on whatever adapter Dawn finds (on a CPU machine: SwiftShader from Debian
// chromium, see scripts/install-system-deps.sh). Metric and tolerance rule:
// tests/conformance/harness.ts.

import { describeOpRows } from '../conformance/ops-rows.js';
import { describeWithGpu, gpuBackend } from './gpu-available.js';

describeWithGpu('webgpu op conformance', () => {
  describeOpRows([gpuBackend()]);
});
