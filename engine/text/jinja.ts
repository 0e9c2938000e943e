// spec §15.2–15.3: chat templates rendered as Python's Jinja2 renders them under Hugging Face's
// apply_chat_template (transformers/utils/chat_template_utils.py): trim_blocks, lstrip_blocks,
// loopcontrols, tojson = json.dumps(ensure_ascii=False, sort_keys=False), raise_exception and
// strftime_now as globals. @huggingface/jinja (0.5.11, pinned; 0.5.13 gives the same output) parses
// and runs the template; where it prints values as JavaScript would, this module rewrites the
// parsed template so they print as Python does (tests/cli/commands/template.test.ts and
// tests/engine/text/jinja.test.ts hold the byte-for-byte suites):
//   {{ x }}, x ~ y, x|string   str(x): True/False, None, ['a', 1.0], {'k': 'v'}, 2.0 for a float
//                              (@huggingface/jinja: true/false, '' or an error for None, JSON)
//   x|tojson(...)              json.dumps: floats 2.0, 1e-07, 1e+16, NaN; indent=0; sort_keys by
//                              code point; undefined is an error (@huggingface/jinja: JSON.stringify)
//   x|length, x|trim           len() and str.strip() by code point, Python's whitespace set
//                              (@huggingface/jinja: UTF-16 units, JavaScript's trim)
//   strftime_now(fmt)          C-locale English names (@huggingface/jinja: the host's locale)
// and the values a template sees keep Python's int/float split: a JSON number written with a
// fraction or an exponent (`2.0`, `1e3`) is a float in json.loads, so parseJsonKeepingFloats marks
// the whole-valued ones (JsonNumber) and they render as `2.0`, not `2`; integers beyond 2⁵³ keep
// all their digits.

import { Environment, Interpreter, Template } from '@huggingface/jinja';

/** A runtime value of @huggingface/jinja: its `type` names the class (IntegerValue, FloatValue, …). */
interface Value {
  readonly type: string;
  readonly value: unknown;
}
type ValueClass = new (value?: unknown) => Value;

/**
 * A JSON number a JavaScript number would print otherwise than Python: a whole value written with
 * a fraction or exponent (`2.0`, `1e3`; a float in json.loads, printed `2.0`) or an integer
 * beyond 2⁵³ (exact in Python). Serialises back as the number.
 * @example JSON.stringify({ a: new JsonNumber('2.0') }); // '{"a":2}'
 */
export class JsonNumber {
  constructor(readonly text: string) {}
  /** A float in Python (else an int). */
  get isFloat(): boolean {
    return /[.eE]/.test(this.text);
  }
  toJSON(): number {
    return Number(this.text);
  }
}

/** JSON strings (skipped) or number tokens, in order. */
const JSON_TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const NUMBER_KEY = '\u0000edgetron-number';

/**
 * JSON.parse as json.loads reads numbers: whole-valued floats (`2.0`, `1e3`) and integers beyond
 * 2⁵³ become JsonNumber. Throws SyntaxError as JSON.parse does.
 * @example parseJsonKeepingFloats('{"a": 2.0, "b": 2}'); // { a: JsonNumber('2.0'), b: 2 }
 */
export function parseJsonKeepingFloats(text: string): unknown {
  const plain: unknown = JSON.parse(text);
  let marked = false;
  const tagged = text.replace(JSON_TOKEN, (token) => {
    if (token[0] === '"') return token;
    const float = /[.eE]/.test(token);
    if (float ? !Number.isInteger(Number(token)) : Number.isSafeInteger(Number(token))) return token;
    marked = true;
    return `{"\\u0000edgetron-number": "${token}"}`;
  });
  if (!marked) return plain;
  return JSON.parse(tagged, (_key, value: unknown) => (typeof value === 'object' && value !== null && NUMBER_KEY in value ? new JsonNumber((value as Record<string, string>)[NUMBER_KEY]) : value));
}

