// engine/text/json-schema.ts + engine/text/json-schema-grammar.ts + engine/text/grammar-constraint.ts: schemas
// compiled (and refused) as documented, the grammar against hand-written accept/reject cases and
// hand-counted shortest completions, random walks finished greedily, and the logits processor
// over a small vocabulary: every forced document is checked by an independent validator (ajv).
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { SchemaError } from '../../../engine/core/errors.js';
import { GrammarConstraint } from '../../../engine/text/grammar-constraint.js';
import { ANY_OBJECT, compileSchema } from '../../../engine/text/json-schema.js';
import { JsonSchemaGrammar, MAX_WS } from '../../../engine/text/json-schema-grammar.js';
import { drive as driveVocab, rng, walkThenComplete } from '../../helpers/grammar-drive.js';

const ajv = new Ajv({ strict: false });
const valid = (schema: object, text: string) => ajv.validate(schema, JSON.parse(text));

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer' },
    role: { enum: ['admin', 'user', 7, null, 'power user'] },
    tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 },
    home: { type: 'object', properties: { lat: { type: 'number' }, ok: { type: 'boolean' } }, required: ['lat'], additionalProperties: false },
    note: { type: ['string', 'null'] },
    pick: { anyOf: [{ type: 'integer' }, { type: 'object', properties: { v: { const: 'x' } }, required: ['v'] }] },
  },
  required: ['name', 'age', 'tags'],
  additionalProperties: false,
};

const grammar = (schema: unknown) => JsonSchemaGrammar.start(compileSchema(schema, 'strict'));
const accepts = (schema: unknown, text: string) => {
  const g = grammar(schema);
  return g.feedText(text) && g.complete;
};

describe('compileSchema', () => {
  it('gives each node its shortest text, and one node for equal schemas in any key order', () => {
    expect(compileSchema(PERSON, 'strict').minText).toBe('{"name":"","age":0,"tags":[""]}');
    const a = compileSchema({ type: 'object', properties: { b: { type: 'integer' } }, required: ['b'] }, 'strict');
    const b = compileSchema({ required: ['b'], properties: { b: { type: 'integer' } }, type: 'object' }, 'strict');
    expect(b).toBe(a);
    const ref = { $defs: { p: { type: 'array', items: { type: 'null' }, minItems: 2 } }, type: 'object', properties: { q: { $ref: '#/$defs/p' } }, required: ['q'] };
    expect(compileSchema(ref, 'strict').minText).toBe('{"q":[null,null]}');
  });

  it('refuses what the grammar cannot enforce in strict mode, naming the keyword and its path', () => {
    const cases: [unknown, string, string][] = [
      [{ type: 'string', pattern: '^a' }, '#/pattern', 'pattern'],
      [{ type: 'object', properties: { d: { type: 'string', format: 'date' } } }, '#/properties/d/format', 'format'],
      [{ oneOf: [{ type: 'string' }] }, '#/oneOf', 'oneOf'],
      [{ type: 'array', items: { type: 'integer', minimum: 0 } }, '#/items/minimum', 'minimum'],
      [{ type: 'object', patternProperties: {} }, '#/patternProperties', 'patternProperties'],
      [{ $ref: 'https://example.com/s.json' }, '#/$ref', '$ref'],
      [{ $defs: { n: { type: 'object', properties: { n: { $ref: '#/$defs/n' } } } }, $ref: '#/$defs/n' }, '#/$defs/n/properties/n/$ref', '$ref'],
    ];
    for (const [schema, path, feature] of cases) {
      let err: unknown;
      try {
        compileSchema(schema, 'strict');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(schema)).toBeInstanceOf(SchemaError);
      expect(err).toMatchObject({ path, feature, unsupported: true });
      expect(() => compileSchema(schema, 'lenient')).not.toThrow();
    }
  });

  it('refuses malformed schemas in both modes', () => {
    const bad = [
      { enum: [] },
      { type: 'object', properties: { a: {} }, required: ['b'] },
      { type: 'strin' },
      { type: [] },
      { type: 'array', minItems: 3, maxItems: 2 },
      { type: 'object', properties: { a: false } },
      { anyOf: [] },
      { $ref: '#/$defs/missing' },
      { type: 'object', properties: { a: 3 } },
    ];
    for (const schema of bad) {
      for (const mode of ['strict', 'lenient'] as const) expect(() => compileSchema(schema, mode), JSON.stringify(schema)).toThrow(SchemaError);
    }
  });
});

