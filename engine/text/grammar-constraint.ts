// A grammar enforced in decoding, token by token: the machinery shared by forced tool calls
// (engine/text/tool-constraint.ts) and structured output (engine/text/json-schema-grammar.ts).
//
// The grammar runs on characters (a byte-level BPE token is its decoded text; a token that ends
// inside a UTF-8 character decodes to U+FFFD and may only stand in free text or a JSON string).
// Each state knows its shortest completion, and there is always a character that shortens it
// by one. A token is allowed only when, after it, the tokens left still fit that completion (at
// most one token per character; exactly, by the fewest tokens that spell it, for tokens on that
// path) plus the stop id; stop ids only once the grammar is complete. So the document is
// closed before max_tokens runs out, and `minTokens` says up front whether it can be. With
// thinking on, reasoning comes first and `</think>` is forced in time for the document.
//
// Cost per sampled token: the vocabulary is walked in sorted order, sharing the grammar state
// of each common prefix (an implicit trie), and a prefix the grammar refuses skips every token
// that starts with it; structural positions feed a few hundred characters. Inside free text (a
// JSON string, a tool call's text argument) the grammar names its inert characters: tokens made
// only of them leave the state and its cost as they are, so they are allowed in one pass over a
// list the table splits once per kind of free text, and only the other tokens (those with a `"`
// or `\`, or a `<`) are walked. Plus one pass over the V logits to mask them. Measured on a
// loaded 2-core machine: the default model (V = 4096) 0.3 ms per token for a JSON schema, 0.5 ms
// for a tool call (≈ 15 % of its 2.3 ms per token); a synthetic V = 131072 vocabulary 1–10 ms in
// structural positions and 4–25 ms inside a string (the table and each split, once: ~0.5–1 s).

import type { LogitsProcessor } from '../decode/logits-processor.js';

/** What the constraint needs of a tokenizer. */
export interface TokenDecoder {
  decode(ids: readonly number[]): string;
}

/** Characters that leave a grammar's state as it is (free text), named for the table's cache. */
export interface InertChars {
  readonly key: string;
  test(c: string): boolean;
}

/** A position in a grammar over characters, with its shortest completion. */
export interface Grammar {
  copy(): Grammar;
  /** Feed one character (a UTF-16 unit); false when it leaves the grammar. */
  feed(c: string): boolean;
  /** The text may end here (only stop ids, or more text the grammar takes, follow). */
  readonly complete: boolean;
  /** Characters of the shortest completion. */
  readonly cost: number;
  /** The shortest text that completes it. */
  completion(): string;
  /** Characters that, here, leave the state and its cost unchanged; null where there are none. */
  inert(): InertChars | null;
}

/** Tokens in sorted order with their shared prefix lengths (see TokenTable). */
interface SortedTokens {
  readonly sorted: Int32Array;
  readonly lcp: Int32Array;
}

/**
 * Each token's text, the non-empty ones sorted by text with the length of the prefix each
 * shares with the one before, and the ids by text.
 * @example const table = TokenTable.of(tokenizer, vocabSize); table.minTokens('{}'); // 1 if '{}' is a token
 */
export class TokenTable implements SortedTokens {
  readonly texts: string[];
  readonly sorted: Int32Array;
  /** lcp[i]: UTF-16 units token sorted[i] shares with sorted[i − 1]. */
  readonly lcp: Int32Array;
  readonly byText = new Map<string, number[]>();
  /** Longest token text, in UTF-16 units. */
  readonly maxLength: number;

  private constructor(decoder: TokenDecoder, vocabSize: number) {
    this.texts = Array.from({ length: vocabSize }, (_, id) => decoder.decode([id]));
    const ids = this.texts.map((_, id) => id).filter((id) => this.texts[id] !== '');
    ids.sort((a, b) => (this.texts[a] < this.texts[b] ? -1 : this.texts[a] > this.texts[b] ? 1 : a - b));
    this.sorted = Int32Array.from(ids);
    this.lcp = new Int32Array(ids.length);
    let max = 1;
    ids.forEach((id, i) => {
      const t = this.texts[id];
      if (i > 0) {
        const prev = this.texts[ids[i - 1]];
        let k = 0;
        while (k < t.length && k < prev.length && t[k] === prev[k]) k++;
        this.lcp[i] = k;
      }
      this.byText.set(t, [...(this.byText.get(t) ?? []), id]);
      max = Math.max(max, t.length);
    });
    this.maxLength = max;
  }

