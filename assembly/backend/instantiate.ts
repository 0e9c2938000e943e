// Instantiating the kernel module (assembly/kernels, built by `npm run build:wasm`) over a fresh
// memory owned by a Heap. Works anywhere WebAssembly does (Node, a Worker, a browser): the caller
// passes the wasm bytes or a compiled WebAssembly.Module; reading build/*.wasm from disk is in
// node-wasm.ts so this file has no Node dependency.

import { Heap, MAX_PAGES } from './heap.js';

type Ptr = number;

/** The raw exports of the shipped kernel builds (assembly/kernels/index.ts); every pointer is a byte address. The bench build's: bench-kernels.ts. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  f32_matvec(x: Ptr, w: Ptr, y: Ptr, K: number, N: number): void;
  f32_matvec_scalar(x: Ptr, w: Ptr, y: Ptr, K: number, N: number): void;
  bf16_matvec(x: Ptr, w: Ptr, y: Ptr, K: number, N: number): void;
  bf16_matvec_scalar(x: Ptr, w: Ptr, y: Ptr, K: number, N: number): void;
  f32_matmul(x: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  f32_matmul_scalar(x: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  bf16_matmul(x: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  bf16_matmul_scalar(x: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  /** W(N, K) in ggml blocks as a GGUF stores them (ggml_blocks.ts): Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (K % 32 = 0), Q4_K, Q5_K, Q6_K (K % 256 = 0); scratch: K f32. */
  ggml_q8_0_matmul(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q8_0_matmul_scalar(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q4_0_matmul(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q4_0_matmul_scalar(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q4_k_matmul(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q4_k_matmul_scalar(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q5_k_matmul(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q5_k_matmul_scalar(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q6_k_matmul(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q6_k_matmul_scalar(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q4_1_matmul(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q4_1_matmul_scalar(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q5_0_matmul(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q5_0_matmul_scalar(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q5_1_matmul(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  ggml_q5_1_matmul_scalar(x: Ptr, scratch: Ptr, w: Ptr, y: Ptr, T: number, K: number, N: number): void;
  q16_scratch_bytes(K: number): number;
  i8_scratch_bytes(K: number): number;
  relaxed_simd(): number;
  nvfp4_matmul_i8(x: Ptr, scratch: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  nvfp4_matmul_i8_scalar(x: Ptr, scratch: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  /** nvfp4 weights in the rows4 layout (fp4_rows4.ts), relaxed-SIMD build: one buffer `w` of N·K/2 + N·K/16 bytes. */
  nvfp4_matmul_i8_rows4(x: Ptr, scratch: Ptr, w: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  nvfp4_matmul_q16(x: Ptr, scratch: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  /** nvfp4 weights in the rows4 layout (fp4_rows4.ts, SIMD build): one buffer `w` of N·K/2 + N·K/16 bytes. */
  nvfp4_matmul_q16_rows4(x: Ptr, scratch: Ptr, w: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  /** Whether this build's kernels take an nvfp4 weight (N, K) in rows4 (0 / 1). */
  rows4_supported(K: number, N: number): number;
  /** Packs and returns 1, or returns 0 (dst untouched) when a scale byte is negative or NaN. */
  nvfp4_pack_rows4(codes: Ptr, scales: Ptr, dst: Ptr, K: number, N: number): number;
  nvfp4_matmul_q16_scalar(x: Ptr, scratch: Ptr, codes: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  gather_scratch_bytes(K: number): number;
  nvfp4s24_matmul_gather(x: Ptr, scratch: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  nvfp4s24_matmul_gather_scalar(x: Ptr, scratch: Ptr, codes: Ptr, positions: Ptr, scales: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  /** Packs nvfp4-s24 weights to rows4 (nvfp4s24_gather.ts) and returns 1, or returns 0 (dst untouched) when a scale byte is negative or NaN. */
  nvfp4s24_pack_rows4(codes: Ptr, positions: Ptr, scales: Ptr, dst: Ptr, K: number, N: number): number;
  nvfp4s24_matmul_gather_rows4(x: Ptr, scratch: Ptr, w: Ptr, scale2: number, y: Ptr, T: number, K: number, N: number): void;
  f32_add(x: Ptr, y: Ptr, n: number): void;
  f32_add_scalar(x: Ptr, y: Ptr, n: number): void;
  f32_relu2(x: Ptr, n: number): void;
  f32_relu2_scalar(x: Ptr, n: number): void;
  f32_axpy(a: number, x: Ptr, y: Ptr, n: number): void;
  f32_axpy_scalar(a: number, x: Ptr, y: Ptr, n: number): void;
  bf16_to_f32(x: Ptr, y: Ptr, n: number): void;
  bf16_to_f32_scalar(x: Ptr, y: Ptr, n: number): void;
  /** y(n) bf16 ← x(n) f32, nearest even (the attention cache in 16 bits). */
  f32_to_bf16(x: Ptr, y: Ptr, n: number): void;
  f32_to_bf16_scalar(x: Ptr, y: Ptr, n: number): void;
  f32_rmsnorm(x: Ptr, w: Ptr, y: Ptr, T: number, d: number, eps: number): void;
  f32_rmsnorm_scalar(x: Ptr, w: Ptr, y: Ptr, T: number, d: number, eps: number): void;
  f32_gated_rmsnorm(y: Ptr, z: Ptr, zStride: number, w: Ptr, out: Ptr, T: number, dInner: number, groupSize: number, eps: number): void;
  f32_gated_rmsnorm_scalar(y: Ptr, z: Ptr, zStride: number, w: Ptr, out: Ptr, T: number, dInner: number, groupSize: number, eps: number): void;
  f32_conv1d_silu(x: Ptr, xStride: number, window: Ptr, wT: Ptr, bias: Ptr, y: Ptr, T: number, C: number, K: number): void;
  f32_conv1d_silu_scalar(x: Ptr, xStride: number, window: Ptr, wT: Ptr, bias: Ptr, y: Ptr, T: number, C: number, K: number): void;
  f32_ssd_step(
    x: Ptr, B: Ptr, C: Ptr, dt: Ptr, dtBias: Ptr, A: Ptr, D: Ptr, state: Ptr, y: Ptr, H: number, P: number, G: number, N: number,
  ): void;
  f32_ssd_step_scalar(
    x: Ptr, B: Ptr, C: Ptr, dt: Ptr, dtBias: Ptr, A: Ptr, D: Ptr, state: Ptr, y: Ptr, H: number, P: number, G: number, N: number,
  ): void;
  f32_ssd_chunked(
    x: Ptr, B: Ptr, C: Ptr, xStride: number, dt: Ptr, dtStride: number, dtBias: Ptr, A: Ptr, D: Ptr, state: Ptr, y: Ptr,
    T: number, H: number, P: number, G: number, N: number, Q: number, scratch: Ptr,
  ): void;
  f32_ssd_chunked_scalar(
    x: Ptr, B: Ptr, C: Ptr, xStride: number, dt: Ptr, dtStride: number, dtBias: Ptr, A: Ptr, D: Ptr, state: Ptr, y: Ptr,
    T: number, H: number, P: number, G: number, N: number, Q: number, scratch: Ptr,
  ): void;
  f32_ssd_chunked_scratch_bytes(Q: number, P: number, N: number): number;
  f32_attention(
    q: Ptr, kc: Ptr, vc: Ptr, y: Ptr, T: number, pos0: number, nHeads: number, nKvHeads: number, hd: number, scale: number, scores: Ptr,
  ): void;
  f32_attention_scalar(
    q: Ptr, kc: Ptr, vc: Ptr, y: Ptr, T: number, pos0: number, nHeads: number, nKvHeads: number, hd: number, scale: number, scores: Ptr,
  ): void;
  /** f32_attention over bf16 caches. */
  bf16_attention(
    q: Ptr, kc: Ptr, vc: Ptr, y: Ptr, T: number, pos0: number, nHeads: number, nKvHeads: number, hd: number, scale: number, scores: Ptr,
  ): void;
  bf16_attention_scalar(
    q: Ptr, kc: Ptr, vc: Ptr, y: Ptr, T: number, pos0: number, nHeads: number, nKvHeads: number, hd: number, scale: number, scores: Ptr,
  ): void;
  f32_moe_route(
    logits: Ptr, bias: Ptr, idx: Ptr, wts: Ptr, T: number, E: number, K: number, nGroup: number, topkGroup: number,
    routedScale: number, normTopK: number, scratch: Ptr,
  ): void;
  f32_moe_route_scratch_bytes(E: number, nGroup: number): number;
  f32_gather_rows(src: Ptr, cols: number, idx: Ptr, n: number, dst: Ptr): void;
  f32_scatter_add_rows(src: Ptr, cols: number, idx: Ptr, wts: Ptr, n: number, dst: Ptr): void;
  f32_scatter_add_rows_scalar(src: Ptr, cols: number, idx: Ptr, wts: Ptr, n: number, dst: Ptr): void;
  f32_sum_probe(p: Ptr, n: number): number;
  f32_sum_probe_scalar(p: Ptr, n: number): number;
}

/** The three kernel builds of `npm run build:wasm`, best first: build/edgetron-<build>.wasm. */
export const KERNEL_BUILDS = ['relaxed', 'simd', 'scalar'] as const;
export type KernelBuild = (typeof KERNEL_BUILDS)[number];

/** An instantiated kernel module with the heap that owns its memory (E: its exports; the bench build's are wider). */
export interface WasmKernels<E extends KernelExports = KernelExports> {
  /** Whether this is a SIMD build (the SIMD or the relaxed-SIMD one). */
  readonly simd: boolean;
  /** Whether this is the relaxed-SIMD build (build/edgetron-relaxed.wasm): int8-activation nvfp4 products. */
  readonly relaxed: boolean;
  /** Which build this is: relaxed, simd or scalar. */
  readonly build: KernelBuild;
  readonly heap: Heap;
  readonly exports: E;
  /** The compiled module (kernel threads instantiate it again over the same memory). */
  readonly module: WebAssembly.Module;
}

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)): validates only where
// fixed-width SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () → v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b, // code: i32.const 0; i8x16.splat; i8x16.popcnt
]);

/**
 * Whether this engine runs WebAssembly fixed-width SIMD.
 * @example const file = simdSupported() ? 'edgetron-simd.wasm' : 'edgetron-scalar.wasm';
 */
export function simdSupported(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

// (module (func (result v128) i32.const 0 i8x16.splat i32.const 0 i8x16.splat i8x16.relaxed_swizzle)):
// validates only where relaxed SIMD is supported (Chromium ≥ 114, Node ≥ 22 and workerd; Node 20
// behind --experimental-wasm-relaxed-simd).
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () → v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0f, 0x01, 0x0d, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x80, 0x02, 0x0b, // code: …; i8x16.relaxed_swizzle
]);

/**
 * Whether this engine runs WebAssembly relaxed SIMD.
 * @example const file = relaxedSimdSupported() ? 'edgetron-relaxed.wasm' : 'edgetron-simd.wasm';
 */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

/**
 * The best kernel build this engine validates (Worker and browser: the module to fetch or import;
 * Node 20 validates relaxed SIMD only once node-wasm.ts has turned its flag on).
 * @example const file = `edgetron-${bestKernelBuild()}.wasm`;
 */
export function bestKernelBuild(): KernelBuild {
  return relaxedSimdSupported() ? 'relaxed' : simdSupported() ? 'simd' : 'scalar';
}

/**
 * Instantiate a kernel build over a new memory (grows on demand up to 4 GiB; `shared` for the
 * shared-memory build of the kernel threads, build/edgetron-relaxed-mt.wasm); `relaxed` comes
 * from the build itself (its relaxed_simd export).
 * @example
 * const kernels = await instantiateKernels(await readKernelBuild('simd'), true);
 * const p = kernels.heap.alloc(64);
 */
export async function instantiateKernels(source: BufferSource | WebAssembly.Module, simd: boolean, shared = false): Promise<WasmKernels> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared });
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const exports = instance.exports as unknown as KernelExports;
  const relaxed = exports.relaxed_simd() !== 0;
  return { simd, relaxed, build: relaxed ? 'relaxed' : simd ? 'simd' : 'scalar', heap: new Heap(memory), exports, module };
}
