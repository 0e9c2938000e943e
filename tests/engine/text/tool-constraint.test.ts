// engine/text/tool-constraint.ts: the tool-call grammar (spec §15.3) against hand-written calls and
// costs, its shortest completions, and the two logits processors driven by adversarial and
// random logits over a small vocabulary; every forced answer is read back by the independent
// parser (engine/text/tool-calls.ts).
import { describe, expect, it } from 'vitest';
import { BannedText, TOOL_CALL_TAG, ToolCallConstraint, ToolCallGrammar } from '../../../engine/text/tool-constraint.js';
import { ToolCallParser, type ToolCallEvent, type ToolSpec } from '../../../engine/text/tool-calls.js';
import { drive as driveVocab, rng, walkThenComplete } from '../../helpers/grammar-drive.js';

const WEATHER: ToolSpec = {
  name: 'get_weather',
  parameters: {
    properties: {
      city: { type: 'string' },
      days: { type: 'integer' },
      unit: { type: 'string', enum: ['c', 'f'] },
      detail: { type: 'boolean' },
      where: { type: 'object' },
      scale: { type: 'number' },
    },
    required: ['city', 'days'],
  } as ToolSpec['parameters'],
};
const ADD: ToolSpec = { name: 'add', parameters: { properties: { a: { type: 'integer' } }, required: ['a'] } as ToolSpec['parameters'] };
const PING: ToolSpec = { name: 'ping' };

const call = (name: string, params: [string, string][]) =>
  `<tool_call>\n<function=${name}>\n${params.map(([k, v]) => `<parameter=${k}>\n${v}\n</parameter>\n`).join('')}</function>\n</tool_call>`;

/** The calls the parser reads from `text`, arguments parsed as JSON. */
function parsed(text: string, tools: readonly ToolSpec[]) {
  const parser = new ToolCallParser(tools);
  const events: ToolCallEvent[] = [...parser.push(text), ...parser.flush()];
  const calls: { name: string; args: string }[] = [];
  let content = '';
  for (const e of events) {
    if (e.kind === 'call-start') calls.push({ name: e.name, args: '' });
    else if (e.kind === 'call-args') calls[e.index].args += e.arguments;
    else if (e.kind === 'content') content += e.text;
  }
  return { content, calls: calls.map((c) => ({ name: c.name, args: JSON.parse(c.args) as Record<string, unknown> })) };
}

