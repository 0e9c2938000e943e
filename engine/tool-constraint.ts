// spec §15.3: tool calls forced in decoding. `tool_choice: "required"` or a named function must
// produce a call whatever the weights, so the answer is constrained, token by token, to the
// grammar of one call in the model's XML format, with the schema of the tool:
//
//   <tool_call>\n<function=NAME>\n                       NAME ∈ the allowed tools
//   ( <parameter=ARG>\nVALUE\n</parameter>\n )*          ARG ∈ properties, each once, every `required` one
//   </function>\n</tool_call>  then a stop id
//
// VALUE by the property's JSON Schema `type` (what engine/tool-calls.ts turns into JSON):
// `string` (or no type) is free text ending at `</parameter>`; `enum` one of its values;
// `boolean` true | false; `null`; `integer` / `number` a JSON number; `object` / `array` / other
// types a well-formed JSON value of that shape (nested schemas are not enforced).
//
// The grammar runs on characters (a byte-level BPE token is its decoded text; a token that ends
// inside a UTF-8 character decodes to U+FFFD and may only stand in free text or a JSON string).
// Each state knows its shortest completion, and there is always a character that shortens it
// by one; a token is allowed only when, after it, the tokens left still fit that completion
// (at most one token per character; exactly, by the fewest tokens that spell it, for tokens on
// that path) plus the stop id. So a call is closed, with valid arguments, before max_tokens runs
// out. With thinking on, reasoning comes first and `</think>` is forced in time for the call.
//
// `BannedText` is the opposite: `tool_choice: "none"` masks every token that would complete
// `<tool_call>` in the output.

import type { LogitsProcessor } from './generate.js';
import type { ToolSpec } from './tool-calls.js';

/** What the constraint needs of a tokenizer. */
export interface TokenDecoder {
  decode(ids: readonly number[]): string;
}

const CALL_START = '<tool_call>\n<function=';
const PARAM_START = '<parameter=';
const PARAM_END = '</parameter>';
/** After a JSON or literal value (the parser trims the line feeds). */
const AFTER_VALUE = `\n${PARAM_END}\n`;
const CALL_END = '</function>\n</tool_call>';
/** The text `tool_choice: "none"` keeps out of the answer. */
export const TOOL_CALL_TAG = '<tool_call>';

type ValueKind = 'string' | 'integer' | 'number' | 'object' | 'array' | 'any';

interface ParamRule {
  readonly name: string;
  readonly kind: ValueKind;
  /** Alternatives for `boolean`, `null` and `enum` values, as the model writes them; null for the others. */
  readonly choices: readonly string[] | null;
}

interface ToolRule {
  readonly name: string;
  readonly params: ReadonlyMap<string, ParamRule>;
  readonly required: readonly string[];
}

/** Names and literal values the grammar can write: no tag or line characters. */
const writable = (s: string) => s.length > 0 && !/[<>\n]/.test(s);

function paramRule(name: string, schema: Record<string, unknown>): ParamRule {
  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
  const type = types.length === 1 ? types[0] : types.includes('string') ? 'string' : 'any';
  if (Array.isArray(schema.enum)) {
    const choices = schema.enum.map((v) => (typeof v === 'string' && (type === 'string' || type === undefined) ? v : JSON.stringify(v))).filter(writable);
    if (choices.length > 0) return { name, kind: 'any', choices };
  }
  if (type === 'boolean') return { name, kind: 'any', choices: ['true', 'false'] };
  if (type === 'null') return { name, kind: 'any', choices: ['null'] };
  const kind: ValueKind = type === undefined || type === 'string' ? 'string' : type === 'integer' || type === 'number' || type === 'object' || type === 'array' ? type : 'any';
  return { name, kind, choices: null };
}

