// spec §15.3: tool calls forced in decoding. `tool_choice: "required"` or a named function must
// produce a call whatever the weights, so the answer is constrained, token by token, to the
// grammar of one call in the model's XML format, with the schema of the tool:
//
//   <tool_call>\n<function=NAME>\n                       NAME ∈ the allowed tools
//   ( <parameter=ARG>\nVALUE\n</parameter>\n )*          ARG ∈ properties, each once, every `required` one
//   </function>\n</tool_call>  then a stop id
//
// VALUE by the property's JSON Schema (what engine/text/tool-calls.ts turns into JSON): a text
// property (`isTextParam`: `string`, or untyped without structure) is free text ending at
// `</parameter>`, or one of its `enum` values as text; any other property is a JSON document of
// its schema, nested objects, arrays, enums and anyOf included (engine/text/json-schema-grammar.ts;
// its strings without `<`, which `\u003c` writes; `format` and other value checks are not
// enforced in tool calls).
//
// The grammar runs on characters with its shortest completion, and engine/text/grammar-constraint.ts
// enforces it token by token: the call is closed, with every required argument, before
// max_tokens runs out, and `minTokens` says up front when max_tokens cannot hold it.
//
// `BannedText` is the opposite: `tool_choice: "none"` masks every token that would complete
// `<tool_call>` in the output.

import type { LogitsProcessor } from '../decode/logits-processor.js';
import { GrammarConstraint, TokenTable, type Grammar, type GrammarConstraintOptions, type InertChars, type TokenDecoder } from './grammar-constraint.js';
import { compileSchema, type SchemaNode } from './json-schema.js';
import { JsonSchemaGrammar, STRING_CHARS } from './json-schema-grammar.js';
import { CALL_CLOSE, CALL_OPEN, FUNC_CLOSE, FUNC_OPEN, isTextParam, PARAM_CLOSE, PARAM_OPEN, type ToolSpec } from './tool-calls.js';

const CALL_START = `${CALL_OPEN}\n${FUNC_OPEN}`;
/** After a JSON or literal value (the parser trims the line feeds). */
const AFTER_VALUE = `\n${PARAM_CLOSE}\n`;
const CALL_END = `${FUNC_CLOSE}\n${CALL_CLOSE}`;
/** What a text argument takes without coming nearer `</parameter>`. */
const TEXT_CHARS: InertChars = { key: 'tool-text', test: (c) => c !== '<' };
/** What a string in a JSON argument takes as it is (no `<`: the parser ends the value at `</parameter>`). */
const JSON_TEXT_CHARS: InertChars = { key: 'tool-json-string', test: (c) => c !== '<' && STRING_CHARS.test(c) };
/** The text `tool_choice: "none"` keeps out of the answer. */
export const TOOL_CALL_TAG = CALL_OPEN;

interface ParamRule {
  readonly name: string;
  /** Alternatives of a text value (a string `enum` or `const`), as the model writes them; else null. */
  readonly choices: readonly string[] | null;
  /** The schema of a JSON value (any type but string); null for text. */
  readonly json: SchemaNode | null;
}

interface ToolRule {
  readonly name: string;
  readonly params: ReadonlyMap<string, ParamRule>;
  readonly required: readonly string[];
}

/** Names and literal values the grammar can write: no tag or line characters. */
const writable = (s: string) => s.length > 0 && !/[<>\n]/.test(s);

function paramRule(name: string, schema: Record<string, unknown>): ParamRule {
  // the parser keeps the text of a text property and parses the others as JSON
  if (!isTextParam(schema)) return { name, choices: null, json: compileSchema(schema, 'lenient') };
  const values = schema.const !== undefined ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : [];
  const choices = values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).filter(writable);
  return { name, choices: choices.length > 0 ? choices : null, json: null };
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
  return p.json?.minText ?? '';
}

/** How a value of this parameter is closed. */
const valueClose = (p: ParamRule) => (!p.choices && !p.json ? `${PARAM_CLOSE}\n` : AFTER_VALUE);

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

/**
 * A position in the grammar of one tool call (see the header).
 * @example
 * const g = ToolCallGrammar.start([{ name: 'add', parameters: { properties: { a: { type: 'integer' } }, required: ['a'] } }]);
 * g.feedText('<tool_call>\n<function=add>\n'); // true
 * g.cost; // 53: '<parameter=a>\n0\n</parameter>\n</function>\n</tool_call>'
 */
