// Route tests inside workerd (house style H22) for the sampling options (docs/api.md):
// logprobs / top_logprobs (chat) and legacy logprobs (completions), presence / frequency
// penalties, logit_bias and n > 1, on the default edge pack. The expectations come from an
// independent greedy decode: session.model.forward on the same prefix, a log-softmax computed
// here, and OpenAI's penalty formula applied here.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { openAiPenalties, referenceGreedy, topIds, type Adjust, type Step } from '../helpers/reference-greedy.js';
import { MODEL_ID, app, chat, defaultModel, post, sseEvents } from './served.js';

type Json = Record<string, any>;
const json = async (res: Response) => (await res.json()) as Json;
const CHAT = '/v1/chat/completions';
const COMPLETIONS = '/v1/completions';
const HELLO = [{ role: 'user', content: 'Hello there' }];
/** Greedy, thinking off: every generated token is an answer token. */
const greedy = (extra: Json = {}) => chat({ temperature: 0, reasoning_effort: 'none', ...extra });

/** The reference greedy decode on the served model, stopping at its stop ids. */
async function greedyRef(prompt: readonly number[], steps: number, adjust?: Adjust): Promise<Step[]> {
  const { session } = await defaultModel();
  return referenceGreedy(session.model, prompt, steps, adjust, session.stopIds);
}

async function chatPrompt(): Promise<number[]> {
  return (await defaultModel()).session.text!.encodeChat(HELLO, { enableThinking: false });
}

/** The OpenAI client, talking to the app in process. */
function client(a: ReturnType<typeof app>): OpenAI {
  return new OpenAI({ apiKey: 'unused', baseURL: 'http://local/v1', fetch: async (url, init) => a.request(String(url), init as RequestInit), maxRetries: 0 });
}