function toolRule(tool: ToolSpec): ToolRule {
  const parameters = (tool.parameters ?? {}) as { properties?: Record<string, Record<string, unknown>>; required?: unknown };
  const params = new Map<string, ParamRule>();
  for (const [name, schema] of Object.entries(parameters.properties ?? {})) {
    if (writable(name)) params.set(name, paramRule(name, schema ?? {}));
  }
  const required = Array.isArray(parameters.required) ? parameters.required.filter((r): r is string => typeof r === 'string' && params.has(r)) : [];
  return { name: tool.name, params, required };
}

/** Shortest text of a value of this parameter, as it stands between `>\n` and the close. */
function minValue(p: ParamRule): string {
  if (p.choices) return p.choices.reduce((a, b) => (b.length < a.length ? b : a));
  return p.kind === 'object' ? '{}' : p.kind === 'array' ? '[]' : p.kind === 'string' ? '' : '0';
}

/** How a value of this parameter is closed. */
const valueClose = (p: ParamRule) => (p.kind === 'string' && !p.choices ? `${PARAM_END}\n` : AFTER_VALUE);

/** What comes after a fixed piece of text. */
type Next =
  | { readonly kind: 'tool'; readonly tool: ToolRule }
  | { readonly kind: 'params' }
  | { readonly kind: 'value'; readonly param: ParamRule }
  | { readonly kind: 'end' };

/** One alternative of a choice between fixed texts (a prefix-free set). */
interface Alt {
  readonly text: string;
  readonly next: Next;
}

// JSON value modes: expect a value | a value or ']' | a key | a key or '}' | ':' | after a value |
// in a string | in a number | in true/false/null
const enum Mode {
  Value,
  ValueOrClose,
  Key,
  KeyOrClose,
  Colon,
  After,
  Str,
  Num,
  Lit,
}
// number parts: after '-' | '0' | int digits | after '.' | fraction digits | after 'e' | after 'e±' | exponent digits
const enum NumPart {
  Minus,
  Zero,
  Int,
  Dot,
  Frac,
  Exp,
  ExpSign,
  ExpDigits,
}

/** Longest integer part and exponent of a JSON number: 10^100 · 10^99 is still finite in f64. */
const MAX_INT_DIGITS = 100;
const MAX_EXP_DIGITS = 2;

const isDigit = (c: string) => c >= '0' && c <= '9';
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
/** A number part that may end the number. */
const numberComplete = (p: NumPart) => p === NumPart.Zero || p === NumPart.Int || p === NumPart.Frac || p === NumPart.ExpDigits;

/** A pushdown recogniser of one JSON value, character by character. */
class JsonValue {
  /** Open containers, innermost last: '{' or '['. */
  stack = '';
  mode = Mode.Value;
  /** In a string: 0, 1 after a backslash, 2–5 hex digits of \u left + 1; in a literal: its rest. */
  esc = 0;
  isKey = false;
  num = NumPart.Int;
  /** Digits in the current number part. */
  digits = 0;
  lit = '';

  constructor(
    /** The top-level type: 'object', 'array', 'integer', 'number' or 'any'. */
    readonly top: ValueKind,
  ) {}

  copy(): JsonValue {
    const j = new JsonValue(this.top);
    j.stack = this.stack;
    j.mode = this.mode;
    j.esc = this.esc;
    j.isKey = this.isKey;
    j.num = this.num;
    j.digits = this.digits;
    j.lit = this.lit;
    return j;
  }

  /** The top-level value is complete and nothing can extend it. */
  get done(): boolean {
    return this.mode === Mode.After && this.stack === '';
  }

  /** The top-level value may end before `c` (a complete number at depth 0). */
  get mayEnd(): boolean {
    return this.done || (this.mode === Mode.Num && this.stack === '' && numberComplete(this.num));
  }

