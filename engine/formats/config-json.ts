// spec §18, §6.4: config files as Hugging Face writes them. Python's json module writes a float
// that JSON cannot spell as a bare token (`"time_step_limit": [0.0, Infinity]`); transformers 5
// writes it as `{"__float__": "Infinity"}`. The reader is a tokenizer-level JSON parser that
// accepts exactly RFC 8259 JSON plus the bare tokens `Infinity`, `-Infinity` and `NaN` outside
// strings (never a text replace, so string contents are untouched), and turns a one-key
// `{"__float__": …}` object into its number. Anything else is a JsonSyntaxError naming the
// file, line and column. The writer is JSON.stringify(value, null, 2) that writes non-finite
// numbers as those bare tokens, so a config read here is written back as it was read.

import { JsonSyntaxError } from '../core/errors.js';

/** The bare tokens Python's json module writes for non-finite floats, and their values. */
const NON_FINITE: Readonly<Record<string, number>> = { Infinity: Infinity, '-Infinity': -Infinity, NaN: NaN };
const LITERALS: Readonly<Record<string, unknown>> = { true: true, false: false, null: null, Infinity: Infinity, NaN: NaN };
/** transformers 5's spelling of a non-finite float: an object with this one key. */
const FLOAT_KEY = '__float__';

const WORD = /[A-Za-z_$][\w$]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const ESCAPES = '"\\/bfnrtu';

class Parser {
  private at = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  parse(): unknown {
    this.skipSpace();
    const value = this.value();
    this.skipSpace();
    if (this.at < this.text.length) this.fail(`unexpected ${this.describe()} after the top-level value`);
    return value;
  }

  private fail(reason: string, at = this.at): never {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - (before.lastIndexOf('\n') + 1) + 1;
    throw new JsonSyntaxError(this.file, line, column, reason);
  }

  private describe(at = this.at): string {
    return at >= this.text.length ? 'end of file' : JSON.stringify(this.text[at]);
  }

  private skipSpace(): void {
    while (this.at < this.text.length && ' \t\n\r'.includes(this.text[this.at])) this.at++;
  }

  private value(): unknown {
    const ch = this.text[this.at];
    if (ch === '{') return this.object();
    if (ch === '[') return this.array();
    if (ch === '"') return this.string();
    if (ch === '-' && this.text.startsWith('-Infinity', this.at)) {
      this.at++;
      return -(this.word() as number);
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) return this.number();
    if (ch !== undefined && /[A-Za-z_$]/.test(ch)) return this.word();
    return this.fail(`unexpected ${this.describe()}; expected a value`);
  }

  /** A bare word: true, false, null, or Python's Infinity / NaN; anything longer or else fails. */
  private word(): unknown {
    WORD.lastIndex = this.at;
    const word = WORD.exec(this.text)![0];
    if (!Object.hasOwn(LITERALS, word)) {
      this.fail(`unknown token ${JSON.stringify(word)} (JSON has true, false and null; config files also Infinity, -Infinity and NaN)`);
    }
    this.at += word.length;
    return LITERALS[word];
  }

