// Node-only: read the kernel builds from build/ of the package root. Kept apart from the driver
// so the driver runs in a Worker or a browser with a module passed in instead.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../weights-tools/checkpoint.js';

/**
 * Bytes of build/edgetron-simd.wasm (simd) or build/edgetron-scalar.wasm.
 * @example const bytes = await readKernelWasm(simdSupported());
 */
export async function readKernelWasm(simd: boolean): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await readFile(join(packageRoot(), 'build', simd ? 'edgetron-simd.wasm' : 'edgetron-scalar.wasm')));
}