  /** The shortest text that completes the value. */
  completion(): string {
    const closers = [...this.stack].reverse().map((c) => (c === '{' ? '}' : ']')).join('');
    switch (this.mode) {
      case Mode.Value:
        return (this.stack === '' && this.top === 'object' ? '{}' : this.stack === '' && this.top === 'array' ? '[]' : '0') + closers;
      case Mode.Key:
        return '"":0' + closers;
      case Mode.Colon:
        return ':0' + closers;
      case Mode.Str:
        return (this.esc === 1 ? 'n' : '0'.repeat(Math.max(0, this.esc - 1))) + '"' + (this.isKey ? ':0' : '') + closers;
      case Mode.Num:
        return (numberComplete(this.num) ? '' : '0') + closers;
      case Mode.Lit:
        return this.lit + closers;
      default:
        return closers;
    }
  }

  /** Feed one character; false when it cannot continue the value. */
  feed(c: string): boolean {
    switch (this.mode) {
      case Mode.Value:
      case Mode.ValueOrClose:
        if (c === ' ' && this.stack !== '') return true;
        if (this.mode === Mode.ValueOrClose && c === ']') return this.close();
        return this.startValue(c);
      case Mode.Key:
      case Mode.KeyOrClose:
        if (c === ' ') return true;
        if (this.mode === Mode.KeyOrClose && c === '}') return this.close();
        if (c !== '"') return false;
        this.mode = Mode.Str;
        this.isKey = true;
        return true;
      case Mode.Colon:
        if (c === ' ') return true;
        if (c !== ':') return false;
        this.mode = Mode.Value;
        return true;
      case Mode.After: {
        if (this.stack === '') return false;
        if (c === ' ') return true;
        const obj = this.stack.endsWith('{');
        if (c === ',') {
          this.mode = obj ? Mode.Key : Mode.Value;
          return true;
        }
        return c === (obj ? '}' : ']') && this.close();
      }
      case Mode.Str:
        return this.feedString(c);
      case Mode.Num:
        return this.feedNumber(c);
      case Mode.Lit:
        if (c !== this.lit[0]) return false;
        this.lit = this.lit.slice(1);
        if (this.lit === '') this.mode = Mode.After;
        return true;
    }
  }

  private startValue(c: string): boolean {
    const top = this.stack === '' ? this.top : 'any';
    if (c === '{' || c === '[') {
      if (top !== 'any' && top !== (c === '{' ? 'object' : 'array')) return false;
      this.stack += c;
      this.mode = c === '{' ? Mode.KeyOrClose : Mode.ValueOrClose;
      return true;
    }
    if (c === '-' || isDigit(c)) {
      if (top === 'object' || top === 'array') return false;
      this.mode = Mode.Num;
      this.num = c === '-' ? NumPart.Minus : c === '0' ? NumPart.Zero : NumPart.Int;
      this.digits = 1;
      return true;
    }
    if (top !== 'any') return false;
    if (c === '"') {
      this.mode = Mode.Str;
      this.isKey = false;
      this.esc = 0;
      return true;
    }
    const lit = c === 't' ? 'rue' : c === 'f' ? 'alse' : c === 'n' ? 'ull' : null;
    if (lit === null) return false;
    this.mode = Mode.Lit;
    this.lit = lit;
    return true;
  }

  private close(): boolean {
    this.stack = this.stack.slice(0, -1);
    this.mode = Mode.After;
    return true;
  }

  private feedString(c: string): boolean {
    if (this.esc === 1) {
      if (c === 'u') this.esc = 5;
      else if ('"\\/bfnrt'.includes(c)) this.esc = 0;
      else return false;
      return true;
    }
    if (this.esc > 1) {
      if (!isHex(c)) return false;
      this.esc = this.esc === 2 ? 0 : this.esc - 1;
      return true;
    }
    if (c === '\\') this.esc = 1;
    else if (c === '"') this.mode = this.isKey ? Mode.Colon : Mode.After;
    else if (c < ' ') return false;
    return true;
  }

