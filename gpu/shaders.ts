// The WGSL kernels (gpu/kernels, one file per kernel), bundled as text into the device bundle
// (build/gpu-device.js, esbuild's text loader: scripts/build-gpu.mjs). A kernel that reads
// weights is compiled once per weight format: the format's decoder (weights_*.wgsl, which
// defines weight(r, i, K)) is prepended to the kernel; the two matmul kernels share their
// parameters and activation bindings (matmul_params.wgsl).

import add from './kernels/add.wgsl';
import argmax from './kernels/argmax.wgsl';
import attention from './kernels/attention.wgsl';
import combine from './kernels/combine.wgsl';
import concatCols from './kernels/concat_cols.wgsl';
import conv from './kernels/conv.wgsl';
import embed from './kernels/embed.wgsl';
import fp4Codecs from './kernels/fp4_codecs.wgsl';
import matmul from './kernels/matmul.wgsl';
import matmulParams from './kernels/matmul_params.wgsl';
import matmulSubgroup from './kernels/matmul_subgroup.wgsl';
import rmsnorm from './kernels/rmsnorm.wgsl';
import route from './kernels/route.wgsl';
import ssdScan from './kernels/ssd_scan.wgsl';
import wBf16 from './kernels/weights_bf16.wgsl';
import wF16 from './kernels/weights_f16.wgsl';
import wF16Native from './kernels/weights_f16_native.wgsl';
import wF32 from './kernels/weights_f32.wgsl';
import wNvfp4 from './kernels/weights_nvfp4.wgsl';
import wNvfp4S24 from './kernels/weights_nvfp4s24.wgsl';
import { UnsupportedDTypeError } from '../engine/core/errors.js';
import type { LinearFormat } from '../engine/core/weights.js';

/** Kernels that need no weight decoder. */
export const PLAIN_KERNELS = { add, argmax, attention, combine, concatCols, conv, rmsnorm, route, ssdScan } as const;
export type PlainKernel = keyof typeof PLAIN_KERNELS;

/** Kernels that read a linear weight through weight(r, i, K). */
export const WEIGHT_KERNELS = { matmul: `${matmulParams}\n${matmul}`, matmulSubgroup: `${matmulParams}\n${matmulSubgroup}`, embed } as const;
export type WeightKernel = keyof typeof WEIGHT_KERNELS;

/**
 * The decoder of a weight format; f16 uses the shader-f16 variant when the device has the feature.
 * @example decoderSource('nvfp4', false) // fp4_codecs.wgsl + weights_nvfp4.wgsl
 */
export function decoderSource(format: LinearFormat, nativeF16: boolean): string {
  switch (format) {
    case 'f32':
      return wF32;
    case 'bf16':
      return wBf16;
    case 'f16':
      return nativeF16 ? wF16Native : wF16;
    case 'nvfp4':
      return `${fp4Codecs}\n${wNvfp4}`;
    case 'nvfp4-s24':
      return `${fp4Codecs}\n${wNvfp4S24}`;
    default:
      throw new UnsupportedDTypeError('(weight)', format, ['f32', 'bf16', 'f16', 'nvfp4', 'nvfp4-s24']); // ggml blocks are dequantised at load (gpu/tensors.ts)
  }
}

const DIRECTIVE = /^(enable|diagnostic)\b.*;\s*$/;

/**
 * Full source of a weight-reading kernel for one format: decoder + kernel, with the directives
 * of both (`enable f16;`, `enable subgroups;`, `diagnostic(…);`) moved to the top, where WGSL
 * requires them.
 * @example weightKernelSource('matmul', 'bf16', false)
 */
export function weightKernelSource(kernel: WeightKernel, format: LinearFormat, nativeF16: boolean): string {
  const lines = `${decoderSource(format, nativeF16)}\n${WEIGHT_KERNELS[kernel]}`.split('\n');
  return [...lines.filter((l) => DIRECTIVE.test(l)), ...lines.filter((l) => !DIRECTIVE.test(l))].join('\n');
}
