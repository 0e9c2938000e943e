// DESIGN §3, spec §14.1: linear layers with nvfp4-s24 weights (2:4-sparse NVFP4), fused, through
// nvfp4_matmul.ts's drivers with F = u16 (a bench-build variant, as nvfp4_matmul.ts); the block decoder (fp4_decode.ts) spreads each group's
// two kept codes to their positions, the pruned two are 0.
//   codes u8 (N, K/4): one byte per group of 4, low nibble = the first kept element
//   positions u8 (N, K/8): one legal code i0 | i1 << 2 per group (checked at load), even group low
//   scales E4M3 u8 (N, K/16) over the kept values; scale2 = weight_scale_2
// Paths, order of operations and error budget: as nvfp4_matmul.ts's header.

import { matmulFp4Scalar, matmulFp4Simd, matvecFp4Simd } from './nvfp4_matmul';

/** y(N) = W(N, K) · x(K), nvfp4-s24 weights. */
export function nvfp4s24_matvec(x: usize, codes: usize, positions: usize, scales: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matvecFp4Simd<u16>(x, codes, positions, scales, scale2, y, K, N);
  else matmulFp4Scalar<u16>(x, codes, positions, scales, scale2, y, 1, K, N);
}

export function nvfp4s24_matvec_scalar(x: usize, codes: usize, positions: usize, scales: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  matmulFp4Scalar<u16>(x, codes, positions, scales, scale2, y, 1, K, N);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, nvfp4-s24 weights; T = 1 takes the matvec path. */
export function nvfp4s24_matmul(x: usize, codes: usize, positions: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (T == 1) nvfp4s24_matvec(x, codes, positions, scales, scale2, y, K, N);
  else if (ASC_FEATURE_SIMD) matmulFp4Simd<u16>(x, codes, positions, scales, scale2, y, T, K, N);
  else matmulFp4Scalar<u16>(x, codes, positions, scales, scale2, y, T, K, N);
}

export function nvfp4s24_matmul_scalar(x: usize, codes: usize, positions: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  matmulFp4Scalar<u16>(x, codes, positions, scales, scale2, y, T, K, N);
}