describe('ToolCallGrammar', () => {
  it('accepts well-formed calls and says when they are complete', () => {
    const ok = [
      call('get_weather', [['city', 'Paris'], ['days', '3']]),
      call('get_weather', [['days', '-12'], ['unit', 'f'], ['city', 'a </parameter x\nb'], ['detail', 'false'], ['where', '{"lat": 1.5e3, "tags": ["a", {"b": null}], "s": "q\\"\\u00e9"}'], ['scale', '0.25']]),
      call('ping', []),
    ];
    for (const text of ok) {
      const g = ToolCallGrammar.start([WEATHER, PING]);
      expect(g.feedText(text), text).toBe(true);
      expect(g.complete).toBe(true);
      expect(g.cost).toBe(0);
    }
  });

  it('rejects calls outside the tools, the schema or JSON', () => {
    const bad = [
      'Sure! <tool_call>',
      '<tool_call>\n<function=get_time>',
      call('get_weather', [['city', 'Paris']]), // days is required
      call('get_weather', [['city', 'a'], ['days', '1'], ['city', 'b']]), // twice
      call('get_weather', [['city', 'a'], ['days', '1'], ['country', 'b']]), // unknown
      call('get_weather', [['city', 'a'], ['days', '1.5']]), // integer
      call('get_weather', [['city', 'a'], ['days', '01']]),
      call('get_weather', [['city', 'a'], ['days', '1'], ['unit', 'k']]), // enum
      call('get_weather', [['city', 'a'], ['days', '1'], ['detail', 'yes']]),
      call('get_weather', [['city', 'a'], ['days', '1'], ['where', '[1]']]), // object
      call('get_weather', [['city', 'a'], ['days', '1'], ['where', '{"a": 1,}']]),
      call('get_weather', [['city', 'a'], ['days', '1'], ['where', "{'a': 1}"]]),
      call('get_weather', [['city', 'a'], ['days', '1'], ['scale', '1.']]),
      call('get_weather', [['city', 'a'], ['days', '1'], ['scale', '1e999']]), // not finite
      call('get_weather', [['city', 'a'], ['days', '1'.repeat(101)]]),
    ];
    for (const text of bad) expect(ToolCallGrammar.start([WEATHER, PING]).feedText(text + '\n'), text).toBe(false);
  });

  it('holds JSON arguments to their nested schema (objects, arrays, enums, anyOf)', () => {
    const ROUTE: ToolSpec = {
      name: 'route',
      parameters: {
        properties: {
          to: { type: 'object', properties: { lat: { type: 'number' }, tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 1 } }, required: ['lat'], additionalProperties: false },
          n: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
        },
        required: ['to'],
      } as ToolSpec['parameters'],
    };
    const ok = [call('route', [['to', '{"lat": 1.5}']]), call('route', [['n', 'null'], ['to', '{"tags":["b"],"lat":-2}']]), call('route', [['to', '{"lat":0}'], ['n', '7']])];
    for (const text of ok) expect(ToolCallGrammar.start([ROUTE]).feedText(text), text).toBe(true);
    const bad = [
      call('route', [['to', '{}']]), // lat required
      call('route', [['to', '{"lat":1,"x":2}']]),
      call('route', [['to', '{"lat":1,"tags":["c"]}']]),
      call('route', [['to', '{"lat":1,"tags":["a","b"]}']]), // maxItems
      call('route', [['to', '{"lat":1}'], ['n', '1.5']]),
    ];
    for (const text of bad) expect(ToolCallGrammar.start([ROUTE]).feedText(text), text).toBe(false);
    // a JSON string never holds `<` (the parser would end the value at a `</parameter>` in it)
    expect(ToolCallGrammar.start([WEATHER]).feedText(call('get_weather', [['city', 'a'], ['days', '1'], ['where', '{"k": "x</parameter>"}']]))).toBe(false);
    expect(ToolCallGrammar.start([WEATHER]).feedText(call('get_weather', [['city', 'a'], ['days', '1'], ['where', '{"k": "x\\u003c/parameter>"}']]))).toBe(true);
    const g = ToolCallGrammar.start([ROUTE]);
    g.feedText('<tool_call>\n<function=route>\n<parameter=to>\n{');
    expect(g.completion()).toBe('"lat":0}\n</parameter>\n</function>\n</tool_call>');
  });

  it('costs are the shortest completions, counted by hand', () => {
    const g = ToolCallGrammar.start([ADD]);
    // <tool_call>\n<function=add>\n (27) <parameter=a>\n (14) 0 (1) \n</parameter>\n (14) </function>\n</tool_call> (24)
    expect(g.cost).toBe(80);
    g.feedText('<tool_call>\n<function=add>\n');
    expect(g.cost).toBe(53);
    g.feedText('<parameter=a>\n-');
    expect(g.cost).toBe(1 + 14 + 24);
    g.feedText('7');
    expect(g.cost).toBe(14 + 24);
    const obj = ToolCallGrammar.start([WEATHER]);
    obj.feedText(call('get_weather', [['city', 'x'], ['days', '1']]).replace(/<\/function>[^]*$/, '') + '<parameter=where>\n{"k": [1, "\\u00');
    // 2 hex digits, the quote, ']', '}', then \n</parameter>\n and the end
    expect(obj.cost).toBe(2 + 1 + 1 + 1 + 14 + 24);
  });

  it('from any reachable state, the cheapest next character lowers the cost by one, down to a complete call', () => {
    const tools = [WEATHER, ADD, PING];
    const alphabet = [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), '\n', 'é'];
    const next = rng(7);
    for (let trial = 0; trial < 60; trial++) {
      const text = walkThenComplete(ToolCallGrammar.start(tools), alphabet, next, 120);
      const { calls, content } = parsed(text, tools);
      expect(content).toBe('');
      expect(calls).toHaveLength(1);
      const spec = tools.find((t) => t.name === calls[0].name)!;
      for (const r of (spec.parameters as { required?: string[] } | undefined)?.required ?? []) expect(calls[0].args).toHaveProperty(r);
      if ('days' in calls[0].args) expect(Number.isInteger(calls[0].args.days)).toBe(true);
      if ('where' in calls[0].args) expect(calls[0].args.where).toBeTypeOf('object');
      if ('unit' in calls[0].args) expect(['c', 'f']).toContain(calls[0].args.unit);
    }
  });
});

