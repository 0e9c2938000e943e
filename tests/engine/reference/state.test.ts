import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../engine/core/config.js';
import { ContextWindowExceededError, SequenceStateError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { RefSequenceState } from '../../../engine/reference/state.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';
import { TINY_HYBRID } from './configs.js';

const config = parseConfig(TINY_HYBRID);

async function model(): Promise<Model> {
  return new Model(await referenceBackend.load(config, memoryTensors(config, randomModelTensors(config, 21))));
}

const PROMPT = new Int32Array([1, 7, 3, 30, 12]);
const NEXT = new Int32Array([4, 9, 2]);

describe('sequence state (spec §19.10)', () => {
  it('holds a conv window and SSM state per M layer, a KV cache per * layer', () => {
    const s = new RefSequenceState(config, 10);
    expect(s.mambaLayer(0).conv.length).toBe(3 * (16 + 2 * 2 * 8)); // (K−1, convDim)
    expect(s.mambaLayer(4).ssm.length).toBe(4 * 4 * 8); // (H, P, N)
    expect(s.kvLayer(1).k.length).toBe(10 * 2 * 4); // (maxTokens, nKv·hd)
    expect(() => s.kvLayer(0)).toThrow(SequenceStateError);
    expect(() => s.mambaLayer(2)).toThrow(SequenceStateError);
  });

  it('snapshot / restore: 5 tokens, snapshot, 3 more, restore, the same 3 again → identical outputs', async () => {
    const m = await model();
    const seq = m.newSequence(16);
    m.forward(seq, PROMPT);
    const snap = seq.snapshot();
    expect(snap.position).toBe(5);
    const first = m.forward(seq, NEXT, 'all');
    expect(seq.position).toBe(8);
    // continuing without a restore sees a different state, so the restore is what makes them equal
    const continued = m.forward(seq, NEXT, 'all');
    expect([...continued]).not.toEqual([...first]);
    seq.restore(snap);
    expect(seq.position).toBe(5);
    expect([...m.forward(seq, NEXT, 'all')]).toEqual([...first]);
    // the snapshot survived those passes: restore it again, decode one token at a time
    seq.restore(snap);
    const stepwise = [...NEXT].flatMap((t) => [...m.forward(seq, new Int32Array([t]))]);
    stepwise.forEach((v, i) => expect(Math.abs(v - first[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(first[i]))));
  });

  it('a later snapshot stays valid after restoring an earlier one and overwriting its KV rows', async () => {
    const m = await model();
    const seq = m.newSequence(16);
    m.forward(seq, PROMPT);
    const early = seq.snapshot();
    m.forward(seq, NEXT);
    const late = seq.snapshot(); // position 8, KV rows 5..7 hold NEXT
    const want = m.forward(seq, new Int32Array([6]));
    seq.restore(early);
    m.forward(seq, new Int32Array([20, 21, 22])); // rewrites KV rows 5..7
    seq.restore(late);
    expect([...m.forward(seq, new Int32Array([6]))]).toEqual([...want]);
  });

  it('refuses foreign or freed snapshots, and positions past the capacity', async () => {
    const m = await model();
    const a = m.newSequence(8);
    const b = m.newSequence(8);
    const snap = a.snapshot();
    expect(() => b.restore(snap)).toThrow(SequenceStateError);
    snap.free();
    expect(() => a.restore(snap)).toThrow(/freed/);
    expect(() => a.advance(9)).toThrow(ContextWindowExceededError);
    a.free();
    expect(() => m.forward(a, new Int32Array([1]))).toThrow(SequenceStateError);
  });
});
