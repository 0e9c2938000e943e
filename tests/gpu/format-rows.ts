// Rows for the webgpu backend on every linear-weight format (DESIGN §3), against the `reference`
// backend on the `tiny` preset: f16, nvfp4 and nvfp4-s24 (every linear weight quantised from
// the seeded f32 model, experts with their own weight_scale_2). Tolerances:
// tests/conformance/harness.ts (the decoded weights are exact, so the f32 bounds hold unchanged).
// Used by formats.test.ts (the adapter Dawn finds) and f16.test.ts (lavapipe, with shader-f16).

import { afterAll, beforeAll, test, type describe } from 'vitest';
import type { Backend, LoadedModel } from '../../engine/core/backend.js';
import { parseConfig } from '../../engine/core/config.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { presetConfig } from '../../weights-tools/presets.js';
import type { QuantFormat } from '../../weights-tools/quantize.js';
import { expectNormwiseClose, runBlock, tolPath, uploadRandom, withPrefix } from '../conformance/harness.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';
import { quantizedModelTensors } from '../helpers/quantized-store.js';

export const config = parseConfig(presetConfig('tiny'));
const D = 64;

export type Format = 'f16' | QuantFormat;
export const tensorsOf = (format: Format) =>
  memoryTensors(config, format === 'f16' ? randomModelTensors(config, 17, { linearDType: 'f16' }) : quantizedModelTensors(config, 17, format));

/** Block rows run on each (format, device options) model. */
export const BLOCKS: { name: string; tol: number; run(m: LoadedModel): Float32Array[] }[] = [
  { name: 'embed (4) → (4, 64)', tol: 0, run: (m) => {
    const x = m.embed(new Int32Array([0, 7, 511, 300]));
    const out = m.download(x);
    m.free(x);
    return [out];
  } },
  { name: 'matmul in_proj (5, 64) → (5, 196)', tol: tolPath(D), run: (m) => [runBlock(m, uploadRandom(m, 5, 5), (x) => m.matmul(x, 'backbone.layers.0.mixer.in_proj.weight'))] },
  { name: 'head (3, 64) → (3, 512)', tol: tolPath(D), run: (m) => {
    const x = uploadRandom(m, 3, 60);
    const out = m.head(x);
    m.free(x);
    return [out];
  } },
  { name: 'mamba2 prefill T=5 then decode', tol: tolPath(D + 4 + 24 + 32 + 64), run: (m) => withPrefix(m, 3, 16, (seq) => [
    runBlock(m, uploadRandom(m, 5, 11), (x) => m.mamba2(0, x, seq), seq),
    runBlock(m, uploadRandom(m, 1, 12), (x) => m.mamba2(0, x, seq), seq),
  ]) },
  { name: 'attention prefill T=4 then decode', tol: tolPath(D + 16 + 8 + 64), run: (m) => withPrefix(m, 3, 16, (seq) => [
    runBlock(m, uploadRandom(m, 4, 30), (x) => m.attention(2, x, seq), seq),
    runBlock(m, uploadRandom(m, 1, 31), (x) => m.attention(2, x, seq), seq),
  ]) },
  { name: 'moe (7, 64), 8 experts top-2', tol: tolPath(D + 64 + 2), run: (m) => [runBlock(m, uploadRandom(m, 7, 40), (x) => m.moe(1, x))] },
  { name: 'mlp (5, 64)', tol: tolPath(D + 128), run: (m) => [runBlock(m, uploadRandom(m, 5, 50), (x) => m.mlp(4, x))] },
];

/** One model of a format on one backend configuration. */
export interface Variant {
  readonly format: Format;
  readonly label: string;
  readonly backend: () => Backend;
}

/**
 * One describe per variant: every block against the reference on the same tensors.
 * @example describeFormatVariants(describe, [{ format: 'nvfp4', label: 'nvfp4', backend: () => gpuBackend() }]);
 */
export function describeFormatVariants(describeFn: ReturnType<typeof describe.skipIf>, variants: readonly Variant[]): void {
  describeFn.each(variants)('webgpu $label vs reference', ({ format, backend }) => {
    let gpu: LoadedModel;
    let ref: LoadedModel;
    beforeAll(async () => {
      const tensors = tensorsOf(format);
      ref = await referenceBackend.load(config, tensors);
      gpu = await backend().load(config, tensors);
    });
    afterAll(() => gpu?.dispose());

    test.each(BLOCKS)('$name', (block) => {
      expectNormwiseClose(block.run(gpu), block.run(ref), block.tol);
    });
  });
}
