// A JSON document of a compiled schema (engine/text/json-schema.ts), recognised character by
// character with its shortest completion: the grammar of `response_format` and of tool-call
// arguments (engine/text/grammar-constraint.ts drives it token by token).
//
// It is a nondeterministic pushdown automaton. A thread is an immutable stack of frames (the
// innermost on top); `anyOf`, enums sharing a first character and the keys of an object
// (after `"`) fork threads, and a character that a thread cannot take ends it. Copies share
// their threads, so a copy costs O(1). The cost of a thread is the sum of its frames' rests
// (each frame: what closes it once the frame above is done), cached per stack node; the
// grammar's cost is the cheapest thread's.
//
// The text is compact JSON plus at most MAX_WS whitespace characters (space, \n, \t) in a row
// inside containers, never around the top-level value; numbers stay finite in f64 (at most 100
// integer digits, 2 exponent digits).

import type { InertChars } from './grammar-constraint.js';
import type { SchemaNode } from './json-schema.js';

type ObjectNode = Extract<SchemaNode, { kind: 'object' }>;
type ArrayNode = Extract<SchemaNode, { kind: 'array' }>;

/** Most whitespace characters in a row. */
export const MAX_WS = 16;
const MAX_INT_DIGITS = 100;
const MAX_EXP_DIGITS = 2;

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
const numberComplete = (p: NumPart) => p === NumPart.Zero || p === NumPart.Int || p === NumPart.Frac || p === NumPart.ExpDigits;
const isDigit = (c: string) => c >= '0' && c <= '9';
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
const isWs = (c: string) => c === ' ' || c === '\n' || c === '\t';
/** What a JSON string takes as it is: no quote, backslash or control character. */
export const STRING_CHARS: InertChars = { key: 'json-string', test: (c) => c >= ' ' && c !== '"' && c !== '\\' };

// object phases: after '{' | after ',' | in a key | after a key | in a value | after a value
type ObjPhase = 'open' | 'key' | 'keyText' | 'colon' | 'value' | 'after';
// array phases: after '[' | in an item | after an item
type ArrPhase = 'open' | 'value' | 'after';

type Frame =
  | { readonly t: 'value'; readonly node: SchemaNode }
  | { readonly t: 'lit'; readonly text: string; readonly pos: number }
  /** esc: 0, 1 after a backslash, 2–5: hex digits of \u left + 1. */
  | { readonly t: 'str'; readonly esc: number }
  | { readonly t: 'num'; readonly part: NumPart; readonly digits: number; readonly integer: boolean }
  /** used: declared keys written (or being written); pending: the schema of the value whose key was written. */
  | { readonly t: 'obj'; readonly node: ObjectNode; readonly phase: ObjPhase; readonly used: ReadonlySet<string>; readonly pending: SchemaNode | null }
  | { readonly t: 'arr'; readonly node: ArrayNode; readonly phase: ArrPhase; readonly count: number };

/** A stack node; `total` caches the cost of this frame and those below. */
class Stack {
  private cost = -1;
  constructor(
    readonly frame: Frame,
    readonly below: Stack | null,
  ) {}

  get total(): number {
    if (this.cost < 0) this.cost = rest(this.frame).length + (this.below?.total ?? 0);
    return this.cost;
  }
}

/** A thread: its stack (null: the document is complete) and the whitespace just written. */
interface Thread {
  readonly stack: Stack | null;
  readonly ws: number;
}

const EMPTY: ReadonlySet<string> = new Set();
const unwritten = (f: Extract<Frame, { t: 'obj' }>) => (f.node.props ?? []).filter((p) => !f.used.has(p.name));
const requiredLeft = (f: Extract<Frame, { t: 'obj' }>) => unwritten(f).filter((p) => p.required);
const entry = (p: { key: string; node: SchemaNode }) => `${p.key}:${p.node.minText}`;

/** The shortest text that closes a frame once whatever is above it is complete. */
function rest(f: Frame): string {
  switch (f.t) {
    case 'value':
      return f.node.minText;
    case 'lit':
      return f.text.slice(f.pos);
    case 'str':
      return (f.esc === 1 ? 'n' : '0'.repeat(Math.max(0, f.esc - 1))) + '"';
    case 'num':
      return numberComplete(f.part) ? '' : '0';
    case 'obj': {
      const left = requiredLeft(f).map(entry);
      switch (f.phase) {
        case 'open':
          return `${left.join(',')}}`;
        case 'key': {
          if (left.length > 0) return `${left.join(',')}}`;
          const options = f.node.props ? unwritten(f).map(entry) : [`"":${f.node.values.minText}`];
          return `${options.reduce((a, b) => (b.length < a.length ? b : a))}}`;
        }
        case 'keyText':
        case 'colon':
          return `:${f.pending!.minText}${left.map((e) => `,${e}`).join('')}}`;
        default:
          return `${left.map((e) => `,${e}`).join('')}}`;
      }
    }
    case 'arr': {
      const items = (n: number) => `,${f.node.items.minText}`.repeat(Math.max(0, n));
      if (f.phase === 'open') return f.node.minText.slice(1);
      return items(f.node.minItems - f.count - (f.phase === 'value' ? 1 : 0)) + ']';
    }
  }
}

