import { describe, expect, it } from 'vitest';
import { JsonSyntaxError } from '../../../engine/core/errors.js';
import { parseConfigJson, stringifyConfigJson } from '../../../engine/formats/config-json.js';

const parse = (text: string) => parseConfigJson(text, 'model/config.json');

/** The JsonSyntaxError `text` raises. */
function syntaxError(text: string): JsonSyntaxError {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(JsonSyntaxError);
    return e as JsonSyntaxError;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseConfigJson', () => {
  it('reads what Python json.dumps(indent=2) writes for time_step_limit (0.0, inf)', () => {
    // json.dumps({"time_step_limit": (0.0, float("inf")), "x": float("nan"), "y": -float("inf")}, indent=2)
    const python = '{\n  "time_step_limit": [\n    0.0,\n    Infinity\n  ],\n  "x": NaN,\n  "y": -Infinity\n}\n';
    const v = parse(python) as { time_step_limit: number[]; x: number; y: number };
    expect(v.time_step_limit).toEqual([0, Infinity]);
    expect(Number.isNaN(v.x)).toBe(true);
    expect(v.y).toBe(-Infinity);
  });

  it('turns transformers 5 {"__float__": …} objects into numbers, anywhere', () => {
    const v = parse('{"time_step_limit": [0.0, {"__float__": "Infinity"}], "a": {"b": {"__float__": "-Infinity"}}, "c": {"__float__": "NaN"}}') as Record<string, unknown>;
    expect(v.time_step_limit).toEqual([0, Infinity]);
    expect(v.a).toEqual({ b: -Infinity });
    expect(Number.isNaN(v.c)).toBe(true);
    // an object with more keys is data
    expect(parse('{"o": {"__float__": "Infinity", "k": 1}}')).toEqual({ o: { __float__: 'Infinity', k: 1 } });
  });

  it('agrees with JSON.parse on plain JSON, escapes, unicode, nesting and a __proto__ key', () => {
    const texts = [
      '{"a": 1, "b": [true, false, null], "c": {"d": -0.5e-3, "e": "x\\ny\\u00e9\\"\\\\\\/"}, "f": [], "g": {}}',
      ' [ 1 , 2.5 , -3E+2 , "Infinity" , "NaN" ] ',
      '"just a string"',
      '{"__proto__": {"polluted": 1}, "k": "é ☃ 😀"}',
      '{"dup": 1, "dup": 2}',
    ];
    for (const t of texts) expect(parse(t)).toEqual(JSON.parse(t));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps a bare token inside a string a string', () => {
    expect(parse('{"note": "Infinity NaN -Infinity", "k": ["Infinity"]}')).toEqual({ note: 'Infinity NaN -Infinity', k: ['Infinity'] });
  });

  it.each([
    ['{"a": Infinityx}', 1, 7, /unknown token "Infinityx"/],
    ['{"a": +Infinity}', 1, 7, /unexpected "\+"; expected a value/],
    ['{"a": infinity}', 1, 7, /unknown token "infinity"/],
    ['{"a": -infinity}', 1, 7, /invalid number "-infinity"/],
    ['{"a": -NaN}', 1, 7, /invalid number "-NaN"/],
    ['{"a": nan}', 1, 7, /unknown token "nan"/],
    ['{"a": None}', 1, 7, /unknown token "None"/],
    ['{\n  "a": 1,\n  "b": 01\n}', 3, 8, /invalid number "01"/],
    ['{"a": 1.}', 1, 7, /invalid number "1\."/],
    ['{"a": [1, 2,]}', 1, 13, /unexpected "\]"; expected a value/],
    ['{"a": 1,}', 1, 9, /expected a "quoted" key/],
    ["{'a': 1}", 1, 2, /expected a "quoted" key/],
    ['{"a" 1}', 1, 6, /expected ':'/],
    ['{"a": 1} x', 1, 10, /unexpected "x" after the top-level value/],
    ['{"a": "tab\there"}', 1, 11, /control character U\+0009/],
    ['{"a": "\\x41"}', 1, 8, /invalid escape \\x/],
    ['{"a": "\\u12g4"}', 1, 8, /4 hex digits/],
    ['{"a": "open', 1, 7, /unterminated string/],
    ['{"a": [1, 2', 1, 12, /end of file; expected ',' or '\]'/],
    ['', 1, 1, /end of file; expected a value/],
    ['{"a": {"__float__": "inf"}}', 1, 7, /\{"__float__": "inf"\} must spell "Infinity", "-Infinity" or "NaN"/],
    ['{"a": {"__float__": 1}}', 1, 7, /must spell/],
  ])('rejects %j at line %i, column %i', (text, line, column, reason) => {
    const e = syntaxError(text);
    expect([e.line, e.column]).toEqual([line, column]);
    expect(e.reason).toMatch(reason);
    expect(e.message).toMatch(new RegExp(`^model/config\\.json: malformed JSON: line ${line}, column ${column}: `));
  });
});

describe('stringifyConfigJson', () => {
  it('is JSON.stringify(v, null, 2) + newline for finite values', () => {
    const v = { a: 1, b: [1, 'x', null, { c: true }], d: {}, e: [], f: 'Infinity', g: undefined, h: 1e-5 };
    expect(stringifyConfigJson(v)).toBe(`${JSON.stringify(v, null, 2)}\n`);
  });

  it('writes non-finite numbers as bare tokens and reads them back', () => {
    const v = { time_step_limit: [0, Infinity], lo: -Infinity, n: NaN };
    const text = stringifyConfigJson(v);
    expect(text).toBe('{\n  "time_step_limit": [\n    0,\n    Infinity\n  ],\n  "lo": -Infinity,\n  "n": NaN\n}\n');
    expect(parse(text)).toEqual(v);
    expect(() => JSON.parse(text)).toThrow(); // not strict JSON: what Python writes
  });
});
