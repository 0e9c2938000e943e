// engine/formats/gguf-tokenizer.ts: the tokenizer.json rebuilt from `tokenizer.ggml.*` metadata equals
// the HF twin's on the fixtures (vocab, merges, special tokens) and works in TextCodec; the
// unsupported cases get named errors.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorruptWeightsError, MissingTokenizerError } from '../../../engine/core/errors.js';
import { memorySource } from '../../../engine/formats/bytes.js';
import { GGUF_VALUE, openGguf, type GgufKV } from '../../../engine/formats/gguf.js';
import { ggufTokenizer } from '../../../engine/formats/gguf-tokenizer.js';
import { TextCodec } from '../../../engine/text/text.js';
import { encodeGguf, kv } from '../../../weights-tools/gguf-writer.js';
import { FIXTURES } from '../../helpers/fixtures.js';

const BYTES = ['Ġ', 'h', 'i', 'Ġh', 'hi'];
const TOKENS = ['<unk>', '<s>', '</s>', '<|im_end|>', '<tool>', ...BYTES];
const TYPES = [3, 3, 3, 3, 4, 1, 1, 1, 1, 1];

function gguf(meta: Record<string, GgufKV>) {
  const base: Record<string, GgufKV> = {
    'general.architecture': kv.str('nemotron_h'),
    'tokenizer.ggml.model': kv.str('gpt2'),
    'tokenizer.ggml.pre': kv.str('gpt-2'),
    'tokenizer.ggml.tokens': kv.array(GGUF_VALUE.STRING, TOKENS),
    'tokenizer.ggml.token_type': kv.array(GGUF_VALUE.INT32, TYPES),
    'tokenizer.ggml.merges': kv.array(GGUF_VALUE.STRING, ['Ġ h', 'h i']),
    'tokenizer.ggml.bos_token_id': kv.u32(1),
    'tokenizer.ggml.eos_token_id': kv.u32(3),
    ...meta,
  };
  return openGguf(memorySource('t.gguf', encodeGguf(new Map(Object.entries(base)), [])));
}

describe('ggufTokenizer', () => {
  it('rebuilds a byte-level BPE tokenizer that TextCodec runs: merges, specials, user-defined tokens', async () => {
    const tok = ggufTokenizer(await gguf({ 'tokenizer.chat_template': kv.str('{{ messages[0].content }}') }))!;
    expect(tok.tokenizerConfig).toEqual({ chat_template: '{{ messages[0].content }}', bos_token: '<s>', eos_token: '<|im_end|>', add_bos_token: false });
    const added = tok.tokenizerJson.added_tokens as { id: number; content: string; special: boolean }[];
    expect(added.map((t) => [t.id, t.content, t.special])).toEqual([[0, '<unk>', true], [1, '<s>', true], [2, '</s>', true], [3, '<|im_end|>', true], [4, '<tool>', false]]);
    const text = TextCodec.fromJson(tok.tokenizerJson, tok.tokenizerConfig);
    expect(text.encode('hi hi')).toEqual([TOKENS.indexOf('hi'), TOKENS.indexOf('Ġh'), TOKENS.indexOf('i')]);
    expect(text.encode('hi<|im_end|><tool>')).toEqual([TOKENS.indexOf('hi'), 3, 4]);
    expect(text.decode([8, 9])).toBe(' hhi');
    expect(text.special.imEnd).toBe(3);
  });

  it('uses an embedded tokenizer.huggingface.json as it is; no tokenizer.ggml.model means none', async () => {
    const hf = { model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, marker: 1 };
    const tok = ggufTokenizer(await gguf({ 'tokenizer.huggingface.json': kv.str(JSON.stringify(hf)) }))!;
    expect(tok.tokenizerJson).toEqual(hf);
    const none = await openGguf(memorySource('n.gguf', encodeGguf(new Map(), [])));
    expect(ggufTokenizer(none)).toBeNull();
  });

  it('unsupported tokenizers and malformed lists get named errors', async () => {
    expect(ggufTokenizer.bind(null, await gguf({ 'tokenizer.ggml.model': kv.str('llama') }))).toThrow(MissingTokenizerError);
    expect(ggufTokenizer.bind(null, await gguf({ 'tokenizer.ggml.pre': kv.str('qwen2') }))).toThrow(/tokenizer\.ggml\.pre "qwen2"; supported: gpt-2, default/);
    expect(ggufTokenizer.bind(null, await gguf({ 'tokenizer.ggml.bos_token_id': kv.u32(99) }))).toThrow(
      new CorruptWeightsError('t.gguf', 'metadata tokenizer.ggml.bos_token_id: must be a token id below 10, got 99'),
    );
    expect(ggufTokenizer.bind(null, await gguf({ 'tokenizer.ggml.tokens': kv.array(GGUF_VALUE.STRING, ['a', 'b', 'a', 'c']), 'tokenizer.ggml.token_type': kv.array(GGUF_VALUE.INT32, [1, 1, 1, 1]) }))).toThrow(
      /token "a" appears twice \(ids 0 and 2\)/,
    );
    expect(ggufTokenizer.bind(null, await gguf({ 'tokenizer.ggml.token_type': kv.array(GGUF_VALUE.INT32, [1]) }))).toThrow(/must have one entry per token \(10\)/);
  });

  it("equals the HF twin's tokenizer.json on the fixture (vocab, merges, special tokens)", async () => {
    const g = await openGguf(memorySource('moe.gguf', new Uint8Array(readFileSync(`${FIXTURES}moe/model-f32.gguf`))));
    const tok = ggufTokenizer(g)!.tokenizerJson as { model: { vocab: object; merges: unknown[] }; added_tokens: { id: number; content: string; special: boolean }[] };
    const hf = JSON.parse(readFileSync(`${FIXTURES}moe/hf/tokenizer.json`, 'utf8'));
    expect(tok.model.vocab).toEqual(hf.model.vocab);
    expect(tok.model.merges).toEqual(hf.model.merges.map((m: string | string[]) => (Array.isArray(m) ? m.join(' ') : m)));
    const brief = (a: { id: number; content: string; special: boolean }[]) => a.map(({ id, content, special }) => ({ id, content, special }));
    expect(brief(tok.added_tokens)).toEqual(brief(hf.added_tokens));
  });
});