/** The stack once the value on top of `below` is complete. */
function pop(below: Stack | null): Stack | null {
  if (below === null) return null;
  const f = below.frame;
  if (f.t === 'obj') return new Stack({ ...f, phase: f.phase === 'keyText' ? 'colon' : 'after' }, below.below);
  if (f.t === 'arr') return new Stack({ ...f, phase: 'after', count: f.count + 1 }, below.below);
  throw new Error(`pop below a ${f.t} frame`);
}

/** Threads after `c` starts a value of `node` above `below`. */
function startValue(node: SchemaNode, below: Stack | null, c: string, out: (Stack | null)[]): void {
  const push = (frame: Frame) => out.push(new Stack(frame, below));
  switch (node.kind) {
    case 'anyOf':
      for (const o of node.options) startValue(o, below, c, out);
      return;
    case 'object':
      if (c === '{') push({ t: 'obj', node, phase: 'open', used: EMPTY, pending: null });
      return;
    case 'array':
      if (c === '[') push({ t: 'arr', node, phase: 'open', count: 0 });
      return;
    case 'string':
      if (c === '"') push({ t: 'str', esc: 0 });
      return;
    case 'number':
      if (c === '-' || isDigit(c)) push({ t: 'num', part: c === '-' ? NumPart.Minus : c === '0' ? NumPart.Zero : NumPart.Int, digits: 1, integer: node.integer });
      return;
    case 'literal':
      for (const text of node.texts) {
        if (text[0] !== c) continue;
        if (text.length === 1) out.push(pop(below));
        else push({ t: 'lit', text, pos: 1 });
      }
  }
}

/** The stacks after `c` (whitespace aside); each is a thread, or null for a complete document. */
function step(s: Stack, c: string, out: (Stack | null)[]): void {
  const f = s.frame;
  const below = s.below;
  switch (f.t) {
    case 'value':
      return startValue(f.node, below, c, out);
    case 'lit':
      if (c !== f.text[f.pos]) return;
      out.push(f.pos + 1 === f.text.length ? pop(below) : new Stack({ ...f, pos: f.pos + 1 }, below));
      return;
    case 'str': {
      let esc = f.esc;
      if (esc === 1) {
        if (c === 'u') esc = 5;
        else if ('"\\/bfnrt'.includes(c)) esc = 0;
        else return;
      } else if (esc > 1) {
        if (!isHex(c)) return;
        esc = esc === 2 ? 0 : esc - 1;
      } else if (c === '\\') esc = 1;
      else if (c === '"') return void out.push(pop(below));
      else if (c < ' ') return;
      out.push(esc === f.esc ? s : new Stack({ t: 'str', esc }, below));
      return;
    }
    case 'num': {
      const p = f.part;
      let next: NumPart | null = null;
      if (isDigit(c)) {
        if (p === NumPart.Zero || (p === NumPart.Int && f.digits >= MAX_INT_DIGITS) || (p === NumPart.ExpDigits && f.digits >= MAX_EXP_DIGITS)) return;
        next = p === NumPart.Minus ? (c === '0' ? NumPart.Zero : NumPart.Int) : p === NumPart.Dot ? NumPart.Frac : p === NumPart.Exp || p === NumPart.ExpSign ? NumPart.ExpDigits : p;
      } else if (c === '.' && !f.integer && (p === NumPart.Zero || p === NumPart.Int)) next = NumPart.Dot;
      else if ((c === 'e' || c === 'E') && !f.integer && (p === NumPart.Zero || p === NumPart.Int || p === NumPart.Frac)) next = NumPart.Exp;
      else if ((c === '+' || c === '-') && p === NumPart.Exp) next = NumPart.ExpSign;
      if (next !== null) return void out.push(new Stack({ ...f, part: next, digits: next === p ? f.digits + 1 : 1 }, below));
      // the number ends here: the character belongs to what follows it
      const after = numberComplete(p) ? pop(below) : null;
      if (after) step(after, c, out);
      return;
    }
    case 'obj': {
      const props = f.node.props;
      if (c === '"' && (f.phase === 'open' || f.phase === 'key')) {
        if (props === null) return void out.push(new Stack({ t: 'str', esc: 0 }, new Stack({ ...f, phase: 'keyText', pending: f.node.values }, below)));
        for (const p of unwritten(f)) {
          const used = new Set(f.used).add(p.name);
          out.push(new Stack({ t: 'lit', text: p.key, pos: 1 }, new Stack({ ...f, phase: 'keyText', used, pending: p.node }, below)));
        }
        return;
      }
      if (c === '}' && (f.phase === 'open' || f.phase === 'after') && requiredLeft(f).length === 0) return void out.push(pop(below));
      if (c === ',' && f.phase === 'after' && (props === null || unwritten(f).length > 0)) return void out.push(new Stack({ ...f, phase: 'key' }, below));
      if (c === ':' && f.phase === 'colon') out.push(new Stack({ t: 'value', node: f.pending! }, new Stack({ ...f, phase: 'value' }, below)));
      return;
    }
    case 'arr': {
      const { minItems, maxItems, items } = f.node;
      if (c === ']' && (f.phase === 'open' || f.phase === 'after') && f.count >= minItems) return void out.push(pop(below));
      if (c === ',' && f.phase === 'after' && f.count < maxItems) return void out.push(new Stack({ t: 'value', node: items }, new Stack({ ...f, phase: 'value' }, below)));
      if (f.phase === 'open' && maxItems > 0) startValue(items, new Stack({ ...f, phase: 'value' }, below), c, out);
    }
  }
}