export class ToolCallGrammar implements Grammar {
  private phase: 'alt' | 'string' | 'json' | 'end' = 'alt';
  private alts: readonly Alt[] = [];
  private typed = '';
  private tool: ToolRule | null = null;
  private used: ReadonlySet<string> = new Set();
  /** In a string value: characters of `</parameter>` matched so far. */
  private matched = 0;
  private json: JsonSchemaGrammar | null = null;
  /** Characters of `rest()`, kept as `tool` and `used` change. */
  private restLength = 0;

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
    g.restLength = this.restLength;
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
        return `${PARAM_CLOSE.slice(this.matched)}\n${this.rest()}`;
      case 'json':
        return this.json!.completion() + AFTER_VALUE + this.rest();
    }
  }

  /** In a text argument with no `<` pending: anything but `<`; in a JSON argument: the JSON grammar's. */
  inert(): InertChars | null {
    if (this.phase === 'string') return this.matched === 0 ? TEXT_CHARS : null;
    return this.phase === 'json' && this.json!.inert() ? JSON_TEXT_CHARS : null;
  }

  /** Characters of the shortest completion (`completion().length`, without building it). */
  get cost(): number {
    switch (this.phase) {
      case 'end':
        return 0;
      case 'alt': {
        let best = Infinity;
        for (const a of this.alts) if (a.text.startsWith(this.typed)) best = Math.min(best, a.text.length - this.typed.length + this.costAfter(a.next));
        return best;
      }
      case 'string':
        return PARAM_CLOSE.length - this.matched + 1 + this.restLength;
      case 'json':
        return this.json!.cost + AFTER_VALUE.length + this.restLength;
    }
  }

  /** Feed text; false (and the state is then undefined) when it leaves the grammar. */
  feedText(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (!this.feed(text[i])) return false;
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
        this.matched = c === PARAM_CLOSE[this.matched] ? this.matched + 1 : c === PARAM_CLOSE[0] ? 1 : 0;
        if (this.matched === PARAM_CLOSE.length) this.literal('\n', { kind: 'params' });
        return true;
      case 'json': {
        const json = this.json!;
        if (c === '<') return false;
        if (json.feed(c)) {
          if (json.done) this.literal(AFTER_VALUE, { kind: 'params' });
          return true;
        }
        if (!json.complete) return false;
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
      text += `${PARAM_OPEN}${r}>\n${minValue(p)}${valueClose(p)}`;
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

  /** `completionAfter(next).length`; inside a call from `restLength`, without building text (cost runs per vocabulary token). */
  private costAfter(next: Next): number {
    switch (next.kind) {
      case 'params':
        return this.restLength;
      case 'value': {
        const p = next.param;
        const value = minValue(p).length + valueClose(p).length;
        // rest() less the parameter's own shortest entry `<parameter=NAME>\nVALUE…` when it is required
        const own = this.tool!.required.includes(p.name) ? PARAM_OPEN.length + p.name.length + 2 + value : 0;
        return value + this.restLength - own;
      }
      default:
        return this.completionAfter(next).length;
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
        this.restLength = this.rest().length;
        return this.enter({ kind: 'params' });
      case 'params': {
        const tool = this.tool!;
        const alts: Alt[] = [];
        for (const p of tool.params.values()) if (!this.used.has(p.name)) alts.push({ text: `${PARAM_OPEN}${p.name}>\n`, next: { kind: 'value', param: p } });
        if (tool.required.every((r) => this.used.has(r))) alts.push({ text: CALL_END, next: { kind: 'end' } });
        this.phase = 'alt';
        this.alts = alts;
        return;
      }
      case 'value': {
        const p = next.param;
        this.used = new Set([...this.used, p.name]);
        this.restLength = this.rest().length;
        if (p.choices) {
          this.phase = 'alt';
          this.alts = p.choices.map((text) => ({ text: text + AFTER_VALUE, next: { kind: 'params' } }));
        } else if (p.json) {
          this.phase = 'json';
          this.json = JsonSchemaGrammar.start(p.json);
        } else {
          this.phase = 'string';
          this.matched = 0;
        }
      }
    }
  }
}

export interface ToolConstraintOptions extends Omit<GrammarConstraintOptions, 'grammar'> {
  /** The tools the call may name (one for a named tool_choice). */
  readonly tools: readonly ToolSpec[];
}

/**
 * Forces one tool call (see the header) as a logits processor for engine/generate.
 * @example
 * const forced = new ToolCallConstraint({ tools, decoder: text, vocabSize: V, stopIds: session.stopIds, maxTokens: 256, thinkEndId: null });
 * if (forced.minTokens > 256) throw new Error('max_tokens cannot hold the call');
 * generate(session, ids, { maxTokens: 256, logitsProcessor: forced });
 */
export class ToolCallConstraint extends GrammarConstraint {
  constructor(options: ToolConstraintOptions) {
    super({ ...options, grammar: ToolCallGrammar.start(options.tools) });
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
    this.table = TokenTable.of(decoder, vocabSize);
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
