// spec §15.1–15.2: text in and out of the model. Tokenisation is delegated to
// @huggingface/tokenizers over the checkpoint's tokenizer.json; the chat template from
// tokenizer_config.json is rendered as Python's Jinja2 renders it under Hugging Face's
// apply_chat_template (./jinja.ts, over @huggingface/jinja). Ids never get a BOS added here:
// the chat template (or the caller) decides where special tokens go.

import { Tokenizer } from '@huggingface/tokenizers';
import { ChatTemplateError, MissingTokenizerError } from '../core/errors.js';
import { PyTemplate } from './jinja.js';

/** Special tokens the engine looks up by string (spec §15.1). */
export const IM_END = '<|im_end|>';
export const THINK_START = '<think>';
export const THINK_END = '</think>';

/** U+FFFD, what a decoder emits for bytes that do not (yet) form a UTF-8 character. */
const REPLACEMENT_CHAR = '\uFFFD';

/** One chat turn as the template sees it (OpenAI-style fields pass through untouched). */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
  readonly reasoning_content?: string;
  readonly [extra: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Append the assistant header so the model answers next (default true). */
  readonly addGenerationPrompt?: boolean;
  /** Open a `<think>` block in the generation prompt (default true, spec §15.2). */
  readonly enableThinking?: boolean;
  /** Tool definitions for the template's tools block (spec §15.3). */
  readonly tools?: readonly unknown[];
  /** Further template kwargs, e.g. `truncate_history_thinking`. */
  readonly kwargs?: Readonly<Record<string, unknown>>;
}

/** Ids of the special tokens generation cares about; null where the vocabulary lacks one. */
export interface SpecialTokenIds {
  readonly imEnd: number | null;
  readonly think: number | null;
  readonly thinkEnd: number | null;
}

type Json = Record<string, unknown>;

/** A tokenizer_config.json token field is either a string or an AddedToken object. */
function tokenString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') {
    return (value as Json).content as string;
  }
  return undefined;
}

/** The GPT-2 byte-level alphabet inverted (bytes_to_unicode): printable bytes stand for themselves, the other 68 for U+0100 + n in byte order. */
const BYTE_OF_CHAR: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(String.fromCharCode(printable ? b : 0x100 + n++), b);
  }
  return map;
})();

/** Whether a tokenizer.json decoder (or one step of a Sequence) is `type`. */
function hasDecoder(decoder: unknown, type: string): boolean {
  if (typeof decoder !== 'object' || decoder === null) return false;
  const d = decoder as Json;
  return d.type === type || (Array.isArray(d.decoders) && d.decoders.some((x) => hasDecoder(x, type)));
}

