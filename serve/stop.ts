// DESIGN §6: OpenAI `stop` sequences on the answer text. Text is released as soon as it can
// no longer be the start of a stop sequence; the longest tail that still could is held back.
// When a sequence completes, the text before it is released and generation ends (the
// sequence itself is not returned, as OpenAI does).

/** What one push released. */
export interface StopResult {
  readonly text: string;
  /** A stop sequence completed: end generation. */
  readonly stopped: boolean;
}

/**
 * Streaming stop-sequence matcher.
 * @example
 * const f = new StopFilter(['END']);
 * f.push('abcE'); // { text: 'abc', stopped: false }
 * f.push('ND!');  // { text: '', stopped: true }
 */
export class StopFilter {
  private held = '';

  constructor(private readonly stops: readonly string[]) {}

  push(text: string): StopResult {
    if (this.stops.length === 0) return { text, stopped: false };
    const buf = this.held + text;
    let first = -1;
    for (const s of this.stops) {
      const at = buf.indexOf(s);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.held = '';
      return { text: buf.slice(0, first), stopped: true };
    }
    let keep = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, buf.length); n > keep; n--) {
        if (s.startsWith(buf.slice(buf.length - n))) {
          keep = n;
          break;
        }
      }
    }
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** End of generation: the held tail is text after all. */
  flush(): string {
    const out = this.held;
    this.held = '';
    return out;
  }
}