  /** Per kind of inert characters: the tokens made of them, and the others sorted as `sorted` is. */
  private readonly splits = new Map<string, { readonly inert: Int32Array; readonly rest: SortedTokens }>();

  /** The tokens made only of `chars`, and the rest of `sorted` with their shared prefix lengths. */
  split(chars: InertChars): { readonly inert: Int32Array; readonly rest: SortedTokens } {
    let split = this.splits.get(chars.key);
    if (split) return split;
    const inert: number[] = [];
    const sorted: number[] = [];
    const lcp: number[] = [];
    let shared = Infinity; // lcp(a, c) = min over the skipped tokens between them
    this.sorted.forEach((id, i) => {
      shared = Math.min(shared, this.lcp[i]);
      const t = this.texts[id];
      let all = true;
      for (let k = 0; k < t.length && all; k++) all = chars.test(t[k]);
      if (all) return void inert.push(id);
      sorted.push(id);
      lcp.push(sorted.length === 1 ? 0 : shared);
      shared = Infinity;
    });
    split = { inert: Int32Array.from(inert), rest: { sorted: Int32Array.from(sorted), lcp: Int32Array.from(lcp) } };
    this.splits.set(chars.key, split);
    return split;
  }

  /** fewest[i]: fewest tokens that spell text[i…] exactly (Infinity when none do). */
  fewest(text: string): number[] {
    const best = new Array<number>(text.length + 1).fill(Infinity);
    best[text.length] = 0;
    for (let i = text.length - 1; i >= 0; i--) {
      for (let k = 1; k <= this.maxLength && i + k <= text.length; k++) if (this.byText.has(text.slice(i, i + k))) best[i] = Math.min(best[i], 1 + best[i + k]);
    }
    return best;
  }

  /** Fewest tokens that spell `text` exactly (Infinity when none do). */
  minTokens(text: string): number {
    return this.fewest(text)[0];
  }

  /** The table of a tokenizer, built once. */
  static of(decoder: TokenDecoder, vocabSize: number): TokenTable {
    let t = TABLES.get(decoder);
    if (!t || t.texts.length !== vocabSize) {
      t = new TokenTable(decoder, vocabSize);
      TABLES.set(decoder, t);
    }
    return t;
  }
}
const TABLES = new WeakMap<TokenDecoder, TokenTable>();

export interface GrammarConstraintOptions {
  /** The start of the text to force (the constraint owns it from here). */
  readonly grammar: Grammar;
  readonly decoder: TokenDecoder;
  readonly vocabSize: number;
  /** Ids that end generation; allowed only once the grammar is complete. */
  readonly stopIds: readonly number[];
  /** Most tokens generation will sample (the stop id included). */
  readonly maxTokens: number;
  /** Id of `</think>` when the answer starts inside an open `<think>` block; else null. */
  readonly thinkEndId: number | null;
}

/**
 * Forces the text of a grammar (see the header) as a logits processor for engine/generate.
 * @example
 * const forced = new GrammarConstraint({ grammar: JsonSchemaGrammar.start(ANY_OBJECT), decoder: text, vocabSize: V, stopIds: session.stopIds, maxTokens: 64, thinkEndId: null });
 * if (forced.minTokens > 64) throw new Error('max_tokens cannot hold the shortest document');
 * generate(session, ids, { maxTokens: 64, logitsProcessor: forced });
 */
export class GrammarConstraint implements LogitsProcessor {
  private readonly table: TokenTable;
  private readonly isStop: Uint8Array;
  private readonly stops: readonly number[];
  private grammar: Grammar;
  private thinking: boolean;
  private sampled = 0;
  /** Fewest tokens of the shortest document, from the start. */
  private readonly documentTokens: number;
  /** Tokens allowed for the row `process` last saw (V). */
  private readonly allowed: Uint8Array;

