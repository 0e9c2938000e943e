// Node-only: read the kernel builds from build/ of the package root. Kept apart from the driver
// so the driver runs in a Worker or a browser with a module passed in instead.

import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { join } from 'node:path';
import { packageRoot } from '../../weights-tools/checkpoint.js';
import { relaxedSimdSupported } from './instantiate.js';

/** The three kernel builds of `npm run build:wasm`. */
export type KernelBuild = 'relaxed' | 'simd' | 'scalar';

/**
 * Bytes of build/edgetron-<build>.wasm.
 * @example const bytes = await readKernelBuild('relaxed');
 */
export async function readKernelBuild(build: KernelBuild): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await readFile(join(packageRoot(), 'build', `edgetron-${build}.wasm`)));
}

/**
 * Bytes of the SIMD build (simd) or of the scalar build. The relaxed-SIMD build is opt-in
 * (readKernelBuild('relaxed')): its int8 nvfp4 decode rounds activations differently from the
 * int16 prefill, so a token decoded alone and the same token in a multi-token pass (speculative
 * verification) would not get the same logits.
 * @example const bytes = await readKernelWasm(simdSupported());
 */
export async function readKernelWasm(simd: boolean): Promise<Uint8Array<ArrayBuffer>> {
  return readKernelBuild(simd ? 'simd' : 'scalar');
}

/**
 * Turn on relaxed SIMD in this Node 20 process (V8 11.3 has it behind a flag; Node ≥ 22 by
 * default); it takes effect for modules compiled afterwards. Returns whether it is on now.
 * @example if (enableRelaxedSimd()) kernels = await instantiateKernels(await readKernelBuild('relaxed'), true);
 */
export function enableRelaxedSimd(): boolean {
  if (!relaxedSimdSupported()) setFlagsFromString('--experimental-wasm-relaxed-simd');
  return relaxedSimdSupported();
}
