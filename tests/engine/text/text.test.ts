import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChatTemplateError, MissingTokenizerError } from '../../../engine/core/errors.js';
import { TextCodec } from '../../../engine/text/text.js';
import { FIXTURES } from '../../helpers/fixtures.js';

const readJson = (rel: string) => JSON.parse(readFileSync(`${FIXTURES}${rel}`, 'utf8'));
const tokenizerJson = readJson('moe/hf/tokenizer.json');
const tokenizerConfig = readJson('moe/hf/tokenizer_config.json');
const cases: { text: string; ids: number[] }[] = readJson('tokenize.json');
const text = TextCodec.fromJson(tokenizerJson, tokenizerConfig, 'fixture');

describe('encode / decode against llama.cpp ids (fixtures/nemotron-h-tiny/tokenize.json)', () => {
  it('has the fixture cases', () => {
    expect(cases.length).toBe(7);
  });
  for (const c of cases) {
    it(`encodes ${JSON.stringify(c.text.slice(0, 30))} to llama.cpp's ids and round-trips`, () => {
      expect(text.encode(c.text)).toEqual(c.ids);
      expect(text.decode(c.ids)).toBe(c.text);
    });
  }
  it('adds no BOS', () => {
    expect(text.encode('a')[0]).not.toBe(1);
    expect(text.encode('')).toEqual([]);
  });
});

describe('special tokens', () => {
  it('looks up <|im_end|>, <think>, </think> (fixture ids 4, 5, 6)', () => {
    expect(text.special).toEqual({ imEnd: 4, think: 5, thinkEnd: 6 });
    expect(text.tokenId('<|im_start|>')).toBe(3);
    expect(text.tokenId('no such token')).toBeUndefined();
  });
  it('maps special-token strings inside text to their single ids', () => {
    const ids = text.encode('<|im_start|>user\nhi<|im_end|>\n<think>x</think>');
    expect(ids[0]).toBe(3);
    expect(ids).toContain(4);
    expect(ids.filter((id) => id <= 7)).toEqual([3, 4, 5, 6]);
    expect(text.decode(ids)).toBe('<|im_start|>user\nhi<|im_end|>\n<think>x</think>');
  });
  it('reads add_bos_token', () => {
    expect(text.addBosToken).toBe(false);
    expect(TextCodec.fromJson(tokenizerJson, { ...tokenizerConfig, add_bos_token: true }).addBosToken).toBe(true);
  });
});

describe('IncrementalDetokenizer', () => {
  const stream = (ids: number[]) => {
    const detok = text.detokenizer();
    const deltas = ids.map((id) => detok.push(id));
    return { deltas, tail: detok.flush() };
  };

  it('streams deltas that concatenate to decode(ids) for every fixture text', () => {
    for (const c of cases) {
      const { deltas, tail } = stream(c.ids);
      expect(deltas.join('') + tail).toBe(c.text);
    }
  });
  it('never emits a broken UTF-8 character', () => {
    for (const c of cases) for (const d of stream(c.ids).deltas) expect(d).not.toContain('\uFFFD');
  });
  it('holds back the first byte of a two-byte character until the second arrives', () => {
    // "ï" is the byte pair C3 AF; byte tokens 203 (C3) and 183 (AF) in this vocabulary
    expect(text.decode([203])).toBe('\uFFFD');
    const { deltas, tail } = stream([112, 203, 183, 112]);
    expect(deltas).toEqual(['h', '', 'ï', 'h']);
    expect(tail).toBe('');
  });
  it('holds back all bytes of a 4-byte emoji and drops an unfinished one at flush', () => {
    const rocket = text.encode('🚀');
    expect(rocket.length).toBeGreaterThan(1);
    const { deltas, tail } = stream(rocket);
    expect(deltas.slice(0, -1).every((d) => d === '')).toBe(true);
    expect(deltas.at(-1)).toBe('🚀');
    expect(tail).toBe('');
    const cut = stream([112, ...rocket.slice(0, -1)]);
    expect(cut.deltas.join('')).toBe('h');
    expect(cut.tail).toBe('');
  });
  it('on random id sequences, deltas + tail = decode(ids) up to an unfinished final character', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % 512; // LCG over the vocabulary
    for (let trial = 0; trial < 50; trial++) {
      const ids = Array.from({ length: 24 }, rand);
      const { deltas, tail } = stream(ids);
      expect(deltas.join('') + tail).toBe(text.decode(ids).replace(/\uFFFD+$/, ''));
    }
  });
  it('streams special tokens as their text', () => {
    expect(stream([5, 112, 6]).deltas).toEqual(['<think>', 'h', '</think>']);
  });
});

