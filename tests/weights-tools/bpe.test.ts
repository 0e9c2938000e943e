import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, SPECIAL_TOKENS, TRAINING_TEXT, tokenizerJson, trainBpe } from '../../weights-tools/bpe.js';

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
