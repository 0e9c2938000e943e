// spec §11 speculative decoding through generate's `mtp` option, on random tiny-latent weights
// (SSD chunk 8): with temperature 0, --mtp k gives token for token the --mtp 0 output, k = 1…4,
// with prompts of 27 and 41 tokens (4–6 chunks), on reference and wasm; with a vocabulary of 2
// too, where random drafts are right about half the time, so rounds that accept none, some and
// all drafts occur.
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import type { Session } from '../../../engine/core/session.js';
import { generate, type DoneEvent, type GenerateOptions } from '../../../engine/decode/generate.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { mtpPrompt, mtpSession, mtpTensors, tinyLatentConfig } from './mtp-models.js';

async function collect(session: Session, prompt: number[], options: GenerateOptions) {
  const ids: number[] = [];
  let done: DoneEvent | undefined;
  for await (const ev of generate(session, prompt, { stopIds: [], ...options })) {
    if (ev.kind === 'token') ids.push(ev.id);
    else done = ev;
  }
  return { ids, done: done! };
}

describe.each([
  ['reference', referenceBackend],
  ['wasm', wasmBackend],
] as const)('greedy exactness on %s', (_name, backend) => {
  it.each([512, 2])('vocabulary %i: --mtp k gives the --mtp 0 tokens, k = 1…4 (prompts of 27 and 41 tokens)', async (vocab) => {
    const config = tinyLatentConfig(vocab === 512 ? undefined : vocab);
    const session = await mtpSession(config, mtpTensors(config, 3), backend);
    expect(session.mtpLoaded).toBe(true);
    let accepted = 0;
    let rollbacks = 0;
    let rounds = 0;
    for (const [len, seed] of [[27, 1], [41, 2]]) {
      const prompt = mtpPrompt(len, seed, vocab);
      const plain = await collect(session, prompt, { maxTokens: 20, temperature: 0 });
      expect(plain.done.speculative).toBeUndefined();
      for (const k of [1, 2, 3, 4]) {
        const spec = await collect(session, prompt, { maxTokens: 20, temperature: 0, mtp: k });
        expect(spec.ids, `k = ${k}`).toEqual(plain.ids);
        const stats = spec.done.speculative!;
        expect(stats.acceptLen).toBeCloseTo(1 + stats.accepted / stats.rounds, 12);
        accepted += stats.accepted;
        rollbacks += stats.rollbacks;
        rounds += stats.rounds;
      }
    }
    // random drafts over 512 ids are all but never right; over 2 ids about half are
    expect(rollbacks).toBeGreaterThan(0);
    if (vocab === 2) expect(rollbacks).toBeLessThan(rounds);
    if (vocab === 2) expect(accepted).toBeGreaterThan(0.3 * rounds);
  });
});

