// The attention cache in 16 bits (WasmBackendOptions.kvDtype 'bf16'): a sequence's KV rows take
// half the bytes (2 per element against 4), and the logits stay within a bound of the reference
// backend that follows from rounding each K and V element to bf16: a relative error of at most
// 2⁻⁸ per element, which moves each score by ≤ 2⁻⁸·scale·Σ|q k| and each output by ≤ 2⁻⁸ of
// Σ p|V| plus the score shift — a few parts in a thousand of the attention outputs, diluted by the
// residual stream; 5e-3 of the largest logit is that budget (tests/engine/core/model.test.ts
// allows 5e-5 for f32). The bound is not vacuous: the bf16 run differs from the f32 run, and by
// more than the f32 tolerance. Prefill then decode, and a snapshot restored mid-sequence, replay
// exactly as with f32 caches (the rows are rounded once, when written).

import { describe, expect, test } from 'vitest';
import { createWasmBackend, type WasmModel } from '../../../assembly/backend/index.js';
import { parseConfig } from '../../../engine/core/config.js';
import { InvalidOptionError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { maxRelErr } from '../../helpers/compare.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

const config = parseConfig(presetConfig('tiny'));
const tensors = () => memoryTensors(config, randomModelTensors(config, 31));
const PROMPT = Int32Array.from({ length: 30 }, (_, i) => (i * 41 + 9) % 512);

/** Prefill logits of every row, then two decode steps. */
function run(model: Model): Float32Array[] {
  const seq = model.newSequence(64);
  return [model.forward(seq, PROMPT, 'all'), model.forward(seq, Int32Array.of(7)), model.forward(seq, Int32Array.of(300))];
}

describe('bf16 attention caches on wasm', () => {
  test('half the bytes per token of context', async () => {
    const sizes: number[] = [];
    for (const kvDtype of ['f32', 'bf16'] as const) {
      const model = (await createWasmBackend({ kvDtype }).load(config, tensors())) as WasmModel;
      const before = model.usedBytes();
      const seq = model.newSequence(4096);
      sizes.push(model.usedBytes() - before);
      seq.free();
      model.dispose();
    }
    const a = config.attention!;
    const attentionLayers = config.layers.filter((l) => l.kind === '*').length;
    const kvF32 = attentionLayers * 2 * 4096 * a.nKvHeads * a.headDim * 4;
    expect(sizes[0] - sizes[1]).toBe(kvF32 / 2); // the Mamba state is the same; the KV rows halve
  });

  test('logits within the bf16 rounding budget of the reference, and not those of f32 caches', async () => {
    const ref = run(new Model(await referenceBackend.load(config, tensors())));
    const f32 = new Model(await createWasmBackend({ kvDtype: 'f32' }).load(config, tensors()));
    const bf16 = new Model(await createWasmBackend({ kvDtype: 'bf16' }).load(config, tensors()));
    const [a, b] = [run(f32), run(bf16)];
    for (let i = 0; i < ref.length; i++) {
      expect(maxRelErr(a[i], ref[i])).toBeLessThanOrEqual(5e-5);
      expect(maxRelErr(b[i], ref[i])).toBeLessThanOrEqual(5e-3);
    }
    expect(Math.max(...b.map((x, i) => maxRelErr(x, a[i])))).toBeGreaterThan(5e-5);
    f32.ops.dispose();
    bf16.ops.dispose();
  });

  test('a snapshot restored mid-sequence replays exactly', async () => {
    const model = new Model(await createWasmBackend({ kvDtype: 'bf16' }).load(config, tensors()));
    const seq = model.newSequence(64);
    model.forward(seq, PROMPT.subarray(0, 20));
    const snap = seq.snapshot();
    const first = model.forward(seq, PROMPT.subarray(20), 'all');
    seq.restore(snap);
    const again = model.forward(seq, PROMPT.subarray(20), 'all');
    expect(Buffer.from(again.buffer).equals(Buffer.from(first.buffer))).toBe(true);
    model.ops.dispose();
  });

  test('an unknown cache type is refused', async () => {
    await expect(createWasmBackend({ kvDtype: 'f16' as never }).load(config, tensors())).rejects.toThrow(InvalidOptionError);
  });
});
