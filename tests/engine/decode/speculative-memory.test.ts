// engine/decode/speculative.ts on wasm: a speculative decoder frees what it allocates (activations kept
// for the MTP block and the Mamba replay, state snapshots, the MTP rewind point, both sequences).
import { describe, expect, it } from 'vitest';
import { wasmBackend, type WasmModel } from '../../../assembly/backend/index.js';
import { SpeculativeDecoder } from '../../../engine/decode/speculative.js';
import { mtpPrompt, mtpSession, mtpTensors, tinyLatentConfig } from './mtp-models.js';

describe('memory', () => {
  it('a speculative decoder frees every activation, snapshot and state it made (wasm heap back to its size)', async () => {
    const config = tinyLatentConfig();
    const { model } = await mtpSession(config, mtpTensors(config, 3), wasmBackend);
    const ops = model.ops as WasmModel;
    const before = ops.usedBytes();
    for (const rollback of ['replay', 'recompute'] as const) {
      const dec = new SpeculativeDecoder(model, { temperature: 0.9, seed: 1, k: 3, rollback }, 64);
      dec.first(Int32Array.from(mtpPrompt(12, 2, config.vocabSize)));
      for (let left = 20; left > 0; ) left -= dec.next(left).length;
      dec.free();
    }
    expect(ops.usedBytes()).toBe(before);
  });
});
