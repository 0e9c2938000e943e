// Sequence state on the wasm backend: snapshot / restore of conv windows, SSM states and KV
// caches (including KV rows overwritten after a restore: copy-on-write), and the named errors.

import { beforeAll, describe, expect, test } from 'vitest';
import type { LoadedModel } from '../../../engine/core/backend.js';
import { wasmBackend } from '../../../assembly/backend/index.js';
import { parseConfig } from '../../../engine/core/config.js';
import { ContextWindowExceededError, SequenceStateError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

describe('WasmSequenceState', () => {
  let model: Model;
  let ops: LoadedModel;
  beforeAll(async () => {
    const config = parseConfig(presetConfig('tiny'));
    ops = await wasmBackend.load(config, memoryTensors(config, randomModelTensors(config, 31)));
    model = new Model(ops);
  });
  const tok = (...t: number[]) => new Int32Array(t);

  test('restore returns to the snapshot: the same tokens give the same logits, twice', () => {
    const seq = model.newSequence(32);
    model.forward(seq, tok(1, 2, 3, 4));
    const snap = seq.snapshot();
    const first = model.forward(seq, tok(9, 8));
    model.forward(seq, tok(5));
    for (let i = 0; i < 2; i++) {
      seq.restore(snap);
      expect(seq.position).toBe(4);
      expect(model.forward(seq, tok(9, 8))).toEqual(first);
    }
  });

  test('a later snapshot survives a restore to an earlier one and new tokens over its KV rows', () => {
    const seq = model.newSequence(32);
    model.forward(seq, tok(1, 2, 3));
    const early = seq.snapshot();
    model.forward(seq, tok(4, 5, 6));
    const late = seq.snapshot();
    const wantAfterLate = model.forward(seq, tok(7));
    seq.restore(early);
    model.forward(seq, tok(40, 41, 42, 43)); // rewrites KV rows 3..6
    seq.restore(late);
    expect(seq.position).toBe(6);
    expect(model.forward(seq, tok(7))).toEqual(wantAfterLate);
    // and the early one is still intact
    const fresh = model.newSequence(32);
    model.forward(fresh, tok(1, 2, 3));
    const want = model.forward(fresh, tok(11));
    seq.restore(early);
    expect(model.forward(seq, tok(11))).toEqual(want);
    early.free();
    late.free();
  });

  test('foreign and freed snapshots and an overfull sequence are named errors', () => {
    const a = model.newSequence(4);
    const b = model.newSequence(4);
    const snap = a.snapshot();
    expect(() => b.restore(snap)).toThrow(SequenceStateError);
    snap.free();
    expect(() => a.restore(snap)).toThrow(SequenceStateError);
    model.forward(a, tok(1, 2, 3));
    expect(() => model.forward(a, tok(4, 5))).toThrow(ContextWindowExceededError);
    a.free();
    expect(() => ops.mamba2(0, ops.upload(new Float32Array(64), 1, 64), a)).toThrow(SequenceStateError);
  });
});
