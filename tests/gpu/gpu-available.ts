// Whether this machine has a WebGPU adapter for the webgpu tests (Dawn; on a CPU machine the
// SwiftShader driver of Debian chromium, installed by scripts/install-system-deps.sh). Probed once
// per test file; without an adapter the suites are skipped with the reason printed.

import { describe } from 'vitest';
import type { Backend } from '../../engine/core/backend.js';
import { createWebGpuBackend, probeWebGpu, type GpuOptions } from '../../gpu/index.js';

const probe = await probeWebGpu();
if (!probe.info) console.warn(`webgpu tests skipped: no WebGPU adapter (${probe.reason}); run scripts/install-system-deps.sh`);

/** The probed adapter, or null. */
export const gpuInfo = probe.info;

/**
 * `describe` when an adapter exists, else `describe.skip` (the reason was printed). Typed as what
 * `describe.skipIf` returns, without `.skipIf`/`.runIf`: on a chain vitest's `skipIf` returns the
 * plain, unskipped `describe`; add a condition as `describe.skipIf(!gpuInfo || …)` instead.
 * @example describeWithGpu('webgpu op conformance', () => { … });
 */
export const describeWithGpu = describe.skipIf(!probe.info);

/**
 * The webgpu backend with device options (e.g. a small binding cap to force split weights).
 * @example const backend = gpuBackend({ maxBindingBytes: 4096 });
 */
export function gpuBackend(device: GpuOptions = {}): Backend {
  return createWebGpuBackend({ device });
}
