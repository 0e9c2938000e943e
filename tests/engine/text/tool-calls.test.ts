import { describe, expect, it } from 'vitest';
import { isTextParam, ToolCallParser, type ToolCallEvent, type ToolSpec } from '../../../engine/text/tool-calls.js';

const TOOLS: ToolSpec[] = [
  { name: 'get_weather', parameters: { properties: { city: { type: 'string' }, days: { type: 'integer' }, opts: { type: 'object' }, zip: { type: 'string' } } } },
  { name: 'ping' },
];

/** Fold parser events into what a client reconstructs from the deltas. */
function fold(events: readonly ToolCallEvent[]) {
  let content = '';
  const calls: { id: string; name: string; args: string }[] = [];
  for (const ev of events) {
    if (ev.kind === 'content') content += ev.text;
    else if (ev.kind === 'call-start') calls[ev.index] = { id: ev.id, name: ev.name, args: '' };
    else if (ev.kind === 'call-args') calls[ev.index].args += ev.arguments;
  }
  return { content, calls, ends: events.filter((e) => e.kind === 'call-end').map((e) => (e as { index: number }).index) };
}

function parseChunks(chunks: readonly string[], tools = TOOLS) {
  const p = new ToolCallParser(tools);
  const events = chunks.flatMap((c) => p.push(c));
  return fold([...events, ...p.flush()]);
}

const CALL = '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>';

describe('ToolCallParser (spec §15.3)', () => {
  it('turns one call into a start delta, argument deltas that form one JSON object, and an end', () => {
    const p = new ToolCallParser(TOOLS, (i) => `id${i}`);
    const events = p.push(CALL);
    expect(events).toEqual([
      { kind: 'call-start', index: 0, id: 'id0', name: 'get_weather' },
      { kind: 'call-args', index: 0, arguments: '{"city": "Paris"' },
      { kind: 'call-args', index: 0, arguments: ', "days": 3' },
      { kind: 'call-args', index: 0, arguments: '}' },
      { kind: 'call-end', index: 0 },
    ]);
    expect(p.flush()).toEqual([]);
    expect(p.callCount).toBe(1);
  });

  it('gives the same result for every split into two chunks and for one character at a time', () => {
    const text = `Let me check.${CALL}`;
    const whole = parseChunks([text]);
    expect(whole.content).toBe('Let me check.');
    expect(JSON.parse(whole.calls[0].args)).toEqual({ city: 'Paris', days: 3 });
    for (let cut = 0; cut <= text.length; cut++) expect(parseChunks([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(parseChunks([...text])).toEqual(whole);
  });

  it('never releases a partial <tool_call> tag as content, and releases text that turns out not to be one', () => {
    const p = new ToolCallParser(TOOLS);
    expect(p.push('a <tool')).toEqual([{ kind: 'content', text: 'a ' }]);
    expect(p.push('box> b')).toEqual([{ kind: 'content', text: '<toolbox> b' }]);
    expect(p.push('<')).toEqual([]);
    expect(p.flush()).toEqual([{ kind: 'content', text: '<' }]);
  });

  it('gives back a <tool_call> that is not followed by <function=…> as content', () => {
    expect(parseChunks(['x<tool_call>\nhello</tool_call>'])).toEqual({ content: 'x<tool_call>\nhello</tool_call>', calls: [], ends: [] });
  });

  it('parses several calls with their own indices, and a call without parameters as {}', () => {
    const r = parseChunks([`${CALL}\n<tool_call>\n<function=ping>\n</function>\n</tool_call>`]);
    expect(r.calls.map((c) => [c.name, JSON.parse(c.args)])).toEqual([
      ['get_weather', { city: 'Paris', days: 3 }],
      ['ping', {}],
    ]);
    expect(r.ends).toEqual([0, 1]);
    expect(r.content).toBe('\n');
  });

  it('types values by the schema: string keeps the text, other types parse as JSON or fall back to text', () => {
    const body = (name: string, v: string) => `<parameter=${name}>\n${v}\n</parameter>\n`;
    const text = `<tool_call>\n<function=get_weather>\n${body('zip', '007')}${body('opts', '{"units": "C", "n": [1, 2]}')}${body('days', 'three')}${body('city', 'New\nYork')}</function>\n</tool_call>`;
    expect(JSON.parse(parseChunks([text]).calls[0].args)).toEqual({ zip: '007', opts: { units: 'C', n: [1, 2] }, days: 'three', city: 'New\nYork' });
  });

  it('parses untyped parameters with structure (anyOf, properties, items, $ref) as JSON; keeps plain untyped ones as text', () => {
    const tools: ToolSpec[] = [{ name: 'f', parameters: { properties: { n: { anyOf: [{ type: 'integer' }, { type: 'null' }] }, o: { properties: {} }, l: { items: {} }, t: {}, e: { enum: ['1', '2'] } } } }];
    const body = (name: string, v: string) => `<parameter=${name}>\n${v}\n</parameter>\n`;
    const text = `<tool_call>\n<function=f>\n${body('n', '5')}${body('o', '{"a": 1}')}${body('l', '[true]')}${body('t', '12')}${body('e', '2')}</function>\n</tool_call>`;
    expect(JSON.parse(parseChunks([text], tools).calls[0].args)).toEqual({ n: 5, o: { a: 1 }, l: [true], t: '12', e: '2' });
    expect(isTextParam({ type: ['string', 'null'] })).toBe(true);
    expect(isTextParam({ anyOf: [{ type: 'string' }] })).toBe(false);
  });

  it('keeps parameters of an unknown tool as strings', () => {
    const r = parseChunks(['<tool_call><function=other><parameter=n>5</parameter></function></tool_call>']);
    expect(r.calls[0].name).toBe('other');
    expect(JSON.parse(r.calls[0].args)).toEqual({ n: '5' });
  });

  it('closes the arguments of a call cut off by the end of the stream', () => {
    const r = parseChunks(['<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n4']);
    expect(JSON.parse(r.calls[0].args)).toEqual({ city: 'Paris' });
    expect(r.ends).toEqual([0]);
  });

  it('closes the function at </tool_call> when </function> is missing, and skips stray text between parameters', () => {
    const r = parseChunks(['<tool_call>\n<function=ping>\nnoise\n<parameter=a>\n1\n</parameter>\n</tool_call>after']);
    expect(JSON.parse(r.calls[0].args)).toEqual({ a: '1' });
    expect(r.content).toBe('after');
  });
});