/** The runtime value classes, taken from what Environment.set makes of a sample of each kind. */
const CLASSES = (() => {
  const env = new Environment();
  const cls = (name: string, sample: unknown) => env.set(name, sample).constructor as unknown as ValueClass;
  return {
    Integer: cls('i', 1),
    Float: cls('f', 0.5),
    String: cls('s', ''),
    Boolean: cls('b', true),
    Null: cls('n', null),
    Undefined: cls('u', undefined),
    Array: cls('a', []),
    Object: cls('o', {}),
    Function: cls('fn', () => null),
  };
})();

/** A JavaScript value as a template value (as @huggingface/jinja converts it, plus JsonNumber → float or exact int). */
function toValue(input: unknown): Value {
  if (input instanceof JsonNumber) return input.isFloat ? new CLASSES.Float(Number(input.text)) : new CLASSES.Integer(BigInt(input.text));
  switch (typeof input) {
    case 'number':
      return Number.isInteger(input) ? new CLASSES.Integer(input) : new CLASSES.Float(input);
    case 'string':
      return new CLASSES.String(input);
    case 'boolean':
      return new CLASSES.Boolean(input);
    case 'undefined':
      return new CLASSES.Undefined(undefined);
    case 'function':
      return new CLASSES.Function((args: Value[]) => toValue((input as (...a: unknown[]) => unknown)(...args.map((a) => a.value)) ?? null));
    default:
      if (input === null) return new CLASSES.Null(null);
      if (Array.isArray(input)) return new CLASSES.Array(input.map(toValue));
      return new CLASSES.Object(new Map(Object.entries(input as object).map(([k, v]) => [k, toValue(v)])));
  }
}

const codePoint = (ch: string) => ch.codePointAt(0) as number;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * Python's repr of a float ('r' format: shortest round-trip digits, fixed for exponents −4 … 15,
 * else d.ddde±XX).
 * @example [pyFloatRepr(2), pyFloatRepr(1e-7), pyFloatRepr(1e16)]; // ['2.0', '1e-07', '1e+16']
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  const sign = x < 0 ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  return `${sign}${int}.${digits.slice(exp + 1) || '0'}`;
}

/** Characters str.isprintable() rejects (Unicode C* and Z* categories, except the space). */
const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

/** Python's repr of a str. */
function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = codePoint(ch);
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && (cp < 0x20 || cp === 0x7f || NON_PRINTABLE.test(ch))) out += cp < 0x100 ? `\\x${hex(cp, 2)}` : cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    else out += ch;
  }
  return out + quote;
}

/** Python's repr of a value inside a container. */
function pyRepr(v: Value): string {
  return v.type === 'StringValue' ? pyStrRepr(v.value as string) : pyStr(v);
}

/**
 * Python's str() of a template value: what `{{ x }}`, `~` and `|string` print.
 * @example pyStr(toValue([true, null, 'a'])); // "[True, None, 'a']"
 */
