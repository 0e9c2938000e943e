// spec §11 speculative decoding (engine/speculative.ts, engine/generate.ts `mtp`): greedy output
// token for token equal to plain decoding for k = 1…4, on random tiny-latent weights with prompts
// that cross several SSD chunks (chunk 8), on the reference and wasm backends.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../assembly/backend/index.js';
import type { Backend } from '../../engine/backend.js';
import { parseConfig } from '../../engine/config.js';
import { generate, type DoneEvent, type GenerateOptions } from '../../engine/generate.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { openSession, type Session } from '../../engine/session.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { memoryStore, randomModelTensors } from '../helpers/memory-store.js';

const FIXTURES = new URL('../../../shared/fixtures/nemotron-h-tiny/moe/hf/', import.meta.url);
const readJson = (name: string) => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));

async function tinyLatent(backend: Backend, seed: number): Promise<Session> {
  const config = parseConfig(presetConfig('tiny-latent'));
  const store = memoryStore(randomModelTensors(config, seed, { withMtp: true }));
  return openSession({ config, store, tokenizerJson: readJson('tokenizer.json'), tokenizerConfig: readJson('tokenizer_config.json') }, backend);
}

async function run(session: Session, prompt: number[], options: GenerateOptions) {
  const ids: number[] = [];
  let done: DoneEvent | undefined;
  for await (const ev of generate(session, prompt, { stopIds: [], ...options })) {
    if (ev.kind === 'token') ids.push(ev.id);
    else done = ev;
  }
  return { ids, done: done! };
}

const prompt = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + 5) % 512);

describe.each([
  ['reference', referenceBackend],
  ['wasm', wasmBackend],
] as const)('greedy exactness on %s', (_name, backend) => {
  it('--mtp k gives the --mtp 0 tokens, k = 1…4 (prompts of 27 and 41 tokens: 4–6 SSD chunks)', async () => {
    const session = await tinyLatent(backend, 3);
    expect(session.mtpLoaded).toBe(true);
    for (const [len, seed] of [[27, 1], [41, 2]]) {
      const p = prompt(len, seed);
      const plain = await run(session, p, { maxTokens: 24, temperature: 0 });
      for (const k of [1, 2, 3, 4]) {
        const spec = await run(session, p, { maxTokens: 24, temperature: 0, mtp: k });
        expect(spec.ids, `k = ${k}`).toEqual(plain.ids);
        console.log(k, spec.done.speculative);
      }
    }
  });
});