describe('JsonSchemaGrammar', () => {
  it('accepts documents of the schema, compact or with some whitespace', () => {
    const ok = [
      '{"name":"","age":0,"tags":[""]}',
      '{"tags":["a","b"],"age":-12,"name":"Zo\\u00e9 \\"Z\\"","role":null}',
      '{\n  "name": "x",\n  "age": 3,\n  "tags": [ "t" ],\n  "home": {"ok": true, "lat": 1.5e-3},\n  "note": null,\n  "pick": {"v":"x"}\n}',
      '{"name":"x","age":0,"tags":["t"],"role":7,"note":"n","pick":42}',
      '{"name":"x","age":0,"tags":["t"],"role":"admin"}',
      '{"name":"x","age":0,"tags":["t"],"role":"power user"}',
    ];
    for (const text of ok) {
      expect(accepts(PERSON, text), text).toBe(true);
      expect(valid(PERSON, text), text).toBe(true);
    }
    expect(accepts(true, '[1,{"a":[]},"s",false]')).toBe(true);
    // keys and enum values are written in ASCII (every tokenizer spells them), free strings as they come
    const cafe = { type: 'object', properties: { 'città': { enum: ['é', 'ü'] }, n: { type: 'string' } }, required: ['città', 'n'] };
    expect(compileSchema(cafe, 'strict').minText).toBe('{"citt\\u00e0":"\\u00e9","n":""}');
    expect(accepts(cafe, '{"n":"naïve","citt\\u00e0":"\\u00fc"}')).toBe(true);
    expect(valid(cafe, '{"n":"naïve","citt\\u00e0":"\\u00fc"}')).toBe(true);
    expect(accepts({ type: 'number' }, '-0.5E+12')).toBe(true);
  });

  it('rejects documents outside the schema or JSON', () => {
    const base = '"name":"x","age":1,"tags":["t"]';
    const bad = [
      `{"name":"x","age":1}`, // tags required
      `{${base},"extra":1}`, // additionalProperties false
      `{${base},"name":"y"}`, // twice
      `{"name":"x","age":1.5,"tags":["t"]}`, // integer
      `{"name":"x","age":01,"tags":["t"]}`,
      `{"name":"x","age":1,"tags":[]}`, // minItems 1
      `{"name":"x","age":1,"tags":["a","b","c"]}`, // maxItems 2
      `{${base},"role":"root"}`, // enum
      `{${base},"home":{"ok":true}}`, // nested required
      `{${base},"home":{"lat":1,"x":2}}`, // nested additionalProperties false
      `{${base},"pick":{"v":"y"}}`, // anyOf: neither
      `{${base},"note":3}`, // type array
      `{${base},}`,
      ` {${base}}`, // whitespace outside the document
      `{${base}} `,
      `{${' '.repeat(MAX_WS + 1)}${base}}`,
      `{'name':"x"}`,
      `{"name":"a\u0001","age":1,"tags":["t"]}`,
      `{"name":"a\tb","age":1,"tags":["t"]}`, // a raw tab in a string
    ];
    for (const text of bad) expect(accepts(PERSON, text), text).toBe(false);
    expect(accepts({ type: 'number' }, '1e999')).toBe(false);
    expect(JsonSchemaGrammar.start(ANY_OBJECT).feedText('[')).toBe(false);
  });

  it('costs are the shortest completions, counted by hand', () => {
    const g = grammar(PERSON);
    expect(g.cost).toBe('{"name":"","age":0,"tags":[""]}'.length);
    g.feedText('{"tags":["a"');
    // ] then ,"name":"" then ,"age":0 then }
    expect(g.completion()).toBe(']' + ',"name":""' + ',"age":0' + '}');
    expect(g.cost).toBe(1 + 10 + 8 + 1);
    g.feedText('],"name":"\\u00');
    expect(g.completion()).toBe('00"' + ',"age":0' + '}');
    const h = grammar(PERSON);
    h.feedText('{"name":"x","age":1,"tags":["t"],"pick":');
    expect(h.completion()).toBe('0}'); // the integer alternative is shorter than {"v":"x"}
  });

  it('from any reachable state, the cheapest next character lowers the cost by one, down to a valid document', () => {
    const alphabet = [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), '\n', 'é'];
    const next = rng(11);
    for (let trial = 0; trial < 80; trial++) {
      const text = walkThenComplete(grammar(PERSON), alphabet, next, 100);
      expect(valid(PERSON, text), `${text}: ${ajv.errorsText()}`).toBe(true);
    }
  });
});

