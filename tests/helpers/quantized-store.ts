// Test helper: a seeded random model (memory-store.ts's randomModelTensors, f32) with every linear
// weight quantised to nvfp4 or nvfp4-s24 by the edge-pack quantiser (weights-tools/quantize.ts,
// amax scales, magnitude pruning for s24), as the ModelOpt triplet (+ positions) in memory; or to
// ggml blocks (Q8_0 … Q6_K) as a GGUF holds them.

import type { ModelConfig } from '../../engine/core/config.js';
import { expectedTensors, type GgmlBlockDType } from '../../engine/core/weights.js';
import { GGML_BLOCKS } from '../../engine/formats/ggml-blocks.js';
import { quantizedDecls, quantizedPartBytes, quantizeLinear, type QuantFormat } from '../../weights-tools/quantize.js';
import { randomModelTensors, type MemoryTensor } from './memory-store.js';

/**
 * The tensors of `randomModelTensors(config, seed)` with every linear weight in `format`.
 * @example const tensors = memoryTensors(config, quantizedModelTensors(config, 17, 'nvfp4'));
 */
export function quantizedModelTensors(config: ModelConfig, seed: number, format: QuantFormat): Record<string, MemoryTensor> {
  const f32 = randomModelTensors(config, seed);
  const linear = new Set(expectedTensors(config).filter((s) => s.linear).map((s) => s.name));
  const out: Record<string, MemoryTensor> = {};
  for (const [name, t] of Object.entries(f32)) {
    if (!linear.has(name)) {
      out[name] = t;
      continue;
    }
    const [rows, cols] = t.shape;
    const values = t.data as Float32Array;
    const q = quantizeLinear({ name, rows, cols, readRow: (r, dst) => dst.set(values.subarray(r * cols, (r + 1) * cols)) }, { format });
    for (const decl of quantizedDecls(name, rows, cols, format)) out[decl.name] = { dtype: decl.dtype, shape: decl.shape, data: quantizedPartBytes(q, decl.part) };
  }
  return out;
}

/**
 * The tensors of `randomModelTensors(config, seed)` with every linear weight as ggml blocks of
 * `dtype` (engine/formats/ggml-blocks.ts quantisers), as a GGUF would hold them.
 * @example const tensors = memoryTensors(config, ggmlModelTensors(config, 17, 'q5_0'));
 */
export function ggmlModelTensors(config: ModelConfig, seed: number, dtype: GgmlBlockDType): Record<string, MemoryTensor> {
  const f32 = randomModelTensors(config, seed);
  const linear = new Set(expectedTensors(config).filter((s) => s.linear).map((s) => s.name));
  const t = GGML_BLOCKS[dtype];
  const out: Record<string, MemoryTensor> = {};
  for (const [name, e] of Object.entries(f32)) {
    if (!linear.has(name)) {
      out[name] = e;
      continue;
    }
    const values = e.data as Float32Array;
    const blocks = new Uint8Array((values.length / t.blockValues) * t.blockBytes);
    t.quant(values, blocks, values.length);
    out[name] = { dtype, shape: e.shape, data: blocks };
  }
  return out;
}
