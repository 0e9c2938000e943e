import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { TextCodec } from '../../engine/text/text.js';
import {
  DOCUMENT_SEPARATOR,
  EOS_ID,
  HELDOUT_STRIDE,
  VOCAB_SIZE,
  encodeDocuments,
  joinDocuments,
  loadDocuments,
  normalizeDocument,
  splitDocuments,
} from '../../lab/corpus.js';
import { SPECIAL_TOKENS } from '../../weights-tools/bpe.js';

const asset = (name: string) => readFileSync(new URL(`../../assets/corpus/${name}`, import.meta.url), 'utf8');
const HELDOUT = asset('heldout.txt');
const TOKENIZER = JSON.parse(asset('tokenizer.json'));
const TOKENIZER_CONFIG = JSON.parse(asset('tokenizer_config.json'));

describe('normalizeDocument', () => {
  it('folds line ends, control characters and white space, and keeps paragraphs one blank line apart', () => {
    expect(normalizeDocument('\uFEFF  One\r\ntwo\t three.\r\n\r\n\r\n\r\nFour\u0002five.  \n')).toBe('One two three.\n\nFour five.');
    expect(normalizeDocument('a\n \nb\n\n\n\nc')).toBe('a\n\nb\n\nc');
  });

  it('removes audience annotations but not the word', () => {
    expect(normalizeDocument('Thank you. (Applause.) Thank you. [Laughter] The applause stopped.')).toBe('Thank you. Thank you. The applause stopped.');
    expect(normalizeDocument('Madam Vice President—(applause)—no President')).toBe('Madam Vice President—no President');
  });

  it('composes to NFC', () => {
    expect(normalizeDocument('cafe\u0301')).toBe('caf\u00e9');
  });

  it('gives an empty string for white space only', () => {
    expect(normalizeDocument(' \r\n\t\n')).toBe('');
  });
});

describe('splitDocuments', () => {
  it(`holds out every ${HELDOUT_STRIDE}th document, from index 12, and keeps the order`, () => {
    const docs = Array.from({ length: 60 }, (_, i) => ({ name: `d/${i}`, text: `doc ${i}` }));
    const { train, heldout } = splitDocuments(docs);
    expect(heldout.map((d) => d.name)).toEqual(['d/12', 'd/37']);
    expect(train).toHaveLength(58);
    expect(train.map((d) => d.name).slice(10, 13)).toEqual(['d/10', 'd/11', 'd/13']);
  });
});

describe('the sources (the pinned npm packages)', () => {
  const { documents, sources } = loadDocuments();
  const { train, heldout } = splitDocuments(documents);

  it('are 233 addresses and 138 book sections, 12 MB of text', () => {
    expect(sources.map((s) => [s.id, s.documents])).toEqual([
      ['sotu', 233],
      ['moby-dick', 138],
    ]);
    expect(documents[0].name).toBe('sotu/1790_george_washington_n');
    expect(documents.at(-1)!.name).toBe('moby-dick/epilogue');
    const bytes = Buffer.byteLength(joinDocuments(train), 'utf8');
    expect(bytes).toBeGreaterThan(11_000_000);
  });

  it('reproduce the committed held-out split byte for byte', () => {
    expect(heldout).toHaveLength(15);
    expect(joinDocuments(heldout)).toBe(HELDOUT);
  });

  it('keep document boundaries: no document contains the separator', () => {
    expect(documents.every((d) => !d.text.includes(DOCUMENT_SEPARATOR) && d.text.trim() === d.text)).toBe(true);
    expect(HELDOUT.split(DOCUMENT_SEPARATOR)).toHaveLength(15);
  });
});

describe('the committed tokenizer through @huggingface/tokenizers', () => {
  const tok = new Tokenizer(TOKENIZER, TOKENIZER_CONFIG);

  it(`has ${VOCAB_SIZE} entries: the specials at 0..6, then the 256 bytes`, () => {
    expect(Object.keys(TOKENIZER.model.vocab)).toHaveLength(VOCAB_SIZE);
    expect(Math.max(...(Object.values(TOKENIZER.model.vocab) as number[]))).toBe(VOCAB_SIZE - 1);
    SPECIAL_TOKENS.forEach((s, id) => expect(tok.token_to_id(s)).toBe(id));
  });

  it('round-trips the whole held-out split, compressing it to ~4 bytes per token', () => {
    const { ids } = tok.encode(HELDOUT, { add_special_tokens: false });
    expect(tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false })).toBe(HELDOUT);
    const bytesPerToken = Buffer.byteLength(HELDOUT, 'utf8') / ids.length;
    console.log(`held-out: ${ids.length} tokens, ${bytesPerToken.toFixed(3)} bytes/token`);
    expect(bytesPerToken).toBeGreaterThan(3.8);
    expect(Math.max(...ids)).toBeLessThan(VOCAB_SIZE);
  });

  it('encodes every special as one token, also inside text', () => {
    const { ids } = tok.encode('<|im_start|>user\nThe whale<|im_end|>\n<think>\nhm\n</think></s><s><unk>', { add_special_tokens: false });
    expect(ids[0]).toBe(3);
    expect(ids).toContain(4);
    expect(ids).toContain(5);
    expect(ids.slice(-4)).toEqual([6, 2, 1, 0]);
  });

  it('learned English words: common words are one token', () => {
    for (const w of [' the', ' whale', ' Congress', ' United', ' government']) {
      expect(tok.encode(w, { add_special_tokens: false }).ids).toHaveLength(1);
    }
  });
});

describe('encodeDocuments', () => {
  it('writes each document then EOS, and the ids decode back to the documents', () => {
    const codec = TextCodec.fromJson(TOKENIZER, TOKENIZER_CONFIG);
    const docs = [
      { name: 'a', text: 'Call me Ishmael.' },
      { name: 'b', text: 'Fellow-Citizens of the Senate.\n\nThe union is strong.' },
    ];
    const ids = encodeDocuments(codec, docs);
    const first = codec.encode(docs[0].text);
    expect(ids[first.length]).toBe(EOS_ID);
    expect(ids.at(-1)).toBe(EOS_ID);
    expect(ids.filter((id) => id === EOS_ID)).toHaveLength(2);
    expect(codec.decode([...ids.subarray(0, first.length)])).toBe(docs[0].text);
    expect(codec.decode([...ids.subarray(first.length + 1, ids.length - 1)])).toBe(docs[1].text);
  });
});
