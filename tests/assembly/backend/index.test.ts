// The wasm LoadedModel as a whole: names, end-to-end logits against the reference on both tiny
// presets (f32, bf16, f16 weights), prefill == prefill-then-decode, and argument errors.

import { describe, expect, test } from 'vitest';
import { wasmBackend, wasmScalarBackend, type WasmModel } from '../../../assembly/backend/index.js';
import { parseConfig } from '../../../engine/core/config.js';
import { OpArgumentError, TokenOutOfRangeError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';
import { expectNormwiseClose, tolPath } from '../../conformance/harness.js';

const TOKENS = new Int32Array([1, 17, 300, 4, 4, 99, 511, 0, 42]);

describe.each([wasmBackend, wasmScalarBackend])('$name model', (backend) => {
  test.each([
    ['tiny', 'f32'],
    ['tiny', 'f16'],
    ['tiny-latent', 'bf16'],
  ] as const)('%s with %s weights: logits of every position match the reference', async (preset, dtype) => {
    const config = parseConfig(presetConfig(preset));
    const tensors = memoryTensors(config, randomModelTensors(config, 5, { linearDType: dtype }));
    const ref = new Model(await referenceBackend.load(config, tensors));
    const loaded = await backend.load(config, tensors);
    expect(loaded.backend).toBe(backend.name);
    const wasm = new Model(loaded);
    const [s1, s2] = [ref.newSequence(16), wasm.newSequence(16)];
    // a whole trunk: 8 layers of chains of length ≤ 64 + 128 + …; K_path = the sum over layers
    const tol = tolPath(8 * (64 + 4 + 24 + 32 + 64) + 64);
    expectNormwiseClose([wasm.forward(s2, TOKENS, 'all')], [ref.forward(s1, TOKENS, 'all')], tol);
    expectNormwiseClose([wasm.forward(s2, new Int32Array([7]))], [ref.forward(s1, new Int32Array([7]))], tol);
    // weights held: f16 is widened to f32 at load
    const bytes = [...tensors.values()].reduce((n, e) => n + (e.dtype === 'f16' ? 2 * e.byteLength : e.byteLength), 0);
    expect(loaded.weightBytes()).toBe(bytes);
  });

  test('prefill of all tokens == prefill then one-token decode steps', async () => {
    const config = parseConfig(presetConfig('tiny'));
    const m = new Model(await backend.load(config, memoryTensors(config, randomModelTensors(config, 6))));
    const all = m.forward(m.newSequence(16), TOKENS, 'all');
    const seq = m.newSequence(16);
    const stepwise = [m.forward(seq, TOKENS.subarray(0, 4), 'all')];
    for (let t = 4; t < TOKENS.length; t++) stepwise.push(m.forward(seq, TOKENS.subarray(t, t + 1)));
    const joined = new Float32Array(all.length);
    let at = 0;
    for (const s of stepwise) {
      joined.set(s, at);
      at += s.length;
    }
    expectNormwiseClose([joined], [all], tolPath(8 * (64 + 4 + 24 + 32 + 64) + 64));
  });

  test('forward passes, snapshots and freed sequences leave no WASM memory behind', async () => {
    const config = parseConfig(presetConfig('tiny-latent'));
    const loaded = (await backend.load(config, memoryTensors(config, randomModelTensors(config, 9)))) as WasmModel;
    const m = new Model(loaded);
    const base = loaded.usedBytes();
    const seq = m.newSequence(32);
    const withState = loaded.usedBytes();
    expect(withState).toBeGreaterThan(base);
    m.forward(seq, TOKENS, 'all');
    m.forward(seq, new Int32Array([3]));
    expect(loaded.usedBytes()).toBe(withState);
    const snap = seq.snapshot();
    m.forward(seq, new Int32Array([4]));
    seq.restore(snap);
    m.forward(seq, new Int32Array([5, 6])); // overwrites KV rows past the snapshot: no copy needed
    snap.free();
    expect(loaded.usedBytes()).toBe(withState);
    seq.free();
    expect(loaded.usedBytes()).toBe(base);
    loaded.dispose();
    expect(loaded.usedBytes()).toBe(0);
  });

  test('foreign activations, bad shapes and bad tokens are named errors', async () => {
    const config = parseConfig(presetConfig('tiny'));
    const tensors = memoryTensors(config, randomModelTensors(config, 8));
    const [a, b] = [await backend.load(config, tensors), await backend.load(config, tensors)];
    const x = a.upload(new Float32Array(64), 1, 64);
    expect(() => b.rmsnorm(x, 'backbone.norm_f.weight')).toThrow(OpArgumentError);
    expect(() => a.upload(new Float32Array(3), 2, 2)).toThrow(OpArgumentError);
    expect(() => a.sliceRows(x, 1, 1)).toThrow(OpArgumentError);
    expect(() => a.matmul(x, 'backbone.layers.4.mixer.down_proj.weight')).toThrow(OpArgumentError);
    expect(() => a.embed(new Int32Array([512]))).toThrow(TokenOutOfRangeError);
  });
});
