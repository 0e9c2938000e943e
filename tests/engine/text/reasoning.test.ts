import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../engine/core/errors.js';
import { generate, type GenerateEvent } from '../../../engine/decode/generate.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { ReasoningSplitter, ThinkingBudget, lineEndingIds, thinkingBudgetFor } from '../../../engine/text/reasoning.js';
import { openSession } from '../../../engine/core/session.js';
import { TextCodec } from '../../../engine/text/text.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';
import { TOOL_CHAT_TEMPLATE, packCheckpoint } from '../../../weights-tools/pack.js';
import { synthesize } from '../../../weights-tools/synth.js';

// the random `tiny` model (seed 1) packed with the tool template: the embedded default before the
// trained demo replaced it, whose greedy thinking length the budget test below was measured on
const TMP = mkdtempSync(join(tmpdir(), 'edgetron-reasoning-'));
await synthesize({ preset: 'tiny', seed: 1, out: join(TMP, 'hf'), dtype: 'f32' });
await packCheckpoint(join(TMP, 'hf'), join(TMP, 'pack'), { chatTemplate: TOOL_CHAT_TEMPLATE });
const PACK = pathToFileURL(join(TMP, 'pack') + '/');
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const readJson = (name: string) => JSON.parse(readFileSync(new URL(name, PACK), 'utf8'));

const NL = 10;
const END = 13;
const V = 20;

/** Feed ids through the processor; return, for each step, the ids the mask left finite (null = no mask). */
function drive(budget: ThinkingBudget, ids: readonly number[]): (number[] | null)[] {
  return ids.map((id) => {
    const logits = new Float32Array(V).fill(1);
    budget.process(logits);
    const finite = [...logits.keys()].filter((i) => logits[i] !== -Infinity);
    budget.accept(id);
    return finite.length === V ? null : finite;
  });
}

const make = (budget: number, grace = 2) => new ThinkingBudget({ budget, grace, thinkEndId: END, newlineId: NL, endsLine: (id) => id === NL });

describe('ThinkingBudget (spec §15.4 recipe 2)', () => {
  it('after the budget, waits at most `grace` tokens for a line end, then forces newline and </think>', () => {
    const b = make(3, 2);
    // 3 reasoning tokens (budget), 2 grace tokens without a line end, then the forced pair
    expect(drive(b, [5, 6, 7, 8, 9, NL, END])).toEqual([null, null, null, null, null, [NL], [END]]);
    expect(b.finished).toBe(true);
    expect(drive(b, [4])).toEqual([null]);
  });

  it('forces as soon as the budget is spent on a line-ending token', () => {
    expect(drive(make(2), [5, NL, NL, END])).toEqual([null, null, [NL], [END]]);
  });

  it('forces a line end that arrives during the grace period', () => {
    expect(drive(make(1, 5), [5, 6, NL, NL, END])).toEqual([null, null, null, [NL], [END]]);
  });

  it('forces </think> at once with a budget of 0 (the prompt ends with "<think>\\n")', () => {
    expect(drive(make(0), [NL, END])).toEqual([[NL], [END]]);
  });

  it('stops intervening when the model closes its thinking itself', () => {
    const b = make(2);
    expect(drive(b, [5, END, 6, 7, 8, 9])).toEqual([null, null, null, null, null, null]);
    expect(b.finished).toBe(true);
  });

  it('forces </think> alone when the vocabulary has no single newline token', () => {
    const b = new ThinkingBudget({ budget: 1, grace: 0, thinkEndId: END, newlineId: null, endsLine: () => false });
    expect(drive(b, [5, END])).toEqual([null, [END]]);
  });

  it('rejects a negative or fractional budget', () => {
    expect(() => make(-1)).toThrow(InvalidOptionError);
    expect(() => make(1.5)).toThrow(/max_reasoning_tokens/);
  });
});

describe('ReasoningSplitter', () => {
  it('routes text before </think> to reasoning, drops the tag, and the rest to content', () => {
    const s = new ReasoningSplitter(true, END);
    expect([s.push(1, 'a'), s.push(2, 'b'), s.push(END, '</think>'), s.push(3, 'c')]).toEqual([
      { channel: 'reasoning', text: 'a' },
      { channel: 'reasoning', text: 'b' },
      { channel: 'content', text: '' },
      { channel: 'content', text: 'c' },
    ]);
    expect(s.reasoningTokens).toBe(3);
    expect(s.channel).toBe('content');
  });

  it('routes everything to content when thinking is off or the vocabulary has no </think>', () => {
    for (const s of [new ReasoningSplitter(false, END), new ReasoningSplitter(true, null)]) {
      expect(s.push(END, 'x')).toEqual({ channel: 'content', text: 'x' });
      expect(s.reasoningTokens).toBe(0);
    }
  });
});

describe('reasoning budget inside generate, on the random tiny model', () => {
  const text = TextCodec.fromJson(readJson('tokenizer.json'), readJson('tokenizer_config.json'));

  it('lineEndingIds holds exactly the ids whose text ends with a line feed', () => {
    const ids = lineEndingIds(text, 512);
    expect(ids.has(text.encode('\n')[0])).toBe(true);
    for (const id of ids) expect(text.decode([id]).endsWith('\n')).toBe(true);
    expect(ids.has(text.encode('the')[0])).toBe(false);
  });

  it('a budget of B ends thinking with newline + </think> within B + grace + 2 tokens; later than that without one', async () => {
    const ckpt = await openCheckpoint(new URL(PACK).pathname);
    const session = await openSession(ckpt, referenceBackend);
    const prompt = text.encodeChat([{ role: 'user', content: 'Hello' }]);
    expect(prompt.slice(-2)).toEqual([text.special.think, text.encode('\n')[0]]);
    const ids = async (processor?: ThinkingBudget) => {
      const out: number[] = [];
      for await (const ev of generate(session, prompt, { maxTokens: 30, temperature: 0, stopIds: [], logitsProcessor: processor }) as AsyncGenerator<GenerateEvent>) {
        if (ev.kind === 'token') out.push(ev.id);
      }
      return out;
    };
    const free = await ids();
    // greedy on this model closes thinking by itself only after 21 tokens
    expect(free.indexOf(text.special.thinkEnd!)).toBe(21);
    const budget = thinkingBudgetFor(text, 512, 4, 3);
    const forced = await ids(budget);
    const end = forced.indexOf(text.special.thinkEnd!);
    expect(end).toBeGreaterThanOrEqual(5);
    expect(end).toBeLessThanOrEqual(4 + 3 + 1);
    expect(forced[end - 1]).toBe(text.encode('\n')[0]);
    expect(budget.finished).toBe(true);
    // before the budget ran out, greedy decoding is untouched
    expect(forced.slice(0, 4)).toEqual(free.slice(0, 4));
    session.dispose();
    await ckpt.store.close();
  });
});
