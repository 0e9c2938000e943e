import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, SPECIAL_TOKENS, TRAINING_TEXT, countWords, tokenizerJson, trainBpe, trainBpeOnCounts } from '../../weights-tools/bpe.js';

const load = (vocab: number) => new Tokenizer(tokenizerJson(trainBpe(TRAINING_TEXT, vocab)) as never, {});

describe('byte table', () => {
  it('maps the 256 bytes to distinct characters, printable ASCII to itself, space to Ġ and newline to Ċ', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0]).toBe('\u0100');
  });
});

describe('trainBpe', () => {
  it('learns merges by hand on a toy text: the most frequent pair first, ties by string order', () => {
    // words: "aab" ×3 ("aab", " aab", " aab"), " ab" ×1. Pairs: a a 3, a b 4, Ġ a 3 → first "a b".
    const bpe = trainBpe('aab aab aab ab', SPECIAL_TOKENS.length + 256 + 2);
    expect(bpe.merges).toEqual([
      ['a', 'b'],
      ['a', 'ab'],
    ]);
    expect(bpe.tokens.slice(-2)).toEqual(['ab', 'aab']);
  });

  it('stops when no pair occurs twice, and is deterministic', () => {
    const a = trainBpe(TRAINING_TEXT, 100_000);
    expect(a.tokens.length).toBeLessThan(100_000);
    expect(a.tokens.length).toBeGreaterThan(263 + 100);
    expect(trainBpe(TRAINING_TEXT, 100_000)).toEqual(a);
  });

  it('lays out specials, then bytes, then merges, and fills exactly the requested vocab', () => {
    const bpe = trainBpe(TRAINING_TEXT, 300);
    expect(bpe.tokens.length).toBe(300);
    expect(bpe.tokens.slice(0, 7)).toEqual([...SPECIAL_TOKENS]);
    expect(bpe.tokens.slice(7, 263)).toEqual([...BYTE_TO_CHAR]);
    expect(new Set(bpe.tokens).size).toBe(300);
  });

  it('rejects a vocab too small for specials and bytes', () => {
    expect(() => trainBpe(TRAINING_TEXT, 262)).toThrow(/≥ 263/);
  });
});

/** The plain twin of the incremental trainer: recount every pair after every merge. */
function naiveBpe(counts: Map<string, number>, vocabSize: number) {
  const words = [...counts].map(([w, n]) => ({ symbols: [...w], n }));
  const merges: [string, string][] = [];
  const tokens: string[] = [...SPECIAL_TOKENS, ...BYTE_TO_CHAR];
  while (tokens.length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { symbols, n } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    const [key, n] = [...pairs].reduce((best, p) => (p[1] > best[1] || (p[1] === best[1] && p[0] < best[0]) ? p : best), ['', 0]);
    if (n < 2) break;
    const [a, b] = key.split(' ');
    merges.push([a, b]);
    if (!tokens.includes(a + b)) tokens.push(a + b);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.symbols[i]);
      }
      w.symbols = out;
    }
  }
  return { tokens, merges };
}

describe('countWords and trainBpeOnCounts', () => {
  it('counts GPT-2 pre-tokens as byte characters, adding to a shared map', () => {
    const counts = countWords('the cat the\n');
    countWords('the dog', counts);
    expect([...counts]).toEqual([
      ['the', 2],
      ['Ġcat', 1],
      ['Ġthe', 1],
      ['Ċ', 1],
      ['Ġdog', 1],
    ]);
    expect([...countWords('é')]).toEqual([['Ã©', 1]]);
  });

  it('learns exactly the merges of the plain recount-everything trainer', () => {
    const text = `${TRAINING_TEXT} aaaa aaa aaaaa abab abab bbb bbbb 1999 2000 2001 ...`;
    for (const vocab of [270, 400, 100_000]) {
      expect(trainBpeOnCounts(countWords(text), vocab)).toEqual(naiveBpe(countWords(text), vocab));
    }
  });
});

describe('tokenizer.json through @huggingface/tokenizers', () => {
  const tok = load(512);
  const texts = [
    'Four score and seven years ago our fathers brought forth',
    'Hello wörld — “quoted” 日本語 🙂\n\n  tabs\tand  spaces ',
    'def f(x):\n    return x * 2\n',
  ];
  it.each(texts)('round-trips %j', (text) => {
    const { ids } = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
  });

  it('uses learned merges on training text (far fewer tokens than bytes)', () => {
    const text = 'we can not dedicate this nation';
    expect(tok.encode(text).ids.length).toBeLessThan(text.length / 2);
  });

  it('encodes the specials as single ids 0..6', () => {
    const { ids } = tok.encode('<|im_start|>user\nhi<|im_end|><think></think></s><s><unk>');
    expect(ids[0]).toBe(3);
    expect(ids).toContain(4);
    expect(ids.slice(-5)).toEqual([5, 6, 2, 1, 0]);
  });

  it('maps a lone byte to its byte token (7 + byte value)', () => {
    expect(tok.encode('\n').ids).toEqual([7 + 0x0a]);
    expect(tok.encode('~').ids).toEqual([7 + 0x7e]);
  });
});