describe('chat template', () => {
  const user = [{ role: 'user', content: 'Hi' }];

  it('renders with a generation prompt and thinking on by default', () => {
    expect(text.renderChat(user)).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n');
  });
  it('thinking off closes the think block', () => {
    expect(text.renderChat(user, { enableThinking: false })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think></think>',
    );
  });
  it('no generation prompt', () => {
    expect(text.renderChat(user, { addGenerationPrompt: false })).toBe('<|im_start|>user\nHi<|im_end|>\n');
  });
  it('encodeChat maps the template special tokens to their ids', () => {
    const ids = text.encodeChat(user);
    expect(ids[0]).toBe(3);
    expect(ids.at(-2)).toBe(5); // <think>
    expect(ids.at(-1)).toBe(text.encode('\n')[0]);
    expect(ids.filter((id) => id === 4).length).toBe(1);
  });
  it('passes tools, kwargs and the special token strings to the template', () => {
    const tpl =
      '{{ bos_token }}|{{ eos_token }}|{{ tools | length }}|{{ custom }}|{{ enable_thinking }}|{{ add_generation_prompt }}';
    const codec = TextCodec.fromJson(tokenizerJson, { ...tokenizerConfig, chat_template: tpl });
    expect(codec.renderChat([], { tools: [{ name: 'a' }, { name: 'b' }], kwargs: { custom: 'x' } })).toBe('<s>|<|im_end|>|2|x|True|True'); // Python's str(True)
  });
  it('without tools, tools and documents are None, as apply_chat_template passes them', () => {
    const tpl = '{{ tools is none }}|{{ documents is none }}|{{ tools is defined }}|{{ tools }}';
    const codec = TextCodec.fromJson(tokenizerJson, { ...tokenizerConfig, chat_template: tpl });
    expect(codec.renderChat(user)).toBe('True|True|True|None'); // jinja2: render(tools=None, documents=None)
    expect(codec.renderChat(user, { tools: [{ name: 'a' }] })).toBe("False|True|True|[{'name': 'a'}]");
  });
  it('accepts a list of named templates and picks "default"', () => {
    const codec = TextCodec.fromJson(tokenizerJson, {
      ...tokenizerConfig,
      chat_template: [
        { name: 'tool_use', template: 'T' },
        { name: 'default', template: 'D' },
      ],
    });
    expect(codec.renderChat([])).toBe('D');
  });
  it('raise_exception in the template becomes a ChatTemplateError', () => {
    const codec = TextCodec.fromJson(tokenizerJson, { ...tokenizerConfig, chat_template: "{{ raise_exception('no system role') }}" });
    expect(() => codec.renderChat(user)).toThrow(ChatTemplateError);
    expect(() => codec.renderChat(user)).toThrow(/no system role/);
  });
  it('a missing or malformed template is a ChatTemplateError', () => {
    const none = TextCodec.fromJson(tokenizerJson, { ...tokenizerConfig, chat_template: undefined });
    expect(() => none.renderChat(user)).toThrow(/no chat_template/);
    const bad = TextCodec.fromJson(tokenizerJson, { ...tokenizerConfig, chat_template: '{% for %}' });
    expect(() => bad.renderChat(user)).toThrow(ChatTemplateError);
  });
});

describe('construction', () => {
  it('rejects a missing or malformed tokenizer.json', () => {
    expect(() => TextCodec.fromJson(null, null, 'models/x')).toThrow(MissingTokenizerError);
    expect(() => TextCodec.fromJson({ version: '1.0' }, null, 'models/x')).toThrow(/models\/x/);
  });
  it('works without a tokenizer_config.json', () => {
    const codec = TextCodec.fromJson(tokenizerJson, null);
    expect(codec.encode(cases[0].text)).toEqual(cases[0].ids);
    expect(codec.chatTemplate).toBeUndefined();
  });
});

describe('tokenBytes (OpenAI logprobs `bytes`)', () => {
  it('the bytes of the tokens of a text concatenate to its UTF-8, also when a token ends inside a character', () => {
    for (const s of ['Hello world', ' naïve café 日本語 🙂', 'a\n\tb']) {
      const ids = text.encode(s);
      const bytes = ids.flatMap((id) => [...text.tokenBytes(id)]);
      expect(new Uint8Array(bytes)).toEqual(new TextEncoder().encode(s));
    }
  });

  it('an added (special) token is its text', () => {
    const id = text.special.imEnd!;
    expect(new TextDecoder().decode(text.tokenBytes(id))).toBe('<|im_end|>');
  });
});