  private feedNumber(c: string): boolean {
    const p = this.num;
    const intOnly = this.stack === '' && this.top === 'integer';
    if (isDigit(c)) {
      // a number stays finite in f64: at most MAX_INT_DIGITS before the point, MAX_EXP_DIGITS after 'e'
      if (p === NumPart.Zero || (p === NumPart.Int && this.digits >= MAX_INT_DIGITS) || (p === NumPart.ExpDigits && this.digits >= MAX_EXP_DIGITS)) return false;
      const next = p === NumPart.Minus ? (c === '0' ? NumPart.Zero : NumPart.Int) : p === NumPart.Dot ? NumPart.Frac : p === NumPart.Exp || p === NumPart.ExpSign ? NumPart.ExpDigits : p;
      this.digits = next === p ? this.digits + 1 : 1;
      this.num = next;
      return true;
    }
    if (c === '.' && !intOnly && (p === NumPart.Zero || p === NumPart.Int)) this.num = NumPart.Dot;
    else if ((c === 'e' || c === 'E') && !intOnly && (p === NumPart.Zero || p === NumPart.Int || p === NumPart.Frac)) this.num = NumPart.Exp;
    else if ((c === '+' || c === '-') && p === NumPart.Exp) this.num = NumPart.ExpSign;
    else {
      // the number ends here: the character belongs to what follows it
      if (!numberComplete(p) || this.stack === '') return false;
      this.mode = Mode.After;
      return this.feed(c);
    }
    return true;
  }
}

/**
 * A position in the grammar of one tool call (see the header).
 * @example
 * const g = ToolCallGrammar.start([{ name: 'add', parameters: { properties: { a: { type: 'integer' } }, required: ['a'] } }]);
 * g.feedText('<tool_call>\n<function=add>\n'); // true
 * g.cost; // 53: '<parameter=a>\n0\n</parameter>\n</function>\n</tool_call>'
 */
export class ToolCallGrammar {
  private phase: 'alt' | 'string' | 'json' | 'end' = 'alt';
  private alts: readonly Alt[] = [];
  private typed = '';
  private tool: ToolRule | null = null;
  private used: ReadonlySet<string> = new Set();
  /** In a string value: characters of `</parameter>` matched so far. */
  private matched = 0;
  private json: JsonValue | null = null;

  private constructor(private readonly tools: readonly ToolRule[]) {}

  /** The start of a call to one of `tools`. */
  static start(tools: readonly ToolSpec[]): ToolCallGrammar {
    const rules = tools.map(toolRule);
    const g = new ToolCallGrammar(rules);
    g.alts = rules.map((tool) => ({ text: `${CALL_START}${tool.name}>\n`, next: { kind: 'tool', tool } }));
    return g;
  }

  copy(): ToolCallGrammar {
    const g = new ToolCallGrammar(this.tools);
    g.phase = this.phase;
    g.alts = this.alts;
    g.typed = this.typed;
    g.tool = this.tool;
    g.used = this.used;
    g.matched = this.matched;
    g.json = this.json?.copy() ?? null;
    return g;
  }

  /** The call is complete: only a stop id may follow. */
  get complete(): boolean {
    return this.phase === 'end';
  }

  /** The shortest text that completes the call. */
  completion(): string {
    switch (this.phase) {
      case 'end':
        return '';
      case 'alt': {
        let best: string | null = null;
        for (const a of this.alts) {
          if (!a.text.startsWith(this.typed)) continue;
          const text = a.text.slice(this.typed.length) + this.completionAfter(a.next);
          if (best === null || text.length < best.length) best = text;
        }
        return best!;
      }
      case 'string':
        return `${PARAM_END.slice(this.matched)}\n${this.rest()}`;
      case 'json':
        return this.json!.completion() + AFTER_VALUE + this.rest();
    }
  }

  /** Characters of the shortest completion. */
  get cost(): number {
    return this.completion().length;
  }

  /** Feed text; false (and the state is then undefined) when it leaves the grammar. */
  feedText(text: string): boolean {
    for (const c of text) if (!this.feed(c)) return false;
    return true;
  }

