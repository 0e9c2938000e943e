// Node-only: the bench build of the kernels (assembly/kernels/bench.ts, build/edgetron-bench.wasm,
// SIMD): the shipped kernels plus the 4-bit variants the backend does not use (f32 FMA, q8,
// nvfp4-s24 q16), for bench/ and the kernel tests that hold those variants to their error bounds.
// No backend loads it.

import { instantiateKernels, type KernelExports, type WasmKernels } from './instantiate.js';
import { readKernelBuild } from './node-wasm.js';

type Ptr = number;

/** The bench build's exports: KernelExports and the 4-bit variants (assembly/kernels/bench.ts). */
export interface BenchKernelExports extends KernelExports {
  /** f32 FMA, nvfp4 (nvfp4_matmul.ts). */
  nvfp4_matvec(x: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, K: number, N: number): void;
  nvfp4_matvec_scalar(x: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, K: number, N: number): void;
  nvfp4_matmul(x: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  nvfp4_matmul_scalar(x: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  /** f32 FMA, nvfp4-s24 (nvfp4s24_matmul.ts). */
  nvfp4s24_matvec(x: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, K: number, N: number): void;
  nvfp4s24_matvec_scalar(x: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, K: number, N: number): void;
  nvfp4s24_matmul(x: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  nvfp4s24_matmul_scalar(x: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  /** int8 activations, integer dot (fp4_q8_matvec.ts). */
  q8_scratch_bytes(K: number): number;
  nvfp4_matvec_q8(x: Ptr, scratch: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, K: number, N: number): void;
  nvfp4s24_matvec_q8(x: Ptr, scratch: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, K: number, N: number): void;
  /** int16 activations, nvfp4-s24 weights spread to their positions (fp4_q16_matvec.ts, F = u16). */
  nvfp4s24_matmul_q16(x: Ptr, scratch: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  nvfp4s24_matmul_q16_scalar(x: Ptr, scratch: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
}

/** An instance of the bench build. */
export type BenchKernels = WasmKernels<BenchKernelExports>;

/**
 * Instantiate build/edgetron-bench.wasm over a new memory (`npm run build:wasm` builds it).
 * @example const { exports: e, heap } = await loadBenchKernels(); e.nvfp4_matvec_q8(x, scratch, codes, scales, 1, y, K, N);
 */
export async function loadBenchKernels(): Promise<BenchKernels> {
  return (await instantiateKernels(await readKernelBuild('bench'), true)) as BenchKernels;
}