function pyStr(v: Value): string {
  switch (v.type) {
    case 'StringValue':
      return v.value as string;
    case 'IntegerValue':
      return String(v.value);
    case 'FloatValue':
      return pyFloatRepr(v.value as number);
    case 'BooleanValue':
      return v.value ? 'True' : 'False';
    case 'NullValue':
      return 'None';
    case 'UndefinedValue':
      return '';
    case 'ArrayValue':
      return `[${(v.value as Value[]).map(pyRepr).join(', ')}]`;
    case 'TupleValue': {
      const items = (v.value as Value[]).map(pyRepr);
      return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;
    }
    case 'ObjectValue':
    case 'KeywordArgumentsValue':
      return `{${[...(v.value as Map<string, Value>)].map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
    case 'NamespaceValue':
      return `<Namespace {${[...(v.value as Map<string, Value>)].map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ')}}>`;
    default:
      return String(v);
  }
}

interface DumpOptions {
  readonly indent: string | null;
  readonly itemSep: string;
  readonly keySep: string;
  readonly sortKeys: boolean;
  readonly ensureAscii: boolean;
}

/** json.dumps of a str: `"` `\` and C0 controls escaped (\n \r \t \b \f, else \u00xx); non-ASCII too with ensure_ascii. */
function jsonString(s: string, ensureAscii: boolean): string {
  let out = '"';
  for (const ch of s) {
    const cp = codePoint(ch);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (cp < 0x20 || (ensureAscii && cp > 0x7e)) {
      // astral characters as their UTF-16 surrogate pair, as json.dumps writes them
      for (let i = 0; i < ch.length; i++) out += `\\u${hex(ch.charCodeAt(i), 4)}`;
    } else out += ch;
  }
  return out + '"';
}

/** Code-point order of two strings (Python's str ordering). */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, codePoint);
  const y = Array.from(b, codePoint);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** json.dumps of a template value. */
function jsonDumps(v: Value, o: DumpOptions, depth: number): string {
  switch (v.type) {
    case 'NullValue':
      return 'null';
    case 'BooleanValue':
      return v.value ? 'true' : 'false';
    case 'IntegerValue':
      return String(v.value);
    case 'FloatValue': {
      const x = v.value as number;
      return Number.isNaN(x) ? 'NaN' : Number.isFinite(x) ? pyFloatRepr(x) : x > 0 ? 'Infinity' : '-Infinity';
    }
    case 'StringValue':
      return jsonString(v.value as string, o.ensureAscii);
    case 'ArrayValue':
    case 'TupleValue':
    case 'ObjectValue':
    case 'KeywordArgumentsValue': {
      const isArray = v.type === 'ArrayValue' || v.type === 'TupleValue';
      let items: string[];
      if (isArray) items = (v.value as Value[]).map((x) => jsonDumps(x, o, depth + 1));
      else {
        const entries = [...(v.value as Map<string, Value>)];
        if (o.sortKeys) entries.sort(([a], [b]) => byCodePoint(a, b));
        items = entries.map(([k, x]) => `${jsonString(k, o.ensureAscii)}${o.keySep}${jsonDumps(x, o, depth + 1)}`);
      }
      const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
      if (items.length === 0) return open + close;
      if (o.indent === null) return open + items.join(o.itemSep) + close;
      const inner = `\n${o.indent.repeat(depth + 1)}`;
      return `${open}${inner}${items.join(o.itemSep + inner)}\n${o.indent.repeat(depth)}${close}`;
    }
    default:
      throw new Error(`Object of type ${v.type === 'UndefinedValue' ? 'Undefined' : v.type} is not JSON serializable`);
  }
}

/** HF's tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False), positional or keyword. */
function tojson(args: Value[]): Value {
  const kw = args.at(-1)?.type === 'KeywordArgumentsValue' ? (args.pop()?.value as Map<string, Value>) : new Map<string, Value>();
  const [x, ...positional] = args;
  const arg = (name: string, i: number) => kw.get(name) ?? positional[i];
  const indentArg = arg('indent', 1);
  const separators = arg('separators', 2);
  let indent: string | null = null;
  if (indentArg && indentArg.type !== 'NullValue') indent = indentArg.type === 'StringValue' ? (indentArg.value as string) : ' '.repeat(indentArg.value as number);
  const [itemSep, keySep] = separators && separators.type !== 'NullValue' ? (separators.value as Value[]).map((s) => s.value as string) : [indent === null ? ', ' : ',', ': '];
  const opts = { indent, itemSep, keySep, sortKeys: arg('sort_keys', 3)?.value === true, ensureAscii: arg('ensure_ascii', 0)?.value === true };
  return new CLASSES.String(jsonDumps(x ?? new CLASSES.Undefined(undefined), opts, 0));
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * C-locale strftime of local time for the directives chat templates use (`%-d` style unpadded forms too).
 * @example strftime(new Date(2026, 0, 5), '%d %b %Y'); // '05 Jan 2026'
 */
export function strftime(date: Date, format: string): string {
  const dayOfYear = Math.floor((Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()) - Date.UTC(date.getFullYear(), 0, 1)) / 86_400_000) + 1;
  const hour12 = date.getHours() % 12 || 12;
  return format.replace(/%(-?)([a-zA-Z%])/g, (token, dash: string, d: string) => {
    const pad = (n: number, w = 2) => (dash ? String(n) : String(n).padStart(w, '0'));
    switch (d) {
      case 'Y': return String(date.getFullYear());
      case 'y': return pad(date.getFullYear() % 100);
      case 'm': return pad(date.getMonth() + 1);
      case 'd': return pad(date.getDate());
      case 'e': return String(date.getDate()).padStart(2, ' ');
      case 'j': return pad(dayOfYear, 3);
      case 'H': return pad(date.getHours());
      case 'I': return pad(hour12);
      case 'M': return pad(date.getMinutes());
      case 'S': return pad(date.getSeconds());
      case 'p': return date.getHours() < 12 ? 'AM' : 'PM';
      case 'B': return MONTHS[date.getMonth()];
      case 'b': return MONTHS[date.getMonth()].slice(0, 3);
      case 'A': return DAYS[date.getDay()];
      case 'a': return DAYS[date.getDay()].slice(0, 3);
      case '%': return '%';
      default: return token;
    }
  });
}

/** Characters str.strip() removes by default (str.isspace()). */
const PY_SPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

/** Jinja's trim filter: str(x).strip(chars), by code point. */
function pyTrim(args: Value[]): Value {
  const arg = args[1]?.type === 'KeywordArgumentsValue' ? (args[1].value as Map<string, Value>).get('chars') : args[1];
  const chars = arg && arg.type === 'StringValue' ? (arg.value as string) : PY_SPACE;
  const cps = Array.from(pyStr(args[0]));
  let start = 0;
  let end = cps.length;
  while (start < end && chars.includes(cps[start])) start++;
  while (end > start && chars.includes(cps[end - 1])) end--;
  return new CLASSES.String(cps.slice(start, end).join(''));
}

/** Jinja's length filter: len(x), which counts a str by code point. */
function pyLen(args: Value[]): Value {
  const v = args[0];
  switch (v.type) {
    case 'StringValue':
      return new CLASSES.Integer(Array.from(v.value as string).length);
    case 'ArrayValue':
    case 'TupleValue':
      return new CLASSES.Integer((v.value as Value[]).length);
    case 'ObjectValue':
    case 'KeywordArgumentsValue':
      return new CLASSES.Integer((v.value as Map<string, Value>).size);
    case 'UndefinedValue':
      return new CLASSES.Integer(0);
    default:
      throw new Error(`object of type ${v.type} has no len()`);
  }
}

/** Names the rewritten template calls; not valid Jinja identifiers a template could shadow. */
const STR = '\u0000str';
const TOJSON = '\u0000tojson';
const TRIM = '\u0000trim';
const LENGTH = '\u0000length';

type Node = { type: string; [field: string]: unknown };
const isNode = (x: unknown): x is Node => typeof x === 'object' && x !== null && typeof (x as Node).type === 'string';
/** The parser's CallExpression and Identifier classes (a template walker may test `instanceof`), from a parsed sample. */
const AST = (() => {
  const sample = new Template('{{ f() }}').parsed.body[0] as unknown as { callee: object };
  return {
    Call: sample.constructor as new (callee: unknown, args: unknown[]) => Node,
    Identifier: sample.callee.constructor as new (value: string) => Node,
  };
})();
const call = (name: string, args: unknown[]): Node => new AST.Call(new AST.Identifier(name), args);
/** Statement nodes: evaluated for their effect or their rendered block, never printed with str(). */
const STATEMENTS = new Set(['Program', 'If', 'For', 'Break', 'Continue', 'Set', 'Macro', 'Comment', 'FilterStatement', 'CallStatement', 'StringLiteral']);
/** Fields holding a block of statements whose values are printed. */
const BLOCKS = new Set(['body', 'alternate', 'defaultBlock']);

/** Rewrite a parsed template in place so values print as Python prints them (see the header). */
function pythonize(node: Node): Node {
  for (const [field, child] of Object.entries(node)) {
    if (Array.isArray(child)) {
      node[field] = child.map((c) => {
        if (!isNode(c)) return c;
        const done = pythonize(c);
        return BLOCKS.has(field) && !STATEMENTS.has(done.type) ? call(STR, [done]) : done;
      });
    } else if (child instanceof Map) {
      node[field] = new Map([...child].map(([k, v]) => [isNode(k) ? pythonize(k) : k, isNode(v) ? pythonize(v) : v]));
    } else if (isNode(child)) node[field] = pythonize(child);
  }
  if (node.type === 'BinaryExpression' && (node.operator as { value: string }).value === '~') {
    return { ...node, left: call(STR, [node.left]), right: call(STR, [node.right]) };
  }
  if (node.type === 'FilterExpression') {
    const filter = node.filter as Node;
    if (filter.type === 'Identifier' && filter.value === 'string') return call(STR, [node.operand]);
    if (filter.type === 'Identifier' && (filter.value === 'length' || filter.value === 'count')) return call(LENGTH, [node.operand]);
    if (filter.type === 'Identifier' && filter.value === 'trim') return call(TRIM, [node.operand]);
    if (filter.type === 'CallExpression' && (filter.callee as Node).type === 'Identifier' && (filter.callee as Node).value === 'trim') return call(TRIM, [node.operand, ...(filter.args as unknown[])]);
    if (filter.type === 'Identifier' && filter.value === 'tojson') return call(TOJSON, [node.operand]);
    if (filter.type === 'CallExpression' && (filter.callee as Node).type === 'Identifier' && (filter.callee as Node).value === 'tojson') return call(TOJSON, [node.operand, ...(filter.args as unknown[])]);
  }
  return node;
}

/** Python's range(stop) / range(start, stop[, step]). */
function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() arg 3 must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/**
 * A chat template that renders as Python's Jinja2 does under apply_chat_template.
 * @example
 * const t = new PyTemplate("{{ messages[0]['content'] }} {{ flag }} {{ [1, 2.0] }}");
 * t.render({ messages: [{ role: 'user', content: 'hi' }], flag: true }); // 'hi True [1, 2.0]'
 */
export class PyTemplate {
  private readonly program: Node;

  /** Parse `source` (a SyntaxError or Error names what is wrong). */
  constructor(source: string) {
    this.program = pythonize(new Template(source).parsed as unknown as Node);
  }

  /** Render with these variables (JsonNumber values print as Python's float or int). */
  render(variables: Readonly<Record<string, unknown>>): string {
    const env = new Environment();
    for (const [name, value] of Object.entries({ true: true, false: false, none: null, True: true, False: false, None: null, range })) env.set(name, value);
    env.set('raise_exception', (message: unknown) => {
      throw new Error(String(message));
    });
    env.set('strftime_now', (format: string) => strftime(new Date(), format));
    env.setVariable(STR, new CLASSES.Function((args: Value[]) => new CLASSES.String(pyStr(args[0]))) as never);
    env.setVariable(TOJSON, new CLASSES.Function((args: Value[]) => tojson([...args])) as never);
    env.setVariable(TRIM, new CLASSES.Function(pyTrim) as never);
    env.setVariable(LENGTH, new CLASSES.Function(pyLen) as never);
    for (const [name, value] of Object.entries(variables)) env.setVariable(name, toValue(value) as never);
    const result = new Interpreter(env).run(this.program as never) as unknown as Value;
    return result.value as string;
  }
}
