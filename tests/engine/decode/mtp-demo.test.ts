// spec §11 on the shipped demo model (assets/packs/default, the trained `demo` preset with its MTP
// block): greedy output with --mtp K, K = 1…4, is token for token the --mtp 0 output, on wasm,
// for prompts in the corpus's domain long enough to cross several SSD chunks (chunk 64). Skipped,
// with the reason printed, while the default pack has no MTP block.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import { openSession, requireText, type Session } from '../../../engine/core/session.js';
import { generate } from '../../../engine/decode/generate.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';

const PACK = new URL('../../../assets/packs/default/', import.meta.url);
const config = JSON.parse(readFileSync(new URL('config.json', PACK), 'utf8')) as Record<string, unknown>;
const hasMtp = Number(config.num_nextn_predict_layers ?? 0) > 0;
if (!hasMtp) console.warn('mtp-demo tests skipped: the default pack has no MTP block yet (the trained demo model is not committed)');

// ~700 characters each: well over two SSD chunks of 64 tokens with the demo's 4096-token BPE
const PROMPTS = [
  'Fellow-Citizens of the Senate and of the House of Representatives: The Constitution requires that the President shall from time to time give to the Congress information of the state of the Union, and recommend to their consideration such measures as he shall judge necessary and expedient. In meeting you again I feel much satisfaction in being able to repeat my congratulations on the favorable prospects which continue to distinguish our public affairs. The abundant fruits of another year have blessed our country with plenty, and with the means of a flourishing commerce. The progress of public credit is witnessed by a considerable rise of the public funds, and the revenue has been more than sufficient.',
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world. It is a way I have of driving off the spleen and regulating the circulation. Whenever I find myself growing grim about the mouth, whenever it is a damp, drizzly November in my soul, whenever I find myself involuntarily pausing before coffin warehouses, and bringing up the rear of every funeral I meet, then I account it high time to get to sea as soon as I can. This is my substitute for pistol and ball. There is nothing surprising in this.',
];

async function greedy(session: Session, prompt: number[], mtp: number) {
  const ids: number[] = [];
  let accepted = 0;
  for await (const ev of generate(session, prompt, { maxTokens: 48, temperature: 0, mtp, stopIds: [] })) {
    if (ev.kind === 'token') ids.push(ev.id);
    else accepted = ev.speculative?.accepted ?? 0;
  }
  return { ids, accepted };
}

describe.runIf(hasMtp)('the demo model with its MTP block (wasm)', () => {
  it('greedy: --mtp 1…4 give the --mtp 0 tokens; the trained drafts are accepted', async () => {
    const ckpt = await openCheckpoint(new URL(PACK).pathname);
    const session = await openSession(ckpt, wasmBackend);
    expect(session.mtpLoaded).toBe(true);
    const text = requireText(session);
    let accepted = 0;
    for (const p of PROMPTS) {
      const prompt = text.encode(p);
      expect(prompt.length).toBeGreaterThan(2 * 64); // crosses at least two chunk boundaries
      const plain = await greedy(session, prompt, 0);
      for (const k of [1, 2, 3, 4]) {
        const spec = await greedy(session, prompt, k);
        expect(spec.ids, `k = ${k}`).toEqual(plain.ids);
        accepted += spec.accepted;
      }
    }
    expect(accepted).toBeGreaterThan(0);
    session.dispose();
    await ckpt.store.close();
  });
});