describe('logprobs on /v1/chat/completions', () => {
  it('OpenAI shape, values equal to an independent log-softmax of the raw logits, top_logprobs sorted with the greedy token first', async () => {
    const { session } = await defaultModel();
    const text = session.text!;
    const res = await client(app()).chat.completions.create({
      model: MODEL_ID,
      messages: [{ role: 'user', content: 'Hello there' }],
      max_tokens: 8,
      temperature: 0,
      logprobs: true,
      top_logprobs: 5,
      reasoning_effort: 'none' as never,
    });
    const choice = res.choices[0];
    expect(choice.logprobs!.refusal).toBeNull();
    const content = choice.logprobs!.content!;
    const ref = await greedyRef(await chatPrompt(), 8);
    expect(content.length).toBe(ref.length);
    expect(res.usage!.completion_tokens).toBe(ref.length + (choice.finish_reason === 'stop' ? 1 : 0));
    content.forEach((entry, i) => {
      const { id, logprobs } = ref[i];
      expect(Object.keys(entry).sort()).toEqual(['bytes', 'logprob', 'token', 'top_logprobs']);
      expect(entry.token).toBe(text.decode([id]));
      expect(entry.bytes).toEqual([...text.tokenBytes(id)]);
      expect(entry.logprob).toBeCloseTo(logprobs[id], 5);
      expect(entry.logprob).toBeLessThanOrEqual(0);
      const top = entry.top_logprobs;
      expect(top.map((t) => t.token)).toEqual(topIds(logprobs, 5).map((j) => text.decode([j])));
      top.forEach((t, k) => {
        expect(Object.keys(t).sort()).toEqual(['bytes', 'logprob', 'token']);
        expect(t.logprob).toBeCloseTo(logprobs[topIds(logprobs, 5)[k]], 5);
        if (k > 0) expect(t.logprob).toBeLessThanOrEqual(top[k - 1].logprob);
      });
      expect(top[0]).toEqual({ token: entry.token, logprob: entry.logprob, bytes: entry.bytes }); // greedy: the chosen token is the best
    });
    const bytes = content.flatMap((e) => e.bytes!);
    expect(new TextDecoder().decode(new Uint8Array(bytes))).toBe(choice.message.content);
  });

  it('streaming: each chunk carries the logprobs of its own delta; together they equal the non-streamed list', async () => {
    const a = app();
    const body = greedy({ max_tokens: 10, logprobs: true, top_logprobs: 2 });
    const whole = await json(await post(a, CHAT, body));
    const res = await post(a, CHAT, { ...body, stream: true });
    const events = sseEvents(await res.text());
    expect(events.pop()).toBe('[DONE]');
    const chunks = events.map((e) => JSON.parse(e) as Json);
    expect(chunks[0].choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    const streamed: Json[] = [];
    for (const c of chunks.slice(1, -1)) {
      const { delta, logprobs } = c.choices[0];
      expect(logprobs.refusal).toBeNull();
      const piece = new TextDecoder().decode(new Uint8Array(logprobs.content.flatMap((e: Json) => e.bytes)));
      expect(piece).toBe(delta.content); // the delta's text is exactly its tokens' (no stop sequence here)
      streamed.push(...logprobs.content);
    }
    expect(chunks.at(-1)!.choices[0].logprobs).toBeNull();
    expect(streamed).toEqual(whole.choices[0].logprobs.content);
  });

  it('reasoning tokens get no logprobs: the list covers the answer tokens only', async () => {
    const whole = await json(await post(app(), CHAT, chat({ max_tokens: 12, max_reasoning_tokens: 0, logprobs: true })));
    const { usage, choices } = whole;
    expect(usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    const stopToken = choices[0].finish_reason === 'stop' ? 1 : 0;
    expect(choices[0].logprobs.content.length).toBe(usage.completion_tokens - usage.completion_tokens_details.reasoning_tokens - stopToken);
    expect(choices[0].logprobs.content.length).toBeGreaterThan(0);
    for (const e of choices[0].logprobs.content) expect(e.top_logprobs).toEqual([]); // top_logprobs defaults to 0
  });

  it('without logprobs every choice says logprobs: null', async () => {
    const whole = await json(await post(app(), CHAT, greedy()));
    expect(whole.choices[0].logprobs).toBeNull();
  });
});

describe('legacy logprobs on /v1/completions', () => {
  it('{ tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset } equal to the reference, the sampled token among the top', async () => {
    const { session } = await defaultModel();
    const text = session.text!;
    const prompt = 'Once upon a time';
    const whole = await json(await post(app(), COMPLETIONS, { model: MODEL_ID, prompt, max_tokens: 8, temperature: 0, logprobs: 3 }));
    const lp = whole.choices[0].logprobs;
    expect(Object.keys(lp).sort()).toEqual(['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
    const bos = session.model.config.bosTokenId;
    const ids = [...(text.addBosToken && bos !== null ? [bos] : []), ...text.encode(prompt)];
    const ref = await greedyRef(ids, 8);
    expect(lp.tokens).toEqual(ref.map((s) => text.decode([s.id])));
    expect(lp.tokens.join('')).toBe(whole.choices[0].text);
    ref.forEach((s, i) => {
      expect(lp.token_logprobs[i]).toBeCloseTo(s.logprobs[s.id], 5);
      const want = Object.fromEntries(topIds(s.logprobs, 3).map((j) => [text.decode([j]), s.logprobs[j]]));
      expect(Object.keys(lp.top_logprobs[i]).sort()).toEqual(Object.keys(want).sort()); // greedy: the sampled token is already among the 3
      for (const [tok, v] of Object.entries(want)) expect(lp.top_logprobs[i][tok]).toBeCloseTo(v, 5);
    });
    let offset = 0;
    lp.tokens.forEach((t: string, i: number) => {
      expect(lp.text_offset[i]).toBe(offset);
      offset += t.length;
    });
  });

  it('logprobs: 0 lists only the sampled token', async () => {
    const whole = await json(await post(app(), COMPLETIONS, { model: MODEL_ID, prompt: 'Once upon a time', max_tokens: 4, temperature: 0, logprobs: 0 }));
    const lp = whole.choices[0].logprobs;
    lp.top_logprobs.forEach((top: Json, i: number) => expect(top).toEqual({ [lp.tokens[i]]: lp.token_logprobs[i] }));
  });
});

describe('logit_bias and penalties', () => {
  it('logit_bias +100 forces a token; its logprob stays the raw one', async () => {
    const { session } = await defaultModel();
    const text = session.text!;
    const forced = text.encode(' banana')[0];
    const whole = await json(await post(app(), CHAT, greedy({ max_tokens: 4, logit_bias: { [forced]: 100 }, logprobs: true })));
    expect(whole.choices[0].message.content).toBe(text.decode([forced]).repeat(4));
    const ref = await greedyRef(await chatPrompt(), 1, (row) => (row[forced] += 100));
    expect(ref[0].id).toBe(forced);
    expect(whole.choices[0].logprobs.content[0].logprob).toBeCloseTo(ref[0].logprobs[forced], 5);
    expect(whole.choices[0].logprobs.content[0].logprob).toBeLessThan(-1); // not ~0: the bias is not in the reported distribution
  });

  it('logit_bias −100 bans a token: the greedy answer takes the next best, as the reference does', async () => {
    const { session } = await defaultModel();
    const text = session.text!;
    const prompt = await chatPrompt();
    const [plain] = await greedyRef(prompt, 1);
    const ref = await greedyRef(prompt, 6, (row) => (row[plain.id] -= 100));
    expect(ref[0].id).not.toBe(plain.id);
    const whole = await json(await post(app(), CHAT, greedy({ max_tokens: 6, logit_bias: { [plain.id]: -100 } })));
    expect(whole.choices[0].message.content).toBe(text.decode(ref.map((s) => s.id)));
    expect(whole.choices[0].message.content).not.toContain(text.decode([plain.id]));
  });

  it('presence and frequency penalties follow OpenAI\'s formula and change a greedy repetition', async () => {
    const { session } = await defaultModel();
    const text = session.text!;
    const prompt = await chatPrompt();
    const steps = 24;
    const plain = await greedyRef(prompt, steps);
    const ids = plain.map((s) => s.id);
    expect(new Set(ids).size).toBeLessThan(ids.length); // the plain greedy answer repeats a token
    for (const [presence, frequency] of [[1.5, 0], [0, 0.7], [0.4, 0.4]]) {
      const ref = await greedyRef(prompt, steps, openAiPenalties(presence, frequency));
      const whole = await json(await post(app(), CHAT, greedy({ max_tokens: steps, presence_penalty: presence, frequency_penalty: frequency })));
      expect(whole.choices[0].message.content).toBe(text.decode(ref.map((s) => s.id)));
      expect(ref.map((s) => s.id)).not.toEqual(ids);
    }
  });

  it('a constraint still wins over logit_bias and penalties: forced output (a −∞ mask) comes out whole', async () => {
    const { session } = await defaultModel();
    const text = session.text!;
    const forced = 'Four score and seven';
    const ids = text.encode(forced);
    const other = text.encode(' banana')[0];
    const bias = { [ids[0]]: -100, [ids[1]]: -100, [other]: 100 };
    const whole = await json(await post(app(), CHAT, greedy({ max_tokens: 20, x_force_output: forced, logit_bias: bias, presence_penalty: 2, frequency_penalty: 2 })));
    expect(whole.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: forced } });
  });
});

describe('n > 1', () => {
  it('n = 3: three choices, each the answer of the same request alone with seed + index; usage sums the completions', async () => {
    const a = app();
    const body = chat({ max_tokens: 8, temperature: 1, seed: 11, reasoning_effort: 'none', logprobs: true });
    const whole = await json(await post(a, CHAT, { ...body, n: 3 }));
    expect(whole.choices.map((c: Json) => c.index)).toEqual([0, 1, 2]);
    let completion = 0;
    for (let i = 0; i < 3; i++) {
      const alone = await json(await post(a, CHAT, { ...body, seed: 11 + i }));
      expect(whole.choices[i]).toEqual({ ...alone.choices[0], index: i });
      completion += alone.usage.completion_tokens;
    }
    expect(new Set(whole.choices.map((c: Json) => c.message.content)).size).toBeGreaterThan(1);
    expect(whole.usage.prompt_tokens).toBe((await chatPrompt()).length);
    expect(whole.usage.completion_tokens).toBe(completion);
    expect(whole.usage.total_tokens).toBe(whole.usage.prompt_tokens + completion);
  });

  it('streaming n = 3: a role chunk per index, chunks tagged with their index, one finish per index, the same text as non-streamed', async () => {
    const a = app();
    const body = chat({ max_tokens: 6, temperature: 1, seed: 5, reasoning_effort: 'none', n: 3 });
    const whole = await json(await post(a, CHAT, body));
    const res = await post(a, CHAT, { ...body, stream: true, stream_options: { include_usage: true } });
    const events = sseEvents(await res.text());
    expect(events.pop()).toBe('[DONE]');
    const chunks = events.map((e) => JSON.parse(e) as Json);
    const usage = chunks.pop()!;
    expect(usage.usage).toEqual(whole.usage);
    expect(chunks.slice(0, 3).map((c) => c.choices[0])).toEqual([0, 1, 2].map((index) => ({ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null })));
    const content = ['', '', ''];
    const finishes: number[] = [];
    for (const c of chunks.slice(3)) {
      expect(c.choices).toHaveLength(1);
      const { index, delta, finish_reason } = c.choices[0];
      content[index] += delta.content ?? '';
      if (finish_reason) finishes.push(index);
    }
    expect(finishes).toEqual([0, 1, 2]);
    expect(content).toEqual(whole.choices.map((c: Json) => c.message.content));
  });

  it('completions n = 2 gives two text choices', async () => {
    const whole = await json(await post(app(), COMPLETIONS, { model: MODEL_ID, prompt: 'Once upon a time', max_tokens: 5, seed: 3, n: 2 }));
    expect(whole.choices.map((c: Json) => c.index)).toEqual([0, 1]);
    const second = await json(await post(app(), COMPLETIONS, { model: MODEL_ID, prompt: 'Once upon a time', max_tokens: 5, seed: 4 }));
    expect(whole.choices[1].text).toBe(second.choices[0].text);
  });
});

describe('400 for out-of-range values', () => {
  const cases: [string, string, Json, string][] = [
    ['n = 9', CHAT, { n: 9 }, 'n'],
    ['n = 0', CHAT, { n: 0 }, 'n'],
    ['top_logprobs 21', CHAT, { logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
    ['top_logprobs without logprobs', CHAT, { top_logprobs: 2 }, 'top_logprobs'],
    ['logprobs as a number on chat', CHAT, { logprobs: 2 }, 'logprobs'],
    ['legacy logprobs 6', COMPLETIONS, { logprobs: 6 }, 'logprobs'],
    ['legacy logprobs true', COMPLETIONS, { logprobs: true }, 'logprobs'],
    ['presence_penalty 2.5', CHAT, { presence_penalty: 2.5 }, 'presence_penalty'],
    ['frequency_penalty -3', CHAT, { frequency_penalty: -3 }, 'frequency_penalty'],
    ['logit_bias 101', CHAT, { logit_bias: { '5': 101 } }, 'logit_bias'],
    ['logit_bias -100.5', CHAT, { logit_bias: { '5': -100.5 } }, 'logit_bias'],
    ['logit_bias key not an id', CHAT, { logit_bias: { '-1': 5 } }, 'logit_bias'],
    ['logit_bias id outside the vocabulary', CHAT, { logit_bias: { '4096': 5 } }, 'logit_bias'],
    ['logit_bias with 301 entries', CHAT, { logit_bias: Object.fromEntries(Array.from({ length: 301 }, (_, i) => [String(i), 1])) }, 'logit_bias'],
    ['logit_bias value a string', CHAT, { logit_bias: { '5': 'up' } }, 'logit_bias'],
  ];
  for (const [label, path, extra, param] of cases) {
    it(label, async () => {
      const base = path === CHAT ? chat() : { model: MODEL_ID, prompt: 'hi', max_tokens: 4 };
      const res = await post(app(), path, { ...base, ...extra });
      expect(res.status).toBe(400);
      expect((await json(res)).error).toMatchObject({ type: 'invalid_request_error', param });
    });
  }

  it('300 logit_bias entries at ±100 are accepted', async () => {
    const res = await post(app(), CHAT, chat({ max_tokens: 1, logit_bias: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [String(i + 10), i % 2 ? 100 : -100])) }));
    expect(res.status).toBe(200);
  });
});
