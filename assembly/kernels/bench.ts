// Entry of the bench build (`npm run build:wasm`, asconfig.json target bench: build/edgetron-bench.wasm,
// SIMD): every shipped kernel (index.ts) plus the 4-bit variants the backend does not use, kept
// so that bench/ can measure the shipped kernels against them and tests/assembly can hold them to
// their error bounds:
//   f32 FMA (nvfp4_matmul.ts, nvfp4s24_matmul.ts): weights decoded to f32, f32 activations;
//   q8 (fp4_q8_matvec.ts): int8 activations per block, integer dot;
//   nvfp4-s24 q16 (fp4_q16_matvec.ts with F = u16): int16 activations, weights spread to their
//     positions (the s24 kernel before nvfp4s24_gather.ts).

export * from './index';
export { nvfp4_matvec, nvfp4_matvec_scalar, nvfp4_matmul, nvfp4_matmul_scalar } from './nvfp4_matmul';
export { nvfp4s24_matvec, nvfp4s24_matvec_scalar, nvfp4s24_matmul, nvfp4s24_matmul_scalar } from './nvfp4s24_matmul';
export { q8_scratch_bytes, nvfp4_matvec_q8, nvfp4s24_matvec_q8 } from './fp4_q8_matvec';
export { nvfp4s24_matmul_q16, nvfp4s24_matmul_q16_scalar } from './fp4_q16_matvec';
