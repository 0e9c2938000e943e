import { describe, expect, it } from 'vitest';
import type { Session } from '../../../engine/core/session.js';
import { chainProcessors, generate, type GenerateOptions, type TokenEvent } from '../../../engine/decode/generate.js';
import { LogprobRecorder, logSumExp, topLogprobs } from '../../../engine/decode/logprobs.js';
import { Penalties } from '../../../engine/decode/penalties.js';
import { Prng } from '../../../engine/decode/prng.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { logSoftmax, openAiPenalties, referenceGreedy, topIds } from '../../helpers/reference-greedy.js';
import { mtpPrompt, mtpSession, mtpTensors, tinyLatentConfig } from './mtp-models.js';

const randomRow = (n: number, seed: number) => {
  const rng = new Prng(seed, 'test');
  return Float32Array.from({ length: n }, () => rng.uniform() * 8 - 4);
};

describe('logSumExp / topLogprobs', () => {
  it('logSumExp matches the direct sum, and is shift-stable for large logits', () => {
    const row = randomRow(300, 1);
    expect(logSumExp(row)).toBeCloseTo(Math.log([...row].reduce((s, v) => s + Math.exp(v), 0)), 10);
    expect(logSumExp(Float32Array.of(1000, 1000))).toBeCloseTo(1000 + Math.LN2, 10);
    expect(logSumExp(Float32Array.of(-Infinity, -Infinity))).toBe(-Infinity);
  });

  it('topLogprobs gives the k best by a full sort, ties lowest id first', () => {
    const row = randomRow(500, 2);
    row[7] = row[300] = 5; // a tie at the top
    const lse = logSumExp(row);
    const expected = [...row].map((v, id) => ({ id, v })).sort((a, b) => b.v - a.v || a.id - b.id);
    for (const k of [0, 1, 2, 5, 20]) {
      const top = topLogprobs(row, k, lse);
      expect(top.map((t) => t.id)).toEqual(expected.slice(0, k).map((e) => e.id));
      top.forEach((t) => expect(t.logprob).toBeCloseTo(logSoftmax(row)[t.id], 6));
    }
    expect(topLogprobs(Float32Array.of(1, 2), 5, logSumExp(Float32Array.of(1, 2))).map((t) => t.id)).toEqual([1, 0]);
  });
});

describe('LogprobRecorder', () => {
  it('records the raw-row log-softmax of each accepted id, even when later processors edit the row', () => {
    const rec = new LogprobRecorder(3, 64);
    const chain = chainProcessors([rec, new Penalties({ logitBias: new Map([[5, 100]]) }), { process: (l) => l.fill(-Infinity, 0, 5), accept: () => {} }])!;
    const rows = [randomRow(64, 3), randomRow(64, 4)];
    const expected = rows.map((r) => logSoftmax(r));
    for (const row of rows) {
      chain.process(row);
      expect(row[5]).toBeGreaterThan(90); // the bias reached the row the sampler sees
      expect(row[0]).toBe(-Infinity);
      chain.accept(5);
    }
    for (const want of expected) {
      const got = rec.take()!;
      expect(got.id).toBe(5);
      expect(got.logprob).toBeCloseTo(want[5], 6);
      expect(got.top.map((t) => t.id)).toEqual(topIds(want, 3));
      got.top.forEach((t) => expect(t.logprob).toBeCloseTo(want[t.id], 6));
    }
    expect(rec.take()).toBeUndefined();
  });
});

describe('through generate (plain and --mtp decoding)', () => {
  async function collect(session: Session, prompt: number[], options: GenerateOptions) {
    const events: TokenEvent[] = [];
    for await (const ev of generate(session, prompt, { stopIds: [], temperature: 0, ...options })) if (ev.kind === 'token') events.push(ev);
    return events;
  }

  it('each token event carries the raw log-softmax of its step and the k best; --mtp 2 gives the same', async () => {
    const config = tinyLatentConfig();
    const session = await mtpSession(config, mtpTensors(config, 3), referenceBackend);
    const prompt = mtpPrompt(27, 1, config.vocabSize);
    const ref = referenceGreedy(session.model, prompt, 12);
    for (const mtp of [0, 2]) {
      const events = await collect(session, prompt, { maxTokens: 12, logprobs: 4, mtp });
      expect(events.map((e) => e.id)).toEqual(ref.map((s) => s.id));
      events.forEach((e, i) => {
        expect(e.logprob!.id).toBe(e.id);
        expect(e.logprob!.logprob).toBeCloseTo(ref[i].logprobs[e.id], 4);
        expect(e.logprob!.top.map((t) => t.id)).toEqual(topIds(ref[i].logprobs, 4));
      });
    }
    expect((await collect(session, prompt, { maxTokens: 3 }))[0].logprob).toBeUndefined();
  });

  it('penalties and logit_bias apply in plain and --mtp decoding as OpenAI\'s formula says, and logprobs stay raw', async () => {
    const config = tinyLatentConfig();
    const session = await mtpSession(config, mtpTensors(config, 3), referenceBackend);
    const prompt = mtpPrompt(27, 1, config.vocabSize);
    const plain = referenceGreedy(session.model, prompt, 16).map((s) => s.id);
    const [presence, frequency, banned] = [0.8, 0.5, plain[0]];
    const ref = referenceGreedy(session.model, prompt, 16, (row, history) => {
      row[banned] -= 100;
      openAiPenalties(presence, frequency)(row, history);
    });
    expect(ref.map((s) => s.id)).not.toEqual(plain);
    for (const mtp of [0, 2]) {
      const events = await collect(session, prompt, { maxTokens: 16, presencePenalty: presence, frequencyPenalty: frequency, logitBias: new Map([[banned, -100]]), logprobs: 0, mtp });
      expect(events.map((e) => e.id)).toEqual(ref.map((s) => s.id));
      events.forEach((e, i) => expect(e.logprob!.logprob).toBeCloseTo(ref[i].logprobs[e.id], 4));
    }
  });

  it('options are checked before any compute', async () => {
    const config = tinyLatentConfig();
    const session = await mtpSession(config, mtpTensors(config, 3), referenceBackend);
    expect(() => generate(session, [1], { logitBias: new Map([[config.vocabSize, 1]]) })).toThrow(/logitBias/);
    expect(() => generate(session, [1], { logprobs: -1 })).toThrow(/logprobs/);
    expect(() => generate(session, [1], { presencePenalty: NaN })).toThrow(/presencePenalty/);
  });
});
