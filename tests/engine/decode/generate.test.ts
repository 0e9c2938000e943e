import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Act, LoadedModel, SequenceState } from '../../../engine/core/backend.js';
import { parseConfig, type ModelConfig } from '../../../engine/core/config.js';
import { ContextWindowExceededError, InvalidOptionError, TokenOutOfRangeError } from '../../../engine/core/errors.js';
import { generate, type DoneEvent, type GenerateEvent, type GenerateOptions } from '../../../engine/decode/generate.js';
import { Model } from '../../../engine/core/model.js';
import { argmax } from '../../../engine/decode/sample.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { openSession, type Session } from '../../../engine/core/session.js';
import { TextCodec } from '../../../engine/text/text.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { FIXTURES } from '../../helpers/fixtures.js';
import { memoryStore, randomModelTensors } from '../../helpers/memory-store.js';

const readJson = (name: string) => JSON.parse(readFileSync(`${FIXTURES}moe/hf/${name}`, 'utf8'));
const text = TextCodec.fromJson(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
const V = 512;

/**
 * A scripted model over the real graph (engine/core/model.ts): the embedding carries the token id,
 * every mixer adds 0, and the head puts logit 10 on next(last id) and 0 elsewhere, or a flat
 * row when `flat` is set. It records the length of every forward call.
 */
function scriptedSession(next: (id: number) => number, flat = false): { session: Session; calls: number[] } {
  const config: ModelConfig = parseConfig({
    vocab_size: V,
    hidden_size: 4,
    hybrid_override_pattern: 'M*E-',
    mamba_num_heads: 2,
    mamba_head_dim: 2,
    n_groups: 1,
    ssm_state_size: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    head_dim: 2,
    n_routed_experts: 2,
    num_experts_per_tok: 1,
    moe_intermediate_size: 2,
    moe_shared_expert_intermediate_size: 2,
    intermediate_size: 2,
    eos_token_id: 2,
    max_position_embeddings: 4096,
  });
  type A = Act & { data: Float32Array };
  const act = (data: Float32Array, rows: number, cols: number): A => ({ rows, cols, data });
  const zero = (u: Act): A => act(new Float32Array(u.rows * u.cols), u.rows, u.cols);
  const calls: number[] = [];
  const sequence = (maxTokens: number): SequenceState => {
    let position = 0;
    return {
      get position() {
        return position;
      },
      advance(n) {
        position += n;
        if (position > maxTokens) throw new Error('sequence overflow');
      },
      snapshot: () => ({ position, free() {} }),
      restore() {},
      free() {},
    };
  };
  const ops: LoadedModel = {
    backend: 'scripted',
    config,
    newSequence: sequence,
    upload: (data, rows, cols) => act(data.slice(), rows, cols),
    download: (x) => (x as A).data.slice(),
    free() {},
    sliceRows: (x, start, count) => act((x as A).data.slice(start * x.cols, (start + count) * x.cols), count, x.cols),
    embed(tokens) {
      calls.push(tokens.length);
      return act(Float32Array.from(tokens), tokens.length, 1);
    },
    rmsnorm: (x) => act((x as A).data.slice(), x.rows, x.cols),
    addInPlace(x, y) {
      (x as A).data.forEach((v, i, d) => (d[i] = v + (y as A).data[i]));
    },
    mamba2: (_il, u) => zero(u),
    attention: (_il, u) => zero(u),
    moe: (_il, u) => zero(u),
    mlp: (_il, u) => zero(u),
    matmul: (x) => zero(x),
    head(h) {
      const out = new Float32Array(h.rows * V);
      if (!flat) for (let r = 0; r < h.rows; r++) out[r * V + next((h as A).data[r])] = 10;
      return out;
    },
    weightBytes: () => 0,
    dispose() {},
  };
  const session: Session = { model: new Model(ops), text, loadMs: 0, stopIds: [2, 4], source: 'scripted', dispose() {} };
  return { session, calls };
}

async function collect(events: AsyncIterable<GenerateEvent>): Promise<{ ids: number[]; texts: string[]; done: DoneEvent }> {
  const ids: number[] = [];
  const texts: string[] = [];
  for await (const ev of events) {
    if (ev.kind === 'done') return { ids, texts, done: ev };
    ids.push(ev.id);
    texts.push(ev.text);
  }
  throw new Error('no done event');
}

const greedy: GenerateOptions = { temperature: 0 };
const plusOne = (id: number) => (id + 1) % V;

describe('generate (scripted model)', () => {
  it('prefills the prompt in one forward call, then decodes one token per call', async () => {
    const { session, calls } = scriptedSession(plusOne);
    const { ids, done } = await collect(generate(session, [100, 101, 102], { ...greedy, maxTokens: 4 }));
    expect(ids).toEqual([103, 104, 105, 106]);
    expect(calls).toEqual([3, 1, 1, 1]);
    expect(done.finishReason).toBe('length');
    expect(done.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
  });
  it('streams the decoded text of each token', async () => {
    const { session } = scriptedSession(plusOne);
    const prompt = text.encode('h');
    const { ids, texts, done } = await collect(generate(session, prompt, { ...greedy, maxTokens: 3 }));
    expect(texts.join('') + done.text).toBe(text.decode(ids));
    expect(texts.every((t) => !t.includes('\uFFFD'))).toBe(true);
  });
  it('holds back a partial UTF-8 character and never emits U+FFFD', async () => {
    // ï is byte tokens 203, 183 (see text.test.ts): 112 → 203 → 183 → 112
    const { session } = scriptedSession((id) => ({ 112: 203, 203: 183, 183: 112 })[id] ?? 112);
    const { texts, done } = await collect(generate(session, [112], { ...greedy, maxTokens: 3 }));
    expect(texts).toEqual(['', 'ï', 'h']);
    expect(done.text).toBe('');
  });
  it('a stop id ends generation with "stop" and is not streamed', async () => {
    const { session, calls } = scriptedSession(plusOne);
    const { ids, done } = await collect(generate(session, [0], { ...greedy, maxTokens: 10 })); // 1, then 2 = eos
    expect(ids).toEqual([1]);
    expect(done.finishReason).toBe('stop');
    expect(done.usage.completionTokens).toBe(2);
    expect(calls).toEqual([1, 1]);
  });
  it('stopIds overrides the default stop set (which includes <|im_end|>)', async () => {
    const { session } = scriptedSession(plusOne);
    expect((await collect(generate(session, [2], { ...greedy, maxTokens: 10 }))).ids).toEqual([3]); // 4 = <|im_end|>
    const custom = await collect(generate(session, [2], { ...greedy, maxTokens: 10, stopIds: [6] }));
    expect(custom.ids).toEqual([3, 4, 5]);
    expect(custom.done.finishReason).toBe('stop');
  });
  it('maxTokens 0 finishes with "length" without computing', async () => {
    const { session, calls } = scriptedSession(plusOne);
    const { ids, done } = await collect(generate(session, [5], { maxTokens: 0 }));
    expect(ids).toEqual([]);
    expect(done.finishReason).toBe('length');
    expect(calls).toEqual([]);
  });
  it('an abort between tokens stops early with "abort" and does not throw', async () => {
    const { session, calls } = scriptedSession(plusOne);
    const controller = new AbortController();
    const ids: number[] = [];
    let done: DoneEvent | undefined;
    for await (const ev of generate(session, [100], { ...greedy, maxTokens: 50 }, controller.signal)) {
      if (ev.kind === 'done') done = ev;
      else if (ids.push(ev.id) === 3) controller.abort();
    }
    expect(ids).toEqual([101, 102, 103]);
    expect(done?.finishReason).toBe('abort');
    expect(calls.length).toBe(3);
  });
  it('an abort from a timer lands between tokens (the loop yields to the event loop)', async () => {
    const { session } = scriptedSession(plusOne);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 0);
    const { ids, done } = await collect(generate(session, [10], { ...greedy, maxTokens: 4000, stopIds: [] }, controller.signal));
    expect(done.finishReason).toBe('abort');
    expect(ids.length).toBeLessThan(4000);
  });
  it('an already aborted signal finishes with "abort" before any compute', async () => {
    const { session, calls } = scriptedSession(plusOne);
    const { done } = await collect(generate(session, [1], greedy, AbortSignal.abort()));
    expect(done.finishReason).toBe('abort');
    expect(calls).toEqual([]);
  });
  it('rejects prompt + maxTokens > maxContext before any compute', () => {
    const { session, calls } = scriptedSession(plusOne);
    expect(() => generate(session, [1, 2, 3], { maxTokens: 8, maxContext: 10 })).toThrow(ContextWindowExceededError);
    expect(() => generate(session, [1, 2, 3], { maxTokens: 8, maxContext: 10 })).toThrow(/11 tokens exceeds the context limit of 10/);
    // default limit: config max_position_embeddings = 4096
    expect(() => generate(session, [1], { maxTokens: 4096 })).toThrow(ContextWindowExceededError);
    expect(calls).toEqual([]);
  });
  it('without maxTokens it stops where the context ends', async () => {
    const { session } = scriptedSession(plusOne);
    const { ids, done } = await collect(generate(session, [100, 101, 102], { ...greedy, maxContext: 5 }));
    expect(ids).toEqual([103, 104]);
    expect(done.finishReason).toBe('length');
  });
  it('rejects bad options up front', () => {
    const { session } = scriptedSession(plusOne);
    expect(() => generate(session, [], {})).toThrow(InvalidOptionError);
    expect(() => generate(session, [1], { maxTokens: -1 })).toThrow(/maxTokens/);
    expect(() => generate(session, [1], { temperature: -0.5 })).toThrow(/temperature/);
    expect(() => generate(session, [1, V], {})).toThrow(TokenOutOfRangeError);
  });
  it('the same seed gives the same tokens; another seed differs', async () => {
    const { session } = scriptedSession(plusOne, true); // flat logits: a uniform draw over V
    const run = async (seed: number) => (await collect(generate(session, [1], { maxTokens: 12, seed, stopIds: [] }))).ids;
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });
  it('reports prefill and decode rates', async () => {
    const { session } = scriptedSession(plusOne);
    const { done } = await collect(generate(session, [100, 101], { ...greedy, maxTokens: 5 }));
    const t = done.timings;
    expect(t.prefillMs).toBeGreaterThan(0);
    expect(t.decodeMs).toBeGreaterThan(0);
    expect(t.prefillTokPerS).toBeCloseTo((2 * 1000) / t.prefillMs, 6);
    expect(t.decodeTokPerS).toBeCloseTo((4 * 1000) / t.decodeMs, 6);
  });
});

describe('generate on the reference backend', () => {
  it('greedy continuation of the fixture prompt starts with llama.cpp\'s argmax (moe/hf checkpoint)', async () => {
    const ckpt = await openCheckpoint(`${FIXTURES}moe/hf`);
    const session = await openSession(ckpt, referenceBackend);
    expect(session.stopIds).toEqual([2, 4]); // config eos 2 + <|im_end|>
    expect(session.loadMs).toBeGreaterThan(0);
    const fixture = JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8'));
    const prompt: number[] = fixture.tokens.slice(0, 16);
    const llama = new Float32Array(readFileSync(`${FIXTURES}moe/llamacpp-f32.f32`).buffer.slice(0)); // (64, 512)
    const expected = argmax(llama.subarray(15 * V, 16 * V)); // top-2 margin ≈ 0.98 ≫ the 2e-3 fixture tolerance
    const { ids } = await collect(generate(session, prompt, { ...greedy, maxTokens: 1 }));
    expect(ids).toEqual([expected]);
    session.dispose();
    await ckpt.store.close();
  });

  it('greedy decode equals the argmax of one all-rows prefill over the same tokens; seeds are reproducible', async () => {
    const config = parseConfig(presetConfig('tiny'), [4]); // vocabulary 512, like the fixture tokenizer
    const store = memoryStore(randomModelTensors(config, 3), 'random');
    const session = await openSession(
      { config, store, tokenizerJson: readJson('tokenizer.json'), tokenizerConfig: readJson('tokenizer_config.json') },
      referenceBackend,
    );
    const prompt = text.encode('Hello world');
    const run = async (opts: GenerateOptions) => (await collect(generate(session, prompt, { maxTokens: 6, stopIds: [], ...opts }))).ids;
    const ids = await run(greedy);
    expect(await run(greedy)).toEqual(ids);
    // the same tokens through one forward call with 'all' rows: row t predicts token t+1
    const all = [...prompt, ...ids];
    const logits = session.model.forward(session.model.newSequence(all.length), Int32Array.from(all.slice(0, -1)), 'all');
    const predicted = ids.map((_, i) => argmax(logits.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V)));
    expect(predicted).toEqual(ids);
    const sampled = await run({ temperature: 1, seed: 9 });
    expect(await run({ temperature: 1, seed: 9 })).toEqual(sampled);
    session.dispose();
  });
});
