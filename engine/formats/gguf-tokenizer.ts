// spec §15.1: the tokenizer a GGUF carries in its `tokenizer.ggml.*` metadata, rebuilt as the
// Hugging Face tokenizer.json object engine/text/text.ts loads. Only gpt2-style byte-level BPE
// (`tokenizer.ggml.model = "gpt2"`, what llama.cpp writes for NemotronH) is supported:
//   tokens[i]      → model.vocab { token: i }      (byte-level strings, as in tokenizer.json)
//   merges[j]      → model.merges ("a b", rank j)
//   token_type[i]  → 3 (control) / 2 (unknown): special added token; 4 (user-defined): added token
//   bos/eos ids    → tokenizer_config.json's bos_token / eos_token; `tokenizer.chat_template` too
// Pre-tokenisation is GPT-2's byte-level split (`tokenizer.ggml.pre` "gpt-2" or "default"). A
// file that embeds the original `tokenizer.huggingface.json` is used as it is.

import { CorruptWeightsError, MissingTokenizerError } from '../core/errors.js';
import { GGUF_VALUE, type GgufFile } from './gguf.js';

/** llama.cpp token types (llama.h `llama_token_type`). */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** `tokenizer.ggml.pre` values whose pre-tokeniser is GPT-2's byte-level regex. */
export const GPT2_PRE_TOKENIZERS: readonly string[] = ['gpt-2', 'default'];

type Json = Record<string, unknown>;

/** tokenizer.json and tokenizer_config.json objects rebuilt from GGUF metadata. */
export interface GgufTokenizer {
  readonly tokenizerJson: Json;
  readonly tokenizerConfig: Json;
}

/** An `added_tokens` entry of tokenizer.json. */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
}

/**
 * A tokenizer.json object for a GPT-2-style byte-level BPE: ByteLevel pre-tokenizer (with the
 * GPT-2 regex) and decoder, no normalizer or post-processor; `merges` as "a b" strings.
 * (weights-tools/bpe.ts builds the same structure for trained tokenizers.)
 * @example
 * byteLevelBpeJson({ 'Ġ': 0, h: 1, 'Ġh': 2 }, ['Ġ h'], [{ id: 3, content: '<s>', special: true }]);
 */
export function byteLevelBpeJson(vocab: Readonly<Record<string, number>>, merges: readonly string[], added: readonly AddedToken[]): Json {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.map(({ id, content, special }) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

/**
 * Rebuild the tokenizer of a GGUF, or null when it has none (`tokenizer.ggml.model` absent).
 * Throws `MissingTokenizerError` for a tokenizer model other than gpt2 and
 * `CorruptWeightsError` for malformed token lists.
 * @example
 * const tok = ggufTokenizer(gguf);
 * const text = TextCodec.fromJson(tok!.tokenizerJson, tok!.tokenizerConfig);
 */
export function ggufTokenizer(gguf: GgufFile): GgufTokenizer | null {
  const file = gguf.source.name;
  const get = (key: string) => gguf.metadata.get(key);
  const fail = (key: string, detail: string): never => {
    throw new CorruptWeightsError(file, `metadata ${key}: ${detail}`);
  };
  const stringArray = (key: string): string[] | undefined => {
    const kv = get(key);
    if (kv === undefined) return undefined;
    if (kv.type !== GGUF_VALUE.ARRAY || kv.itemType !== GGUF_VALUE.STRING) fail(key, 'must be an array of strings');
    return kv.value as string[];
  };
  const id = (key: string, n: number): number | undefined => {
    const v = get(key)?.value;
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) fail(key, `must be a token id below ${n}, got ${String(v)}`);
    return v as number;
  };

  const model = get('tokenizer.ggml.model')?.value;
  if (model === undefined) return null;
  const template = get('tokenizer.chat_template')?.value;
  const hfJson = get('tokenizer.huggingface.json')?.value;
  const tokens = stringArray('tokenizer.ggml.tokens');
  const config: Json = {};
  if (typeof template === 'string') config.chat_template = template;
  if (tokens) {
    const bos = id('tokenizer.ggml.bos_token_id', tokens.length);
    const eos = id('tokenizer.ggml.eos_token_id', tokens.length);
    if (bos !== undefined) config.bos_token = tokens[bos];
    if (eos !== undefined) config.eos_token = tokens[eos];
    config.add_bos_token = get('tokenizer.ggml.add_bos_token')?.value === true;
  }
  if (typeof hfJson === 'string') {
    try {
      return { tokenizerJson: JSON.parse(hfJson) as Json, tokenizerConfig: config };
    } catch (e) {
      fail('tokenizer.huggingface.json', `is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (model !== 'gpt2') throw new MissingTokenizerError(`${file} (tokenizer.ggml.model ${JSON.stringify(model)}; only "gpt2" byte-level BPE is supported)`);
  if (!tokens) return fail('tokenizer.ggml.tokens', 'is required for a gpt2 tokenizer');
  const pre = get('tokenizer.ggml.pre')?.value ?? 'default';
  if (typeof pre !== 'string' || !GPT2_PRE_TOKENIZERS.includes(pre)) {
    throw new MissingTokenizerError(`${file} (tokenizer.ggml.pre ${JSON.stringify(pre)}; supported: ${GPT2_PRE_TOKENIZERS.join(', ')})`);
  }
  const merges = stringArray('tokenizer.ggml.merges') ?? [];
  const typesKv = get('tokenizer.ggml.token_type');
  const types = (typesKv?.value ?? []) as unknown[];
  if (typesKv && (!Array.isArray(types) || types.length !== tokens.length)) fail('tokenizer.ggml.token_type', `must have one entry per token (${tokens.length})`);

  const vocab: Record<string, number> = {};
  const added: AddedToken[] = [];
  tokens.forEach((token, i) => {
    if (Object.prototype.hasOwnProperty.call(vocab, token)) fail('tokenizer.ggml.tokens', `token ${JSON.stringify(token)} appears twice (ids ${vocab[token]} and ${i})`);
    vocab[token] = i;
    const type = types[i];
    if (type === TOKEN_TYPE.CONTROL || type === TOKEN_TYPE.UNKNOWN || type === TOKEN_TYPE.USER_DEFINED) {
      added.push({ id: i, content: token, special: type !== TOKEN_TYPE.USER_DEFINED });
    }
  });
  const tokenizerJson = byteLevelBpeJson(vocab, merges, added);
  return { tokenizerJson, tokenizerConfig: config };
}
