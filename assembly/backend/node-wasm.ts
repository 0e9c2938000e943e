// Node-only: pick a kernel build and read it from build/ of the package root. Kept apart from the
// driver so the driver runs in a Worker or a browser with a module passed in instead.
// The default build is the best one this engine runs: relaxed SIMD (int8-activation nvfp4 products,
// fp4_i8_relaxed.ts; Node 20 needs V8's --experimental-wasm-relaxed-simd, turned on here before
// the first compile), else SIMD, else scalar. EDGETRON_WASM_BUILD=relaxed|simd|scalar forces one.

import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { join } from 'node:path';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { KERNEL_BUILDS, relaxedSimdSupported, simdSupported, type KernelBuild } from './instantiate.js';
import { packageRoot } from '../../runtime/paths.js';

export type { KernelBuild } from './instantiate.js';

/** The environment variable that forces a kernel build in Node (and the CLI). */
export const BUILD_ENV = 'EDGETRON_WASM_BUILD';

/**
 * Bytes of build/edgetron-<build>.wasm (`shared`: the shared-memory build of the kernel threads,
 * build/edgetron-relaxed-mt.wasm; relaxed only; 'bench': the bench build, bench-kernels.ts).
 * @example const bytes = await readKernelBuild('relaxed');
 */
export async function readKernelBuild(build: KernelBuild | 'bench', shared = false): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await readFile(join(packageRoot(), 'build', `edgetron-${build}${shared ? '-mt' : ''}.wasm`)));
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

function bestSimdBuild(): KernelBuild {
  return enableRelaxedSimd() ? 'relaxed' : 'simd';
}

/**
 * The build to load: `requested`, else $EDGETRON_WASM_BUILD, else the best this engine runs
 * (`simd` false: scalar). A build this engine cannot run is refused with InvalidOptionError.
 * @example nodeKernelBuild(undefined, true); // 'relaxed' in Node 20 (its flag turned on) and later
 */
export function nodeKernelBuild(requested?: KernelBuild, simd?: boolean): KernelBuild {
  const env = process.env[BUILD_ENV];
  const from = requested !== undefined ? 'build' : simd !== false && env ? BUILD_ENV : null;
  const build = requested ?? (from ? env : simd === false ? 'scalar' : simd || simdSupported() ? bestSimdBuild() : 'scalar');
  if (!KERNEL_BUILDS.includes(build as KernelBuild)) throw new InvalidOptionError(from ?? 'build', build, KERNEL_BUILDS.join(', '));
  if (build === 'relaxed' && !enableRelaxedSimd()) throw new InvalidOptionError(from ?? 'build', build, 'simd or scalar: this engine has no relaxed SIMD');
  if (build !== 'scalar' && !simdSupported()) throw new InvalidOptionError(from ?? 'build', build, 'scalar: this engine has no WASM SIMD');
  return build as KernelBuild;
}