  private number(): number {
    NUMBER.lastIndex = this.at;
    const m = NUMBER.exec(this.text);
    const next = m ? this.text[this.at + m[0].length] : undefined;
    if (!m || (next !== undefined && /[\w.+\-$]/.test(next))) {
      const end = this.text.slice(this.at).search(/[\s,\]}]|$/);
      this.fail(`invalid number ${JSON.stringify(this.text.slice(this.at, this.at + end))}`);
    }
    this.at += m[0].length;
    return Number(m[0]);
  }

  private string(): string {
    const start = this.at++;
    let escaped = false;
    for (;;) {
      if (this.at >= this.text.length) this.fail('unterminated string', start);
      const ch = this.text[this.at];
      if (ch === '"') break;
      if (ch < ' ') this.fail(`control character U+${ch.charCodeAt(0).toString(16).padStart(4, '0')} inside a string (escape it)`);
      if (ch === '\\') {
        escaped = true;
        const e = this.text[this.at + 1];
        if (e === undefined || !ESCAPES.includes(e)) this.fail(`invalid escape \\${e ?? ''}`);
        if (e === 'u') {
          HEX4.lastIndex = this.at + 2;
          if (!HEX4.test(this.text)) this.fail('\\u must be followed by 4 hex digits');
          this.at += 4;
        }
        this.at += 2;
      } else {
        this.at++;
      }
    }
    this.at++;
    const body = this.text.slice(start + 1, this.at - 1);
    // every escape was checked above, so JSON.parse only decodes
    return escaped ? (JSON.parse(this.text.slice(start, this.at)) as string) : body;
  }

  private array(): unknown[] {
    this.at++;
    const out: unknown[] = [];
    this.skipSpace();
    if (this.text[this.at] === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.value());
      this.skipSpace();
      const ch = this.text[this.at];
      this.at++;
      if (ch === ']') return out;
      if (ch !== ',') this.fail(`unexpected ${this.describe(this.at - 1)}; expected ',' or ']'`, this.at - 1);
    }
  }

  private object(): unknown {
    const start = this.at++;
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.text[this.at] === '}') {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] !== '"') this.fail(`unexpected ${this.describe()}; expected a "quoted" key`);
      const key = this.string();
      this.skipSpace();
      if (this.text[this.at] !== ':') this.fail(`unexpected ${this.describe()}; expected ':'`);
      this.at++;
      this.skipSpace();
      // defineProperty: a "__proto__" key is data, as in JSON.parse
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const ch = this.text[this.at];
      this.at++;
      if (ch === '}') return this.revive(out, start);
      if (ch !== ',') this.fail(`unexpected ${this.describe(this.at - 1)}; expected ',' or '}'`, this.at - 1);
    }
  }

  /** `{"__float__": "Infinity" | "-Infinity" | "NaN"}` (transformers 5) → the number. */
  private revive(obj: Record<string, unknown>, start: number): unknown {
    const keys = Object.keys(obj);
    if (keys.length !== 1 || keys[0] !== FLOAT_KEY) return obj;
    const spelled = obj[FLOAT_KEY];
    if (typeof spelled !== 'string' || !Object.hasOwn(NON_FINITE, spelled)) {
      this.fail(`{"${FLOAT_KEY}": ${JSON.stringify(spelled)}} must spell "Infinity", "-Infinity" or "NaN"`, start);
    }
    return NON_FINITE[spelled];
  }
}

/**
 * Parse a config file's text (config.json, hf_quant_config.json, generation_config.json): JSON
 * plus Python's bare `Infinity`, `-Infinity`, `NaN`, with transformers 5's
 * `{"__float__": "Infinity"}` turned into the number. `file` names the file in errors.
 * @example
 * parseConfigJson('{"time_step_limit": [0.0, Infinity]}', 'config.json'); // { time_step_limit: [0, Infinity] }
 * parseConfigJson('{"a": [0.0, {"__float__": "-Infinity"}]}', 'config.json'); // { a: [0, -Infinity] }
 * parseConfigJson('{"a": infinity}', 'config.json'); // throws JsonSyntaxError: config.json: malformed JSON: line 1, column 7: unknown token "infinity" …
 */
export function parseConfigJson(text: string, file: string): unknown {
  return new Parser(text, file).parse();
}

/**
 * Write a config object as JSON.stringify(value, null, 2) does, except that non-finite numbers
 * are Python's bare `Infinity`, `-Infinity` and `NaN` (what Hugging Face writes), so
 * parseConfigJson reads back the same values. Ends with a newline.
 * @example
 * stringifyConfigJson({ time_step_limit: [0, Infinity] }); // '{\n  "time_step_limit": [\n    0,\n    Infinity\n  ]\n}\n'
 */
export function stringifyConfigJson(value: unknown): string {
  const write = (v: unknown, indent: string): string | undefined => {
    if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[\n${v.map((x) => `${inner}${write(x, inner) ?? 'null'}`).join(',\n')}\n${indent}]`;
    }
    const entries = Object.entries(v).flatMap(([k, x]) => {
      const s = write(x, inner);
      return s === undefined ? [] : [`${inner}${JSON.stringify(k)}: ${s}`];
    });
    return entries.length === 0 ? '{}' : `{\n${entries.join(',\n')}\n${indent}}`;
  };
  return `${write(value, '') ?? 'null'}\n`;
}