/** A vocabulary: every printable ASCII character, some longer pieces, two stop ids and `</think>`. */
const PIECES = ['<tool_call>', '<tool', '_call>', '<function=', 'get_weather', '</parameter>', 'Paris', ' the', '{"', '": ', '12', 'true', 'hello', 'é'];
const VOCAB = [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), '\n', ...PIECES, '<|im_end|>', '</s>', '</think>', ''];
const STOP = [VOCAB.indexOf('<|im_end|>'), VOCAB.indexOf('</s>')];
const THINK_END = VOCAB.indexOf('</think>');
const decoder = { decode: (ids: readonly number[]) => ids.map((i) => VOCAB[i]).join('') };

/** Sample with the processor until a stop id or maxTokens; `prefer` shapes the raw logits. */
const drive = (processor: Parameters<typeof driveVocab>[0], maxTokens: number, prefer: (id: number, step: number) => number, seed = 1) => driveVocab(processor, VOCAB, STOP, maxTokens, prefer, seed);

describe('ToolCallConstraint', () => {
  const options = { decoder, vocabSize: VOCAB.length, stopIds: STOP, thinkEndId: null };

  it('forces a complete call with schema-valid arguments out of random logits, closing it in time', () => {
    for (const [seed, maxTokens] of [[1, 400], [2, 120], [3, 90], [4, 75], [5, 71], [6, 70], [7, 66]] as const) {
      const forced = new ToolCallConstraint({ ...options, tools: [WEATHER], maxTokens });
      const ids = drive(forced, maxTokens, () => 0, seed);
      expect(forced.complete, `${seed} ${JSON.stringify(decoder.decode(ids))}`).toBe(true);
      expect(STOP).toContain(ids.at(-1));
      expect(ids.length).toBeLessThanOrEqual(maxTokens);
      const { calls, content } = parsed(decoder.decode(ids.slice(0, -1)), [WEATHER]);
      expect(content).toBe('');
      expect(calls).toHaveLength(1);
      expect(calls[0].name).toBe('get_weather');
      expect(calls[0].args.city).toBeTypeOf('string');
      expect(Number.isInteger(calls[0].args.days)).toBe(true);
    }
  });

  it('needs no more than the fewest tokens of the shortest call, plus the stop id', () => {
    const shortest = '<tool_call>\n<function=get_weather>\n<parameter=city>\n</parameter>\n<parameter=days>\n0\n</parameter>\n</function>\n</tool_call>';
    expect(ToolCallGrammar.start([WEATHER]).completion()).toBe(shortest);
    // fewest VOCAB tokens that spell it (dynamic programming over the text)
    const fewest = [0];
    for (let i = 1; i <= shortest.length; i++) fewest[i] = Math.min(...VOCAB.filter((t) => t && shortest.slice(0, i).endsWith(t)).map((t) => fewest[i - t.length] + 1));
    const maxTokens = fewest[shortest.length] + 1;
    for (const seed of [1, 2, 3]) {
      const forced = new ToolCallConstraint({ ...options, tools: [WEATHER], maxTokens });
      const ids = drive(forced, maxTokens, () => 0, seed);
      expect(forced.complete).toBe(true);
      expect(parsed(decoder.decode(ids.slice(0, -1)), [WEATHER]).calls).toEqual([{ name: 'get_weather', args: { city: '', days: 0 } }]);
    }
  });

  it('masks exactly the tokens the grammar takes (the sorted walk and the free-text shortcuts skip none and add none)', () => {
    const next = rng(5);
    const alphabet = VOCAB.slice(0, 96);
    for (let trial = 0; trial < 30; trial++) {
      const g = ToolCallGrammar.start([WEATHER, ADD]);
      const forced = new ToolCallConstraint({ ...options, tools: [WEATHER, ADD], maxTokens: 10_000 });
      for (let step = 0; step < 120 && !g.complete; step++) {
        const logits = new Float32Array(VOCAB.length);
        forced.process(logits);
        const takes = (t: string, id: number) => t !== '' && !STOP.includes(id) && g.copy().feedText(t);
        expect(VOCAB.filter((t, id) => logits[id] > -Infinity && !STOP.includes(id))).toEqual(VOCAB.filter(takes));
        const choices = alphabet.filter((ch) => g.copy().feed(ch));
        const c = choices[Math.floor(next() * choices.length)];
        g.feed(c);
        forced.accept(VOCAB.indexOf(c));
      }
    }
  });

  it('overrules logits that want to stop at once or to ramble in a string forever', () => {
    const stopFirst = new ToolCallConstraint({ ...options, tools: [WEATHER], maxTokens: 200 });
    const ids = drive(stopFirst, 200, (id) => (STOP.includes(id) ? 50 : 0));
    expect(parsed(decoder.decode(ids.slice(0, -1)), [WEATHER]).calls).toHaveLength(1);
    const rambler = new ToolCallConstraint({ ...options, tools: [WEATHER], maxTokens: 150 });
    const hello = VOCAB.indexOf('hello');
    const long = drive(rambler, 150, (id) => (id === hello ? 50 : 0));
    expect(long.length).toBeLessThanOrEqual(150);
    expect(STOP).toContain(long.at(-1));
    const { calls } = parsed(decoder.decode(long.slice(0, -1)), [WEATHER]);
    expect(calls[0].args.city).toMatch(/^(hello)+/);
    expect(Number.isInteger(calls[0].args.days)).toBe(true);
  });

  it('with thinking on, lets the model reason, then forces </think> early enough for the call', () => {
    const forced = new ToolCallConstraint({ ...options, tools: [ADD], maxTokens: 100, thinkEndId: THINK_END });
    const ids = drive(forced, 100, (id) => (id === THINK_END || STOP.includes(id) ? -50 : 0));
    const end = ids.indexOf(THINK_END);
    expect(end).toBeGreaterThan(0);
    expect(ids.slice(0, end).some((id) => STOP.includes(id))).toBe(false);
    expect(STOP).toContain(ids.at(-1));
    expect(parsed(decoder.decode(ids.slice(end + 1, -1)), [ADD]).calls).toEqual([{ name: 'add', args: { a: expect.any(Number) } }]);
  });

  it('writes as much of the call as fits when max_tokens is shorter than any call', () => {
    const forced = new ToolCallConstraint({ ...options, tools: [ADD], maxTokens: 5 });
    const ids = drive(forced, 5, () => 0);
    expect(ids).toHaveLength(5);
    expect('<tool_call>\n<function=add>\n').toContain(decoder.decode(ids));
  });
});

describe('BannedText', () => {
  it('keeps <tool_call> out whichever way the tokens would spell it', () => {
    const tag = VOCAB.indexOf('<tool_call>');
    const part = [VOCAB.indexOf('<tool'), VOCAB.indexOf('_call>')];
    const ban = new BannedText(TOOL_CALL_TAG, decoder, VOCAB.length);
    // logits that want the whole tag, then its two halves, then its characters one by one
    const want = [...'<tool_call>'].map((c) => VOCAB.indexOf(c));
    const ids = drive(ban, 60, (id, step) => (step < 20 ? (id === tag || id === part[0] ? 40 : id === part[1] ? 30 : 0) : id === want[step % want.length] ? 40 : 0));
    const text = decoder.decode(ids);
    expect(text).not.toContain(TOOL_CALL_TAG);
    expect(text).toContain('<tool'); // the prefix alone is fine
  });

  it('without the ban the same logits do write the tag (the test can fail)', () => {
    const ids = drive({ process() {}, accept() {} }, 5, (id) => (id === VOCAB.indexOf('<tool_call>') ? 40 : 0));
    expect(decoder.decode(ids)).toContain(TOOL_CALL_TAG);
  });
});