/** HF allows `chat_template` as one string or a list of named templates; take 'default' or the first. */
function pickTemplate(config: Json): string | undefined {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.filter((e): e is { name: string; template: string } => typeof e?.template === 'string');
    return (named.find((e) => e.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

/**
 * Streaming detokenizer: feed ids one at a time and get back only text that is complete
 * UTF-8. A token that ends inside a multi-byte character is held back until the bytes that
 * finish it arrive. It decodes a short window of ids (from the last emitted boundary), so
 * decoders that depend on neighbouring tokens (leading-space rules) stay consistent.
 * @example
 * const detok = text.detokenizer();
 * for (const id of ids) process.stdout.write(detok.push(id));
 * process.stdout.write(detok.flush());
 */
export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  /** Start of the window decoded for context. */
  private prefixOffset = 0;
  /** End of the ids whose text has been emitted. */
  private readOffset = 0;

  constructor(private readonly codec: TextCodec) {}

  /** Add one id; returns the newly completed text ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.codec.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.codec.decode(this.ids.slice(this.prefixOffset));
    if (full.length <= prefix.length || full.endsWith(REPLACEMENT_CHAR)) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return full.slice(prefix.length);
  }

  /** End of stream: the held-back text, minus any trailing bytes that never completed. */
  flush(): string {
    const prefix = this.codec.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.codec.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    let end = full.length;
    while (end > prefix.length && full[end - 1] === REPLACEMENT_CHAR) end--;
    return full.slice(prefix.length, end);
  }
}

/**
 * Text ↔ ids for one checkpoint: encode (no BOS), decode, special-token ids, chat template.
 * @example
 * const text = TextCodec.fromJson(tokenizerJson, tokenizerConfig);
 * const ids = text.encodeChat([{ role: 'user', content: 'Hi' }]);
 * text.decode(ids); // '<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi...'
 */
export class TextCodec {
  readonly special: SpecialTokenIds;
  /** tokenizer_config.json's `add_bos_token` (false when absent). */
  readonly addBosToken: boolean;
  private readonly tokenizer: Tokenizer;
  private readonly config: Json;
  private template: PyTemplate | undefined;
  /** Vocabulary pieces are byte-level BPE (GPT-2 alphabet); added tokens are stored as text. */
  private readonly byteLevel: boolean;
  private readonly byteFallback: boolean;
  private readonly addedIds: ReadonlySet<number>;

  private constructor(tokenizerJson: Json, tokenizerConfig: Json) {
    this.config = tokenizerConfig;
    this.byteLevel = hasDecoder(tokenizerJson.decoder, 'ByteLevel');
    this.byteFallback = (tokenizerJson.model as Json).byte_fallback === true;
    const added = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as Json[]) : [];
    this.addedIds = new Set(added.map((t) => t.id).filter((id): id is number => typeof id === 'number'));
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    this.addBosToken = tokenizerConfig.add_bos_token === true;
    this.special = {
      imEnd: this.tokenId(IM_END) ?? null,
      think: this.tokenId(THINK_START) ?? null,
      thinkEnd: this.tokenId(THINK_END) ?? null,
    };
  }

  /**
   * Build from parsed tokenizer.json and tokenizer_config.json objects. `source` names the
   * checkpoint in errors.
   * @example
   * TextCodec.fromJson(JSON.parse(tokJson), JSON.parse(tokConfigJson), 'models/default');
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, source = 'checkpoint'): TextCodec {
    const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) throw new MissingTokenizerError(source);
    return new TextCodec(tokenizerJson, isObject(tokenizerConfig) ? tokenizerConfig : {});
  }

  /** Text → ids. No BOS/EOS is added; special-token strings in the text map to their ids. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Ids → text, special tokens kept, no clean-up of spaces (so streamed deltas concatenate to it). */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids as number[], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /**
   * The exact bytes of one token (OpenAI's logprobs `bytes`; a token may end inside a UTF-8
   * character): a byte-level piece or a `<0xHH>` byte-fallback token maps back to its bytes,
   * any other token to the UTF-8 of its text.
   * @example text.tokenBytes(text.encode(' hi')[0]); // Uint8Array [32, 104, 105]
   */
  tokenBytes(id: number): Uint8Array {
    const piece = this.addedIds.has(id) ? undefined : this.tokenizer.id_to_token(id);
    const hex = piece !== undefined && this.byteFallback ? /^<0x([0-9A-Fa-f]{2})>$/.exec(piece) : null;
    if (hex) return Uint8Array.of(parseInt(hex[1], 16));
    if (piece !== undefined && this.byteLevel) {
      const bytes = Array.from(piece, (ch: string) => BYTE_OF_CHAR.get(ch));
      if (bytes.every((b) => b !== undefined)) return Uint8Array.from(bytes as number[]);
    }
    return new TextEncoder().encode(this.decode([id]));
  }

  /** Id of a token string (special or not), or undefined. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** A fresh streaming detokenizer. */
  detokenizer(): IncrementalDetokenizer {
    return new IncrementalDetokenizer(this);
  }

  /** The chat template source, or undefined when tokenizer_config.json has none. */
  get chatTemplate(): string | undefined {
    return pickTemplate(this.config);
  }

  /** Render messages with the checkpoint's chat template (spec §15.2). */
  renderChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    const source = this.chatTemplate;
    if (source === undefined) throw new ChatTemplateError('tokenizer_config.json has no chat_template');
    if (!this.template) {
      try {
        this.template = new PyTemplate(source);
      } catch (err) {
        throw new ChatTemplateError(`cannot parse chat_template: ${(err as Error).message}`);
      }
    }
    const context: Json = {
      ...options.kwargs,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      enable_thinking: options.enableThinking ?? true,
      bos_token: tokenString(this.config.bos_token) ?? '',
      eos_token: tokenString(this.config.eos_token) ?? '',
      unk_token: tokenString(this.config.unk_token) ?? '',
      pad_token: tokenString(this.config.pad_token) ?? '',
      // as Hugging Face's apply_chat_template passes them: None when absent
      tools: options.tools ?? null,
      documents: null,
    };
    try {
      return this.template.render(context);
    } catch (err) {
      // includes the template's own raise_exception(message), which jinja throws as an Error
      throw new ChatTemplateError(`cannot render chat_template: ${(err as Error).message}`);
    }
  }

  /** Render the chat template and encode the result (special tokens become their ids). */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.renderChat(messages, options));
  }
}
