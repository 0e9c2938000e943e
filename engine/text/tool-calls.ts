// spec §15.3: the model's tool calls, Qwen3-Coder-style XML, parsed incrementally into
// OpenAI `tool_calls` deltas. The text arrives in chunks of any size (a tag may be split
// anywhere); text outside `<tool_call>` blocks passes through as content, except a tail that
// could still be the start of `<tool_call>`, which is held until it is decided.
//
//   <tool_call>\n<function=NAME>\n<parameter=ARG>\nVALUE\n</parameter>\n…</function>\n</tool_call>
//
// Each call becomes: a start delta (index, id, name, arguments ''), one arguments delta per
// completed parameter (`{"ARG": value` then `, "ARG": value`), and a closing `}` at
// `</function>`, so the concatenated arguments are one JSON object. A VALUE is one line feed
// trimmed at each end, then typed by the tool's JSON schema: a text parameter (`isTextParam`:
// `string`, or no type and no structure) keeps the text, others are parsed as JSON, falling back
// to the text when it does not parse.

/** A tool as the request declares it (OpenAI `tools[i].function`). */
export interface ToolSpec {
  readonly name: string;
  readonly parameters?: { readonly properties?: Readonly<Record<string, Readonly<Record<string, unknown>>>> };
}

/** One parser output. */
export type ToolCallEvent =
  | { readonly kind: 'content'; readonly text: string }
  | { readonly kind: 'call-start'; readonly index: number; readonly id: string; readonly name: string }
  | { readonly kind: 'call-args'; readonly index: number; readonly arguments: string }
  | { readonly kind: 'call-end'; readonly index: number };

/** The tags of the model's tool-call format (engine/text/tool-constraint.ts writes the same). */
export const CALL_OPEN = '<tool_call>';
export const CALL_CLOSE = '</tool_call>';
export const FUNC_OPEN = '<function=';
export const FUNC_CLOSE = '</function>';
export const PARAM_OPEN = '<parameter=';
export const PARAM_CLOSE = '</parameter>';

type State = 'text' | 'call' | 'function' | 'parameter' | 'after-function';

/** Length of the longest suffix of `s` that is a proper prefix of `tag`. */
function partialTagAt(s: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, s.length); n > 0; n--) if (tag.startsWith(s.slice(s.length - n))) return n;
  return 0;
}

/**
 * A parameter whose value is written and kept as text: its type is (or includes) `string`, or it
 * has no type and no `anyOf`, `$ref`, `properties` or `items` to say it is JSON.
 * @example isTextParam({ type: ['string', 'null'] }); // true
 */
export function isTextParam(schema: Readonly<Record<string, unknown>> | undefined): boolean {
  const type = schema?.type;
  if (type === undefined) return !['anyOf', '$ref', 'properties', 'items'].some((k) => schema?.[k] !== undefined);
  return type === 'string' || (Array.isArray(type) && type.includes('string'));
}

