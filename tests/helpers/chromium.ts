// Headless Chromium for the browser tests: Debian's chromium (scripts/install-system-deps.sh)
// through playwright-core, with WebGPU enabled (SwiftShader or lavapipe on a machine without a
// GPU). Suites skip, with the reason printed, where the binary is missing.

import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { describe } from 'vitest';

/** Debian's chromium. */
export const CHROMIUM = '/usr/bin/chromium';
/** WebGPU is behind a flag on Linux. */
export const CHROMIUM_ARGS = ['--enable-unsafe-webgpu'];

const present = existsSync(CHROMIUM);
if (!present) console.warn(`browser tests skipped: ${CHROMIUM} is missing; run scripts/install-system-deps.sh`);

/**
 * `describe` where chromium is installed, else `describe.skip` (the reason was printed); like
 * describeWithGpu (tests/gpu/gpu-available.ts) it has no `.skipIf`, which would drop the skip.
 * @example describeWithChromium('webgpu in headless Chromium', () => { … });
 */
export const describeWithChromium = describe.skipIf(!present);

/**
 * Start headless chromium with WebGPU.
 * @example const browser = await launchChromium(); … await browser.close();
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