/** Whitespace may stand here: inside a container, between tokens. */
function wsAllowed(s: Stack | null): boolean {
  if (s === null) return false;
  const f = s.frame;
  if (f.t === 'obj' || f.t === 'arr') return true;
  if (f.t === 'value') return s.below !== null;
  // a complete number inside a container ends at the whitespace
  return f.t === 'num' && numberComplete(f.part) && s.below !== null;
}

/**
 * A position in a JSON document of a schema (see the header).
 * @example
 * const g = JsonSchemaGrammar.start(compileSchema({ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, 'strict'));
 * g.feedText('{"a":'); // true
 * g.completion(); // '0}'
 */
export class JsonSchemaGrammar {
  private constructor(private threads: readonly Thread[]) {}

  /** Before the first character of a value of `node`. */
  static start(node: SchemaNode): JsonSchemaGrammar {
    return new JsonSchemaGrammar([{ stack: new Stack({ t: 'value', node }, null), ws: 0 }]);
  }

  copy(): JsonSchemaGrammar {
    return new JsonSchemaGrammar(this.threads);
  }

  /** Feed one character; false (the state unchanged) when no thread takes it. */
  feed(c: string): boolean {
    const out: Thread[] = [];
    const stacks: (Stack | null)[] = [];
    for (const th of this.threads) {
      if (th.stack === null) continue;
      const t = th.stack.frame.t;
      if (isWs(c) && t !== 'str' && t !== 'lit') {
        if (th.ws < MAX_WS && wsAllowed(th.stack)) {
          const s = th.stack;
          // whitespace after a number ends it
          out.push({ stack: s.frame.t === 'num' ? pop(s.below) : s, ws: th.ws + 1 });
        }
        continue;
      }
      stacks.length = 0;
      step(th.stack, c, stacks);
      for (const stack of stacks) out.push({ stack, ws: 0 });
    }
    if (out.length === 0) return false;
    this.threads = out;
    return true;
  }

  /** Feed text; false (the state then undefined) when it leaves the grammar. */
  feedText(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (!this.feed(text[i])) return false;
    return true;
  }

  /** The document may end here (it is complete, or a complete top-level number). */
  get complete(): boolean {
    return this.threads.some((th) => th.stack === null || (th.stack.below === null && th.stack.frame.t === 'num' && numberComplete(th.stack.frame.part)));
  }

  /** The document is complete and nothing can extend it. */
  get done(): boolean {
    return this.threads.every((th) => th.stack === null);
  }

  /** Characters of the shortest completion. */
  get cost(): number {
    let best = Infinity;
    for (const th of this.threads) best = Math.min(best, th.stack?.total ?? 0);
    return best;
  }

  /** Inside a string (every thread, no escape open): its plain characters. */
  inert(): InertChars | null {
    return this.threads.every((th) => th.stack?.frame.t === 'str' && th.stack.frame.esc === 0) ? STRING_CHARS : null;
  }

  /** The shortest text that completes the document. */
  completion(): string {
    let best: string | null = null;
    for (const th of this.threads) {
      let text = '';
      for (let s = th.stack; s; s = s.below) text += rest(s.frame);
      if (best === null || text.length < best.length) best = text;
    }
    return best!;
  }
}
