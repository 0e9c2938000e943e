// Entry of the edgetron WASM kernels the backends ship (`npm run build:wasm`, asconfig.json targets
// simd, relaxed, relaxed-mt and scalar: build/edgetron-<target>.wasm). Every export takes raw
// pointers into the imported memory, which the JS driver (assembly/backend) owns; nothing here
// allocates. Each `<stem>` export uses SIMD in the SIMD builds (ASC_FEATURE_SIMD) and its scalar
// twin `<stem>_scalar` otherwise; the twins are exported too so tests can compare them.
// The 4-bit kernels here are the backend's (assembly/backend/linear.ts): nvfp4 int16 (q16) and int8
// (i8, relaxed SIMD) activations, nvfp4-s24 gathered int8 activations, each also on rows4 weights;
// decode is the matmul with T = 1.
// Variants measured against them (f32 FMA, q8, nvfp4-s24 q16) are in the bench build (bench.ts).

export { f32_matvec, f32_matvec_scalar, bf16_matvec, bf16_matvec_scalar } from './matmul';
export { f32_matmul, f32_matmul_scalar, bf16_matmul, bf16_matmul_scalar } from './matmul';
export { f32_add, f32_add_scalar, f32_relu2, f32_relu2_scalar, f32_axpy, f32_axpy_scalar } from './eltwise';
export { bf16_to_f32, bf16_to_f32_scalar, f32_to_bf16, f32_to_bf16_scalar } from './eltwise';
export { f32_rmsnorm, f32_rmsnorm_scalar } from './rmsnorm';
export { f32_gated_rmsnorm, f32_gated_rmsnorm_scalar } from './gated_rmsnorm';
export { f32_conv1d_silu, f32_conv1d_silu_scalar } from './conv1d';
export { f32_ssd_step, f32_ssd_step_scalar } from './ssd_step';
export { f32_ssd_chunked, f32_ssd_chunked_scalar, f32_ssd_chunked_scratch_bytes } from './ssd_chunk';
export { f32_attention, f32_attention_scalar, bf16_attention, bf16_attention_scalar } from './attention';
export { f32_moe_route, f32_moe_route_scratch_bytes } from './moe_route';
export { f32_gather_rows, f32_scatter_add_rows, f32_scatter_add_rows_scalar } from './moe_dispatch';
export { f32_sum_probe, f32_sum_probe_scalar } from './bandwidth_probe';
export { q16_scratch_bytes, nvfp4_matmul_q16, nvfp4_matmul_q16_scalar, nvfp4_matmul_q16_rows4 } from './fp4_q16_matvec';
export { rows4_supported, nvfp4_pack_rows4 } from './fp4_rows4';
export { i8_scratch_bytes, relaxed_simd, nvfp4_matmul_i8, nvfp4_matmul_i8_scalar, nvfp4_matmul_i8_rows4 } from './fp4_i8_relaxed';
export { gather_scratch_bytes, nvfp4s24_matmul_gather, nvfp4s24_matmul_gather_scalar } from './nvfp4s24_gather';
export { nvfp4s24_pack_rows4, nvfp4s24_matmul_gather_rows4 } from './nvfp4s24_gather';
export { ggml_q8_0_matmul, ggml_q8_0_matmul_scalar, ggml_q4_0_matmul, ggml_q4_0_matmul_scalar } from './ggml_blocks';
export { ggml_q4_k_matmul, ggml_q4_k_matmul_scalar, ggml_q5_k_matmul, ggml_q5_k_matmul_scalar, ggml_q6_k_matmul, ggml_q6_k_matmul_scalar } from './ggml_blocks';
export { ggml_q4_1_matmul, ggml_q4_1_matmul_scalar, ggml_q5_0_matmul, ggml_q5_0_matmul_scalar, ggml_q5_1_matmul, ggml_q5_1_matmul_scalar } from './ggml_blocks';
