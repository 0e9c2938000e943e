// The shipped default (assets/packs/default: the trained demo model in NVFP4) is a trained
// language model: on a slice of the held-out split (assets/corpus/heldout.txt) its bits per byte
// beat the byte-level trigram baseline fitted on the same training split (rebuilt from the
// pinned corpus packages, lab/corpus.ts).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import { openSession } from '../../../engine/core/session.js';
import { joinDocuments, loadDocuments, splitDocuments } from '../../../lab/corpus.js';
import { evaluateModel, evaluateTrigram } from '../../../lab/eval.js';
import { openCheckpoint, resolveModelPath } from '../../../weights-tools/checkpoint.js';

/** Characters of the held-out split scored (the whole split takes minutes). */
const SLICE_CHARS = 12_000;

describe('the shipped default model', () => {
  it('is the demo model in NVFP4, and beats the trigram baseline on held-out text', async () => {
    const heldout = readFileSync(fileURLToPath(new URL('../../../assets/corpus/heldout.txt', import.meta.url)), 'utf8');
    const slice = heldout.slice(0, SLICE_CHARS);
    const ckpt = await openCheckpoint(resolveModelPath('default'));
    expect(ckpt.config.vocabSize).toBe(4096);
    expect(ckpt.config.layerKinds.join('')).toBe('MEM*EME');
    expect(ckpt.store.names().some((n) => n.endsWith('.weight_scale'))).toBe(true); // NVFP4 sidecars
    const session = await openSession(ckpt, wasmBackend);
    const model = evaluateModel(session, slice, { context: 256 });
    session.dispose();
    await ckpt.store.close();

    const train = joinDocuments(splitDocuments(loadDocuments().documents).train);
    const trigram = evaluateTrigram(train, slice);
    expect(model.bits_per_byte).toBeLessThan(trigram.bits_per_byte);
  }, 120_000);
});
