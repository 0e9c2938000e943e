// Dense f32 products for training (forward y = x·Wᵀ and its two backward products). Row-major.
// Shapes: x (M×K), W (N×K) as stored by HF linear layers ([out, in]).
//
// All three run on the WASM SIMD kernel f32_matmul (assembly/kernels/matmul.ts: Y(T, N) =
// X(T, K)·W(N, K)ᵀ): the operands are copied into the module's memory, transposed first where the
// product needs it (A·B = A·(Bᵀ)ᵀ; Aᵀ·B = (Aᵀ)·(Bᵀ)ᵀ), and the result copied back. The kernel
// module is instantiated synchronously on first use, one per thread. The plain-JS twins (…Js) are
// the definitions the kernel path is tested against, and the fallback where the build is missing.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Heap, MAX_PAGES } from '../../assembly/backend/heap.js';
import { simdSupported, type KernelExports } from '../../assembly/backend/instantiate.js';
import { packageRoot } from '../../runtime/paths.js';

/** Products smaller than this many multiply-adds stay in JS (the copies would dominate). */
const KERNEL_MIN_MACS = 4096;

interface Kernel {
  readonly exports: KernelExports;
  readonly heap: Heap;
  ptr: number; // scratch block holding the three operands
  bytes: number;
}

let kernel: Kernel | null | undefined;

/** The SIMD (or scalar) kernel module of this thread, or null when build/ has none. */
function getKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  const simd = simdSupported();
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(readFileSync(join(packageRoot(), 'build', simd ? 'edgetron-simd.wasm' : 'edgetron-scalar.wasm')));
  } catch {
    return (kernel = null);
  }
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return (kernel = { exports: instance.exports as unknown as KernelExports, heap: new Heap(memory), ptr: 0, bytes: 0 });
}

/** Y (T×N) = X (T×K) · W (N×K)ᵀ on the kernel, into `out`; false when there is no kernel. */
function kernelABt(x: Float32Array, w: Float32Array, T: number, K: number, N: number, out: Float32Array): boolean {
  const k = getKernel();
  if (!k) return false;
  const need = 4 * (T * K + N * K + T * N) + 48;
  if (need > k.bytes) {
    if (k.ptr) k.heap.free(k.ptr);
    k.bytes = Math.max(need, 2 * k.bytes);
    k.ptr = k.heap.alloc(k.bytes);
  }
  const xp = k.ptr;
  const wp = xp + Math.ceil((4 * T * K) / 16) * 16;
  const yp = wp + Math.ceil((4 * N * K) / 16) * 16;
  k.heap.f32(xp, T * K).set(x.subarray(0, T * K));
  k.heap.f32(wp, N * K).set(w.subarray(0, N * K));
  k.exports.f32_matmul(xp, wp, yp, T, K, N);
  out.set(k.heap.f32(yp, T * N));
  return true;
}

/** aᵀ: (R×C) → (C×R). */
function transpose(a: Float32Array, R: number, C: number): Float32Array {
  const t = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    const row = r * C;
    for (let c = 0; c < C; c++) t[c * R + r] = a[row + c];
  }
  return t;
}

/** y (M×N) = a (M×K) · bᵀ with b (N×K): a linear layer's forward. */
export function matmulABt(a: Float32Array, b: Float32Array, M: number, K: number, N: number, out = new Float32Array(M * N)): Float32Array {
  if (M * K * N >= KERNEL_MIN_MACS && kernelABt(a, b, M, K, N, out)) return out;
  return matmulABtJs(a, b, M, K, N, out);
}

/** y (M×N) = a (M×K) · b (K×N): ∂L/∂x = ∂L/∂y · W. */
export function matmulAB(a: Float32Array, b: Float32Array, M: number, K: number, N: number, out = new Float32Array(M * N)): Float32Array {
  if (M * K * N >= KERNEL_MIN_MACS && kernelABt(a, transpose(b, K, N), M, K, N, out)) return out;
  return matmulABJs(a, b, M, K, N, out);
}

/** acc (M×N) += aᵀ · b with a (R×M), b (R×N): ∂L/∂W += ∂L/∂yᵀ · x. */
export function addMatmulAtB(acc: Float32Array, a: Float32Array, b: Float32Array, R: number, M: number, N: number): Float32Array {
  const prod = new Float32Array(M * N);
  if (R * M * N >= KERNEL_MIN_MACS && kernelABt(transpose(a, R, M), transpose(b, R, N), M, R, N, prod)) {
    for (let i = 0; i < M * N; i++) acc[i] += prod[i];
    return acc;
  }
  return addMatmulAtBJs(acc, a, b, R, M, N);
}

/** matmulABt in plain JS (the definition). */
export function matmulABtJs(a: Float32Array, b: Float32Array, M: number, K: number, N: number, out = new Float32Array(M * N)): Float32Array {
  for (let m = 0; m < M; m++) {
    const ar = m * K;
    for (let n = 0; n < N; n++) {
      const br = n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ar + k] * b[br + k];
      out[m * N + n] = s;
    }
  }
  return out;
}

/** matmulAB in plain JS (the definition). */
export function matmulABJs(a: Float32Array, b: Float32Array, M: number, K: number, N: number, out = new Float32Array(M * N)): Float32Array {
  out.fill(0, 0, M * N);
  for (let m = 0; m < M; m++) {
    const orow = m * N;
    for (let k = 0; k < K; k++) {
      const av = a[m * K + k];
      if (av === 0) continue;
      const br = k * N;
      for (let n = 0; n < N; n++) out[orow + n] += av * b[br + n];
    }
  }
  return out;
}

/** addMatmulAtB in plain JS (the definition). */
export function addMatmulAtBJs(acc: Float32Array, a: Float32Array, b: Float32Array, R: number, M: number, N: number): Float32Array {
  for (let r = 0; r < R; r++) {
    const ar = r * M;
    const br = r * N;
    for (let m = 0; m < M; m++) {
      const av = a[ar + m];
      if (av === 0) continue;
      const orow = m * N;
      for (let n = 0; n < N; n++) acc[orow + n] += av * b[br + n];
    }
  }
  return acc;
}