  /** Feed one character; false when it leaves the grammar. */
  feed(c: string): boolean {
    switch (this.phase) {
      case 'end':
        return false;
      case 'alt': {
        const typed = this.typed + c;
        let exact: Alt | null = null;
        let any = false;
        for (const a of this.alts) {
          if (!a.text.startsWith(typed)) continue;
          any = true;
          if (a.text.length === typed.length) exact = a;
        }
        if (!any) return false;
        this.typed = typed;
        if (exact) this.enter(exact.next);
        return true;
      }
      case 'string':
        // free text up to `</parameter>`; `matched` follows the tag (it has no self-overlap)
        this.matched = c === PARAM_END[this.matched] ? this.matched + 1 : c === PARAM_END[0] ? 1 : 0;
        if (this.matched === PARAM_END.length) this.literal('\n', { kind: 'params' });
        return true;
      case 'json': {
        const json = this.json!;
        if (json.feed(c)) {
          if (json.done) this.literal(AFTER_VALUE, { kind: 'params' });
          return true;
        }
        if (!json.mayEnd) return false;
        this.literal(AFTER_VALUE, { kind: 'params' });
        return this.feed(c);
      }
    }
  }

  /** The parameters still required, shortest values, then the end of the call. */
  private rest(tool = this.tool, used = this.used): string {
    let text = '';
    for (const r of tool?.required ?? []) {
      if (used.has(r)) continue;
      const p = tool!.params.get(r)!;
      text += `${PARAM_START}${r}>\n${minValue(p)}${valueClose(p)}`;
    }
    return text + CALL_END;
  }

  private completionAfter(next: Next): string {
    switch (next.kind) {
      case 'end':
        return '';
      case 'params':
        return this.rest();
      case 'tool':
        return this.rest(next.tool, new Set());
      case 'value': // the parameter counts as used from its opening tag on
        return minValue(next.param) + valueClose(next.param) + this.rest(this.tool, new Set([...this.used, next.param.name]));
    }
  }

  private literal(text: string, next: Next): void {
    this.phase = 'alt';
    this.alts = [{ text, next }];
    this.typed = '';
  }

  private enter(next: Next): void {
    this.typed = '';
    switch (next.kind) {
      case 'end':
        this.phase = 'end';
        return;
      case 'tool':
        this.tool = next.tool;
        this.used = new Set();
        return this.enter({ kind: 'params' });
      case 'params': {
        const tool = this.tool!;
        const alts: Alt[] = [];
        for (const p of tool.params.values()) if (!this.used.has(p.name)) alts.push({ text: `${PARAM_START}${p.name}>\n`, next: { kind: 'value', param: p } });
        if (tool.required.every((r) => this.used.has(r))) alts.push({ text: CALL_END, next: { kind: 'end' } });
        this.phase = 'alt';
        this.alts = alts;
        return;
      }
      case 'value': {
        const p = next.param;
        this.used = new Set([...this.used, p.name]);
        if (p.choices) {
          this.phase = 'alt';
          this.alts = p.choices.map((text) => ({ text: text + AFTER_VALUE, next: { kind: 'params' } }));
        } else if (p.kind === 'string') {
          this.phase = 'string';
          this.matched = 0;
        } else {
          this.phase = 'json';
          this.json = new JsonValue(p.kind);
        }
      }
    }
  }
}

/** Each token's text, the tokens grouped by first character (ASCII, or 128 for the rest) and by text. */
class TokenTable {
  readonly texts: string[];
  readonly byFirst: number[][] = Array.from({ length: 129 }, () => []);
  readonly byText = new Map<string, number[]>();
  /** Longest token text, in UTF-16 units. */
  readonly maxLength: number;