/** Type a parameter value by its schema (see the header). */
function typedValue(raw: string, schema: Readonly<Record<string, unknown>> | undefined): unknown {
  if (isTextParam(schema)) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Incremental parser of spec §15.3 tool calls.
 * @example
 * const parser = new ToolCallParser([{ name: 'add', parameters: { properties: { a: { type: 'integer' } } } }]);
 * parser.push('<tool_call>\n<function=add>\n<parameter=a>\n1\n</para');
 * parser.push('meter>\n</function>\n</tool_call>'); // …call-args '{"a": 1', call-args '}', call-end
 */
export class ToolCallParser {
  private buffer = '';
  private state: State = 'text';
  /** Raw text of a `<tool_call>` whose function name has not arrived yet (content if it never does). */
  private pending = '';
  private index = -1;
  private params = 0;
  private name = '';
  private paramName = '';
  private readonly tools: ReadonlyMap<string, ToolSpec>;

  constructor(
    tools: readonly ToolSpec[] = [],
    private readonly newId: (index: number) => string = (i) => `call_${i}`,
  ) {
    this.tools = new Map(tools.map((t) => [t.name, t]));
  }

  /** Completed or started tool calls so far. */
  get callCount(): number {
    return this.index + 1;
  }

  /** Feed the next chunk of text; returns what it completes. */
  push(text: string): ToolCallEvent[] {
    this.buffer += text;
    const out: ToolCallEvent[] = [];
    while (this.step(out));
    return out;
  }

  /** End of the stream: held text becomes content; an open call is closed. */
  flush(): ToolCallEvent[] {
    const out: ToolCallEvent[] = [];
    if (this.state === 'text' || this.state === 'call') {
      const text = this.pending + this.buffer;
      if (text) out.push({ kind: 'content', text });
    } else {
      out.push({ kind: 'call-args', index: this.index, arguments: this.params === 0 ? '{}' : '}' });
      out.push({ kind: 'call-end', index: this.index });
    }
    this.buffer = this.pending = '';
    this.state = 'text';
    return out;
  }

  /** One transition; false when the buffer needs more text. */
  private step(out: ToolCallEvent[]): boolean {
    switch (this.state) {
      case 'text': {
        const at = this.buffer.indexOf(CALL_OPEN);
        const emit = at >= 0 ? at : this.buffer.length - partialTagAt(this.buffer, CALL_OPEN);
        if (emit > 0) out.push({ kind: 'content', text: this.buffer.slice(0, emit) });
        if (at < 0) {
          this.buffer = this.buffer.slice(emit);
          return false;
        }
        this.pending = CALL_OPEN;
        this.buffer = this.buffer.slice(at + CALL_OPEN.length);
        this.state = 'call';
        return true;
      }
      case 'call': {
        const trimmed = this.buffer.trimStart();
        if (trimmed.length < FUNC_OPEN.length && FUNC_OPEN.startsWith(trimmed)) return false;
        const end = trimmed.indexOf('>');
        if (!trimmed.startsWith(FUNC_OPEN)) {
          // not a tool call after all: give the text back as content
          out.push({ kind: 'content', text: this.pending });
          this.pending = '';
          this.state = 'text';
          return true;
        }
        if (end < 0) return false;
        this.name = trimmed.slice(FUNC_OPEN.length, end).trim();
        this.buffer = trimmed.slice(end + 1);
        this.pending = '';
        this.index++;
        this.params = 0;
        out.push({ kind: 'call-start', index: this.index, id: this.newId(this.index), name: this.name });
        this.state = 'function';
        return true;
      }
      case 'function': {
        const trimmed = this.buffer.trimStart();
        if (trimmed.startsWith(PARAM_OPEN)) {
          const end = trimmed.indexOf('>');
          if (end < 0) return false;
          this.paramName = trimmed.slice(PARAM_OPEN.length, end).trim();
          this.buffer = trimmed.slice(end + 1);
          this.state = 'parameter';
          return true;
        }
        for (const close of [FUNC_CLOSE, CALL_CLOSE]) {
          if (trimmed.startsWith(close)) {
            out.push({ kind: 'call-args', index: this.index, arguments: this.params === 0 ? '{}' : '}' });
            this.buffer = trimmed.slice(close.length);
            if (close === CALL_CLOSE) out.push({ kind: 'call-end', index: this.index });
            this.state = close === CALL_CLOSE ? 'text' : 'after-function';
            return true;
          }
        }
        if ([PARAM_OPEN, FUNC_CLOSE, CALL_CLOSE].some((tag) => tag.startsWith(trimmed))) {
          this.buffer = trimmed;
          return false;
        }
        // stray text between parameters: skip to the next tag
        const next = trimmed.indexOf('<', 1);
        this.buffer = next < 0 ? '' : trimmed.slice(next);
        return next >= 0;
      }
      case 'parameter': {
        const end = this.buffer.indexOf(PARAM_CLOSE);
        if (end < 0) return false;
        let raw = this.buffer.slice(0, end);
        if (raw.startsWith('\n')) raw = raw.slice(1);
        if (raw.endsWith('\n')) raw = raw.slice(0, -1);
        const schema = this.tools.get(this.name)?.parameters?.properties?.[this.paramName];
        const fragment = `${this.params === 0 ? '{' : ', '}${JSON.stringify(this.paramName)}: ${JSON.stringify(typedValue(raw, schema))}`;
        out.push({ kind: 'call-args', index: this.index, arguments: fragment });
        this.params++;
        this.buffer = this.buffer.slice(end + PARAM_CLOSE.length);
        this.state = 'function';
        return true;
      }
      case 'after-function': {
        const trimmed = this.buffer.trimStart();
        if (trimmed.length < CALL_CLOSE.length && CALL_CLOSE.startsWith(trimmed)) {
          this.buffer = trimmed;
          return false;
        }
        out.push({ kind: 'call-end', index: this.index });
        this.buffer = trimmed.startsWith(CALL_CLOSE) ? trimmed.slice(CALL_CLOSE.length) : trimmed;
        this.state = 'text';
        return true;
      }
    }
  }
}