  constructor(private readonly options: GrammarConstraintOptions) {
    this.table = TokenTable.of(options.decoder, options.vocabSize);
    this.stops = options.stopIds.filter((id) => id >= 0 && id < options.vocabSize);
    this.isStop = new Uint8Array(options.vocabSize);
    for (const id of this.stops) this.isStop[id] = 1;
    this.grammar = options.grammar;
    this.thinking = options.thinkEndId !== null;
    this.allowed = new Uint8Array(options.vocabSize);
    this.documentTokens = this.table.minTokens(this.grammar.completion());
  }

  /** Fewest tokens generation needs: `</think>` when thinking, the shortest document, a stop id. */
  get minTokens(): number {
    return (this.thinking ? 1 : 0) + this.documentTokens + 1;
  }

  /** The text so far is a complete document. */
  get complete(): boolean {
    return this.grammar.complete;
  }

  process(logits: Float32Array): void {
    const left = this.options.maxTokens - this.sampled; // this token included
    if (this.thinking) return this.processThinking(logits, left);
    this.allowed.fill(0);
    if (this.grammar.complete) for (const id of this.stops) this.allowed[id] = 1;
    // when even the shortest document no longer fits, it is written as far as it goes; at a dead
    // end (a character no token spells, e.g. a tool's non-ASCII enum value) generation stops
    if (!this.allowWithin(left - 1) && !this.grammar.complete && !this.allowWithin(Infinity)) for (const id of this.stops) this.allowed[id] = 1;
    for (let id = 0; id < logits.length; id++) if (!this.allowed[id]) logits[id] = -Infinity;
  }

  accept(id: number): void {
    this.sampled++;
    if (this.thinking) {
      if (id === this.options.thinkEndId) this.thinking = false;
      return;
    }
    if (this.isStop[id]) return;
    const text = this.table.texts[id] ?? '';
    for (let i = 0; i < text.length; i++) if (!this.grammar.feed(text[i])) return;
  }

  /** While thinking: anything but a stop id, until `</think>` must come to leave room for the document. */
  private processThinking(logits: Float32Array, left: number): void {
    const end = this.options.thinkEndId!;
    // after a token other than `</think>`: `</think>`, the document, a stop id
    if (left - 1 < 1 + this.documentTokens + 1) {
      const kept = logits[end];
      logits.fill(-Infinity);
      logits[end] = Number.isFinite(kept) ? kept : 0;
      return;
    }
    for (const id of this.stops) logits[id] = -Infinity;
  }

  /**
   * Mark the tokens the grammar takes after which the completion and a stop id fit in `after`
   * tokens; whether any was. A completion of c characters takes at most c tokens; where that
   * bound is too loose, tokens that follow the shortest completion are counted exactly.
   */
  private allowWithin(after: number): boolean {
    const { texts } = this.table;
    let any = false;
    const chars = this.grammar.inert();
    let tokens: SortedTokens = this.table;
    if (chars) {
      const split = this.table.split(chars);
      tokens = split.rest;
      if (this.grammar.cost + 1 <= after) {
        for (const id of split.inert) {
          if (this.isStop[id]) continue;
          this.allowed[id] = 1;
          any = true;
        }
      }
    }
    const { sorted, lcp } = tokens;
    // states[k]: the grammar after the first k units of the current token; failed: where it left
    const states: Grammar[] = [this.grammar];
    let failed = Infinity;
    for (let i = 0; i < sorted.length; i++) {
      const shared = lcp[i];
      if (failed < shared) continue; // starts with a prefix the grammar refused
      const id = sorted[i];
      const t = texts[id];
      states.length = Math.min(states.length, shared + 1);
      failed = Infinity;
      for (let k = states.length - 1; k < t.length; k++) {
        const g = states[k].copy();
        if (!g.feed(t[k])) {
          failed = k;
          break;
        }
        states.push(g);
      }
      if (failed !== Infinity || this.isStop[id] || states[t.length].cost + 1 > after) continue;
      this.allowed[id] = 1;
      any = true;
    }
    const path = this.grammar.completion();
    const fewest = this.table.fewest(path);
    for (let k = 1; k <= Math.min(path.length, this.table.maxLength); k++) {
      const ids = this.table.byText.get(path.slice(0, k));
      if (!ids || fewest[k] + 1 > after) continue;
      for (const id of ids) {
        if (this.isStop[id]) continue;
        this.allowed[id] = 1;
        any = true;
      }
    }
    return any;
  }
}
