// Long prompts in passes (engine/core/model.ts prefillChunk): a prompt longer than the pass
// length goes through in passes that carry the state, and gives the logits of one pass — 'all'
// rows and 'last' — and the same state after (the next decode step agrees), on every backend and
// every layer kind (`tiny`: Mamba-2, attention, MoE, MLP; `tiny-latent`: LatentMoE), for pass
// lengths that split the SSD's chunks (8 here) and ones that do not. The passes reassociate the
// scan's chunk sums (the same math, spec §6.6), so the tolerances are the model test's for prefill
// against decode (tests/engine/core/model.test.ts): 1e-9 relative in f64, 5e-5 in f32. A bad token
// in a later pass is refused before the first pass runs, leaving the sequence where it was.

import { describe, expect, it } from 'vitest';
import { wasmBackend, wasmScalarBackend } from '../../../assembly/backend/index.js';
import type { Backend } from '../../../engine/core/backend.js';
import { parseConfig } from '../../../engine/core/config.js';
import { TokenOutOfRangeError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { maxRelErr } from '../../helpers/compare.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

const BACKENDS: [string, Backend, number][] = [
  ['reference', referenceBackend, 1e-9],
  ['wasm', wasmBackend, 5e-5],
  ['wasm-scalar', wasmScalarBackend, 5e-5],
];

async function load(preset: 'tiny' | 'tiny-latent', backend: Backend): Promise<Model> {
  const config = parseConfig(presetConfig(preset));
  return new Model(await backend.load(config, memoryTensors(config, randomModelTensors(config, 13))));
}

describe.each(['tiny', 'tiny-latent'] as const)('%s', (preset) => {
  describe.each(BACKENDS)('%s', (_name, backend, rel) => {
    const tokens = Int32Array.from({ length: 45 }, (_, i) => (i * 29 + 3) % 512);

    /** 'all' logits of the prompt, 'last' logits, and the logits of one decode step after it, in passes of `chunk`. */
    function run(model: Model, chunk: number) {
      model.prefillChunk = chunk;
      const all = model.forward(model.newSequence(64), tokens, 'all');
      const seq = model.newSequence(64);
      const last = model.forward(seq, tokens, 'last');
      const next = model.forward(seq, Int32Array.of(77), 'last');
      return { all, last, next };
    }

    it('passes give the logits and state of one pass', async () => {
      const model = await load(preset, backend);
      const one = run(model, 1000);
      for (const chunk of [16, 8, 7, 20]) {
        const got = run(model, chunk);
        for (const k of ['all', 'last', 'next'] as const) expect(maxRelErr(got[k], one[k]), `passes of ${chunk}: ${k}`).toBeLessThanOrEqual(rel);
      }
    });

    it('a bad token in a later pass is refused before the first pass runs', async () => {
      const model = await load(preset, backend);
      model.prefillChunk = 8;
      const seq = model.newSequence(64);
      const bad = Int32Array.from(tokens);
      bad[40] = model.config.vocabSize;
      expect(() => model.forward(seq, bad, 'last')).toThrow(TokenOutOfRangeError);
      expect(seq.position).toBe(0);
    });
  });
});
