// The webgpu LoadedModel beyond the op table: a whole forward pass against the reference,
// greedy argmax on the device, snapshots, boundary validation, dispose and reload.

import { afterAll, beforeAll, expect, test } from 'vitest';
import type { LoadedModel } from '../../engine/core/backend.js';
import { parseConfig } from '../../engine/core/config.js';
import { ContextWindowExceededError, DeviceLostError, OpArgumentError, SequenceStateError, TokenOutOfRangeError } from '../../engine/core/errors.js';
import { Model } from '../../engine/core/model.js';
import { referenceBackend } from '../../engine/reference/index.js';
import type { WebGpuModel } from '../../gpu/index.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { expectNormwiseClose, randomRows, tolPath } from '../conformance/harness.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';
import { describeWithGpu, gpuBackend } from './gpu-available.js';

const config = parseConfig(presetConfig('tiny'));
const tensors = memoryTensors(config, randomModelTensors(config, 17, { linearDType: 'bf16' }));
const PROMPT = new Int32Array([1, 48, 396, 336, 226, 223, 440]);

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

describeWithGpu('webgpu model', () => {
  let gpu: WebGpuModel;
  let ref: LoadedModel;
  beforeAll(async () => {
    gpu = (await gpuBackend().load(config, tensors)) as WebGpuModel;
    ref = await referenceBackend.load(config, tensors);
  });
  afterAll(() => gpu?.dispose());

  test('a forward pass (prefill, then 2 decode steps) matches the reference logits', () => {
    const run = (m: LoadedModel) => {
      const model = new Model(m);
      const seq = model.newSequence(32);
      const rows = [model.forward(seq, PROMPT, 'all'), model.forward(seq, new Int32Array([7]), 'last'), model.forward(seq, new Int32Array([9]), 'last')];
      seq.free();
      return rows;
    };
    // the whole trunk: 8 layers of reductions over d, each ≲ √(d + width)·u; a generous path of 8·(64 + 196)
    expectNormwiseClose(run(gpu), run(ref), tolPath(8 * (64 + 196)));
  });

  test('greedy returns the argmax of the head logits of every row, read back as 4 bytes a row', () => {
    const h = gpu.upload(randomRows(3, 64, 70), 3, 64);
    const logits = gpu.head(h);
    const want = [0, 1, 2].map((r) => argmax(logits.subarray(r * 512, (r + 1) * 512)));
    expect([...gpu.greedy(h)]).toEqual(want);
    gpu.free(h);
  });

  test('restore returns the sequence to the snapshot: the same decode steps give the same logits', () => {
    const model = new Model(gpu);
    const seq = model.newSequence(32);
    model.forward(seq, PROMPT);
    const snap = seq.snapshot();
    const first = [model.forward(seq, new Int32Array([5])), model.forward(seq, new Int32Array([6]))];
    seq.restore(snap);
    expect(seq.position).toBe(PROMPT.length);
    const again = [model.forward(seq, new Int32Array([5])), model.forward(seq, new Int32Array([6]))];
    expect(again).toEqual(first);
    snap.free();
    expect(() => seq.restore(snap)).toThrow(SequenceStateError);
    seq.free();
  });

  test('boundary checks: tokens, shapes, foreign activations, context window', () => {
    expect(() => gpu.embed(new Int32Array([512]))).toThrow(TokenOutOfRangeError);
    const x = gpu.upload(randomRows(2, 64, 1), 2, 64);
    const y = gpu.upload(randomRows(1, 64, 2), 1, 64);
    expect(() => gpu.addInPlace(x, y)).toThrow(OpArgumentError);
    expect(() => gpu.matmul(x, 'backbone.layers.0.mixer.out_proj.weight')).not.toThrow();
    expect(() => gpu.matmul(y, 'backbone.layers.1.mixer.experts.0.down_proj.weight')).toThrow(OpArgumentError);
    expect(() => gpu.download(ref.upload(new Float32Array(64), 1, 64))).toThrow(OpArgumentError);
    const seq = gpu.newSequence(2);
    expect(() => gpu.attention(2, gpu.upload(randomRows(3, 64, 3), 3, 64), seq)).toThrow(ContextWindowExceededError);
    seq.free();
  });
});

describeWithGpu('webgpu device loss and reload', () => {
  test('after the device is gone reads throw DeviceLostError; reload() brings the model back', async () => {
    const gpu = (await gpuBackend().load(config, tensors)) as WebGpuModel;
    const x = gpu.upload(randomRows(1, 64, 80), 1, 64);
    const before = gpu.head(x);
    gpu.dispose();
    expect(() => gpu.head(x)).toThrow(DeviceLostError);
    await gpu.reload();
    expect(() => gpu.head(x)).toThrow(OpArgumentError); // activations of the lost device are gone
    const y = gpu.upload(randomRows(1, 64, 80), 1, 64);
    expect(gpu.head(y)).toEqual(before);
    gpu.dispose();
  });
});