  constructor(decoder: TokenDecoder, vocabSize: number, stops: ReadonlySet<number>) {
    this.texts = Array.from({ length: vocabSize }, (_, id) => decoder.decode([id]));
    let max = 1;
    this.texts.forEach((t, id) => {
      if (t === '' || stops.has(id)) return;
      this.byFirst[Math.min(t.charCodeAt(0), 128)].push(id);
      this.byText.set(t, [...(this.byText.get(t) ?? []), id]);
      max = Math.max(max, t.length);
    });
    this.maxLength = max;
  }

  /** Fewest tokens that spell `text` exactly (Infinity when none do). */
  minTokens(text: string): number {
    const best = new Array<number>(text.length + 1).fill(Infinity); // best[i]: tokens for text[i…]
    best[text.length] = 0;
    for (let i = text.length - 1; i >= 0; i--) {
      for (let k = 1; k <= this.maxLength && i + k <= text.length; k++) if (this.byText.has(text.slice(i, i + k))) best[i] = Math.min(best[i], 1 + best[i + k]);
    }
    return best[0];
  }

  static of(decoder: TokenDecoder, vocabSize: number, stops: ReadonlySet<number>): TokenTable {
    let t = TABLES.get(decoder);
    if (!t || t.texts.length !== vocabSize) {
      t = new TokenTable(decoder, vocabSize, stops);
      TABLES.set(decoder, t);
    }
    return t;
  }
}
const TABLES = new WeakMap<TokenDecoder, TokenTable>();

export interface ToolConstraintOptions {
  /** The tools the call may name (one for a named tool_choice). */
  readonly tools: readonly ToolSpec[];
  readonly decoder: TokenDecoder;
  readonly vocabSize: number;
  /** Ids that end generation; allowed only once the call is complete. */
  readonly stopIds: readonly number[];
  /** Most tokens generation will sample (the stop id included). */
  readonly maxTokens: number;
  /** Id of `</think>` when the answer starts inside an open `<think>` block; else null. */
  readonly thinkEndId: number | null;
}

/**
 * Forces one tool call (see the header) as a logits processor for engine/generate.
 * @example
 * const forced = new ToolCallConstraint({ tools, decoder: text, vocabSize: V, stopIds: session.stopIds, maxTokens: 256, thinkEndId: null });
 * generate(session, ids, { maxTokens: 256, logitsProcessor: forced });
 */
export class ToolCallConstraint implements LogitsProcessor {
  private readonly table: TokenTable;
  private readonly stops: ReadonlySet<number>;
  private grammar: ToolCallGrammar;
  private thinking: boolean;
  private sampled = 0;
  /** Fewest tokens of the shortest call (computed when thinking first needs it). */
  private callTokens: number | null = null;
  /** Tokens allowed for the row `process` last saw (V). */
  private readonly allowed: Uint8Array;

  constructor(private readonly options: ToolConstraintOptions) {
    this.stops = new Set(options.stopIds);
    this.table = TokenTable.of(options.decoder, options.vocabSize, this.stops);
    this.grammar = ToolCallGrammar.start(options.tools);
    this.thinking = options.thinkEndId !== null;
    this.allowed = new Uint8Array(options.vocabSize);
  }

  /** The call is complete. */
  get complete(): boolean {
    return this.grammar.complete;
  }

  process(logits: Float32Array): void {
    const left = this.options.maxTokens - this.sampled; // this token included
    if (this.thinking) return this.processThinking(logits, left);
    this.allowed.fill(0);
    if (this.grammar.complete) for (const id of this.stops) this.allowed[id] = 1;
    // when even the shortest call no longer fits, it is written as far as it goes
    else if (!this.allowWithin(left - 1)) this.allowWithin(Infinity);
    for (let id = 0; id < logits.length; id++) if (!this.allowed[id]) logits[id] = -Infinity;
  }

  accept(id: number): void {
    this.sampled++;
    if (this.thinking) {
      if (id === this.options.thinkEndId) this.thinking = false;
      return;
    }
    if (this.stops.has(id)) return;
    this.grammar.feedText(this.table.texts[id] ?? '');
  }

