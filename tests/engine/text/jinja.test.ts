// engine/text/jinja.ts against Python: snippets.json rendered by jinja2 3.1.6 under Hugging Face's
// apply_chat_template settings (scripts/render-chat-template.py wrote snippets.expected.json; the
// test never runs Python), float reprs copied from CPython's repr(), and the JSON reading that
// keeps json.loads' int/float split.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { JsonNumber, parseJsonKeepingFloats, PyTemplate, pyFloatRepr, strftime } from '../../../engine/text/jinja.js';

const SUITE = fileURLToPath(new URL('../../fixtures/chat-template/', import.meta.url));
interface Snippet {
  name: string;
  template: string;
  variables: Record<string, unknown>;
}
const snippets = parseJsonKeepingFloats(readFileSync(`${SUITE}snippets.json`, 'utf8')) as Snippet[];
const expected = JSON.parse(readFileSync(`${SUITE}snippets.expected.json`, 'utf8')) as { name: string; output?: string; error?: string }[];

describe('PyTemplate renders as Python Jinja2 (fixtures/chat-template/snippets.expected.json)', () => {
  it('has one expectation per snippet', () => {
    expect(expected.map((e) => e.name)).toEqual(snippets.map((s) => s.name));
  });
  snippets.forEach((s, i) => {
    it(s.name, () => {
      const want = expected[i];
      if (want.error !== undefined) expect(() => new PyTemplate(s.template).render(s.variables)).toThrow(want.error);
      else expect(new PyTemplate(s.template).render(s.variables)).toBe(want.output);
    });
  });
  it('fixes real differences: @huggingface/jinja alone prints some of these snippets otherwise', () => {
    const differs = snippets.filter((s, i) => {
      if (expected[i].output === undefined || s.name.startsWith('strftime')) return false;
      try {
        return new Template(s.template).render(JSON.parse(JSON.stringify(s.variables))) !== expected[i].output;
      } catch {
        return true;
      }
    });
    expect(differs.map((s) => s.name)).toEqual(expect.arrayContaining(['str of literals', 'str of variables', 'string filter', 'tilde concatenation', 'tojson default', 'tojson indent', 'macro defaults and caller-free calls', 'length and trim by code point']));
  });
});

describe('pyFloatRepr', () => {
  // [repr(x), x] from CPython 3
  const cases: [string, number][] = [
    ['0.1', 0.1], ['0.5', 0.5], ['1.0', 1.0], ['2.0', 2.0], ['-2.5', -2.5], ['0.0001', 0.0001], ['1e-05', 1e-05], ['1.5e-05', 1.5e-05],
    ['123456789.0', 123456789.0], ['1000000000000000.0', 1e15], ['1e+16', 1e16], ['1.2345e+16', 1.2345e16], ['9007199254740992.0', 9007199254740992.0],
    ['1e+21', 1e21], ['1e+22', 1e22], ['1.7976931348623157e+308', 1.7976931348623157e308], ['5e-324', 5e-324], ['-0.0', -0], ['0.0', 0],
    ['3.141592653589793', Math.PI], ['100.0', 100], ['1e-07', 1e-7], ['0.30000000000000004', 0.1 + 0.2], ['2.5e-310', 2.5e-310],
    ['nan', NaN], ['inf', Infinity], ['-inf', -Infinity],
  ];
  for (const [repr, x] of cases) it(`${repr}`, () => expect(pyFloatRepr(x)).toBe(repr));
});

describe('parseJsonKeepingFloats', () => {
  it('keeps whole floats and big integers as json.loads reads them, the rest as JSON.parse', () => {
    const v = parseJsonKeepingFloats('{"a": 2.0, "b": 2, "c": 0.5, "d": 1e3, "e": -0.0, "f": 12345678901234567890, "g": "2.0 and 1e3", "h": [1.0]}') as Record<string, unknown>;
    expect(v.a).toEqual(new JsonNumber('2.0'));
    expect(v.b).toBe(2);
    expect(v.c).toBe(0.5);
    expect(v.d).toEqual(new JsonNumber('1e3'));
    expect(v.e).toEqual(new JsonNumber('-0.0'));
    expect(v.f).toEqual(new JsonNumber('12345678901234567890'));
    expect(v.g).toBe('2.0 and 1e3');
    expect(v.h).toEqual([new JsonNumber('1.0')]);
    expect(JSON.stringify(v)).toBe(JSON.stringify(JSON.parse('{"a": 2.0, "b": 2, "c": 0.5, "d": 1e3, "e": -0.0, "f": 12345678901234567890, "g": "2.0 and 1e3", "h": [1.0]}')));
  });
  it('rejects what JSON.parse rejects, even where the marking would make it valid', () => {
    expect(() => parseJsonKeepingFloats('[01.0]')).toThrow(SyntaxError);
    expect(() => parseJsonKeepingFloats('{"a": 2.0')).toThrow(SyntaxError);
  });
  it('renders marked numbers as Python prints them', () => {
    const v = parseJsonKeepingFloats('{"w": 2.0, "big": 12345678901234567890}');
    expect(new PyTemplate('{{ v.w }} {{ v.big }} {{ v|tojson }} {{ v|string }}').render({ v })).toBe("2.0 12345678901234567890 {\"w\": 2.0, \"big\": 12345678901234567890} {'w': 2.0, 'big': 12345678901234567890}");
  });
});

describe('strftime', () => {
  it('formats in the C locale', () => {
    const d = new Date(2026, 0, 5, 9, 7, 3); // a Monday
    expect(strftime(d, '%Y-%m-%d %H:%M:%S %a %A %b %B %j %y %I %p %-d %%')).toBe('2026-01-05 09:07:03 Mon Monday Jan January 005 26 09 AM 5 %');
  });
});