/** A vocabulary: printable ASCII, some JSON pieces, two stop ids. */
const PIECES = ['{"', '":', '",', '"name', '"age', '"tags', '["', '"]', 'true', 'null', '12', '}', 'hello', ' ', '\n  '];
const VOCAB = [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), '\n', ...PIECES, '<|im_end|>', '</s>', '</think>'];
const STOP = [VOCAB.indexOf('<|im_end|>'), VOCAB.indexOf('</s>')];
const decoder = { decode: (ids: readonly number[]) => ids.map((i) => (STOP.includes(i) ? '' : VOCAB[i])).join('') };

/** Sample greedily from random (shaped) logits with the processor until a stop id or maxTokens. */
const drive = (processor: GrammarConstraint, maxTokens: number, prefer: (id: number) => number, seed: number) => driveVocab(processor, VOCAB, STOP, maxTokens, prefer, seed, 4);

describe('GrammarConstraint with a JSON schema', () => {
  const options = { decoder, vocabSize: VOCAB.length, stopIds: STOP, thinkEndId: null };

  it('says up front the fewest tokens of the shortest document, and forces a valid one in exactly that many', () => {
    const forced = new GrammarConstraint({ ...options, grammar: grammar(PERSON), maxTokens: 1000 });
    // {  "name  ":  "  ",  "age  ":  0  ,  "tags  ":  ["  "]  }  stop
    expect(forced.minTokens).toBe(15);
    for (const seed of [1, 2, 3]) {
      const tight = new GrammarConstraint({ ...options, grammar: grammar(PERSON), maxTokens: 15 });
      const ids = drive(tight, 15, () => 0, seed);
      expect(STOP).toContain(ids.at(-1));
      expect(valid(PERSON, decoder.decode(ids))).toBe(true);
    }
  });

  it('forces schema-valid documents out of random logits for every max_tokens from the minimum up', () => {
    for (let maxTokens = 15; maxTokens <= 60; maxTokens++) {
      const forced = new GrammarConstraint({ ...options, grammar: grammar(PERSON), maxTokens });
      const ids = drive(forced, maxTokens, (id) => (STOP.includes(id) ? 10 : 0), maxTokens);
      const text = decoder.decode(ids);
      expect(STOP, text).toContain(ids.at(-1));
      expect(ids.length).toBeLessThanOrEqual(maxTokens);
      expect(valid(PERSON, text), `${text}: ${ajv.errorsText()}`).toBe(true);
    }
  });

  it('masks exactly the tokens the grammar takes (the sorted walk and the free-text shortcut skip none and add none)', () => {
    const alphabet = VOCAB.slice(0, 96);
    const next = rng(3);
    for (let trial = 0; trial < 40; trial++) {
      // a random prefix of a document, fed to the processor token by token (one character each)
      const g = grammar(PERSON);
      const forced = new GrammarConstraint({ ...options, grammar: grammar(PERSON), maxTokens: 10_000 });
      for (let step = 0; step < 40 && !g.complete; step++) {
        const logits = new Float32Array(VOCAB.length);
        forced.process(logits);
        const expected = VOCAB.map((t, id) => !STOP.includes(id) && g.copy().feedText(t));
        expect(VOCAB.filter((_, id) => logits[id] > -Infinity && !STOP.includes(id))).toEqual(VOCAB.filter((_, id) => expected[id]));
        const options = alphabet.filter((c) => g.copy().feed(c));
        const c = options[Math.floor(next() * options.length)];
        g.feed(c);
        forced.accept(VOCAB.indexOf(c));
      }
    }
  });

  it('json_object: any object, even against logits that want a bare string', () => {
    const quote = VOCAB.indexOf('"');
    const forced = new GrammarConstraint({ ...options, grammar: JsonSchemaGrammar.start(ANY_OBJECT), maxTokens: 40 });
    const text = decoder.decode(drive(forced, 40, (id) => (id === quote ? 50 : 0), 5));
    expect(JSON.parse(text)).toBeTypeOf('object');
    expect(text.startsWith('{')).toBe(true);
  });
});