  /** While thinking: anything but a stop id, until `</think>` must come to leave room for the call. */
  private processThinking(logits: Float32Array, left: number): void {
    const end = this.options.thinkEndId!;
    this.callTokens ??= this.table.minTokens(this.grammar.completion());
    // after a token other than `</think>`: `</think>`, the call, a stop id
    if (left - 1 < 1 + this.callTokens + 1) {
      const kept = logits[end];
      logits.fill(-Infinity);
      logits[end] = Number.isFinite(kept) ? kept : 0;
      return;
    }
    for (const id of this.stops) logits[id] = -Infinity;
  }

  /**
   * Mark the tokens the grammar accepts after which the completion and a stop id fit in `after`
   * tokens; whether any was. A completion of c characters takes at most c tokens; where that
   * bound is too loose, tokens that follow the shortest completion are counted exactly.
   */
  private allowWithin(after: number): boolean {
    let any = false;
    for (let first = 0; first <= 128; first++) {
      const ids = this.table.byFirst[first];
      if (ids.length === 0) continue;
      if (first < 128 && !this.grammar.copy().feed(String.fromCharCode(first))) continue;
      for (const id of ids) {
        const g = this.grammar.copy();
        if (g.feedText(this.table.texts[id]) && g.cost + 1 <= after) {
          this.allowed[id] = 1;
          any = true;
        }
      }
    }
    const path = this.grammar.completion();
    for (let k = 1; k <= Math.min(path.length, this.table.maxLength); k++) {
      const ids = this.table.byText.get(path.slice(0, k));
      if (!ids || this.table.minTokens(path.slice(k)) + 1 > after) continue;
      for (const id of ids) this.allowed[id] = 1;
      any = true;
    }
    return any;
  }
}

/**
 * Keeps a text out of the output: masks every token that would complete `banned` (e.g. the
 * `<tool_call>` tag when tool_choice is "none"). The tokens each partial match forbids are
 * worked out once per tokenizer.
 * @example
 * generate(session, ids, { logitsProcessor: new BannedText(TOOL_CALL_TAG, text, V) });
 */
export class BannedText implements LogitsProcessor {
  private readonly table: TokenTable;
  /** Characters of `banned` matched at the end of the output. */
  private matched = 0;
  /** Per `matched`: the tokens that would complete `banned` (filled on first use). */
  private readonly forbidden: (number[] | undefined)[];

  constructor(
    private readonly banned: string,
    decoder: TokenDecoder,
    vocabSize: number,
  ) {
    this.table = TokenTable.of(decoder, vocabSize, new Set());
    let byText = BANNED.get(this.table);
    if (!byText) BANNED.set(this.table, (byText = new Map()));
    let forbidden = byText.get(banned);
    if (!forbidden) byText.set(banned, (forbidden = []));
    this.forbidden = forbidden;
  }

  process(logits: Float32Array): void {
    this.forbidden[this.matched] ??= this.table.texts.flatMap((t, id) => (this.advance(this.matched, t) < 0 ? [id] : []));
    for (const id of this.forbidden[this.matched]!) logits[id] = -Infinity;
  }

  accept(id: number): void {
    this.matched = Math.max(0, this.advance(this.matched, this.table.texts[id] ?? ''));
  }

  /** The match length after `text`, or −1 when `text` completes `banned`. */
  private advance(matched: number, text: string): number {
    let m = matched;
    for (const c of text) {
      while (m > 0 && this.banned[m] !== c) m = this.fallback(m);
      if (this.banned[m] === c) m++;
      if (m === this.banned.length) return -1;
    }
    return m;
  }

  /** Longest proper border of banned[0, m) (KMP failure function). */
  private fallback(m: number): number {
    for (let k = m - 1; k > 0; k--) if (this.banned.startsWith(this.banned.slice(m - k, m))) return k;
    return 0;
  }
}
const BANNED = new WeakMap<TokenTable, Map<string, (number[] | undefined)[]>>();
