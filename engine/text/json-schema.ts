// JSON Schema → the node tree the JSON grammar (engine/text/json-schema-grammar.ts) walks. One schema
// is compiled once and cached by its canonical JSON (keys sorted), so a schema sent with every
// request costs one map lookup after the first.
//
// Enforced: `type` (one name or an array = anyOf of each), `properties` / `required` /
// `additionalProperties`, `items` / `minItems` / `maxItems`, `enum`, `const`, `anyOf`, local
// `$ref` (`#/$defs/…`, `#/definitions/…`, not recursive). Objects: an object with `properties`
// is written with declared keys only, each at most once, every `required` one (OpenAI strict
// mode: `additionalProperties: false`; leaving extra keys out is also valid where they are
// allowed); an object without `properties` takes any keys, its values by `additionalProperties`
// (any value when absent or true, none when false). Annotations (title, description, default,
// examples, $schema, $id, $comment, deprecated, readOnly, writeOnly, strict) are ignored.
// Everything else (UNSUPPORTED) is refused in `strict` mode (response_format), and ignored in
// `lenient` mode (tool parameters: the call keeps the structure, not e.g. `format`).
// Malformed schemas (an unknown type, an empty enum, a `required` name not in `properties`,
// minItems > maxItems, …) are refused in both modes.

import { SchemaError } from '../core/errors.js';

/** A compiled schema: what a JSON value may be, with its shortest text. */
export type SchemaNode =
  | { readonly kind: 'object'; readonly props: readonly Prop[] | null; readonly values: SchemaNode; readonly minText: string }
  | { readonly kind: 'array'; readonly items: SchemaNode; readonly minItems: number; readonly maxItems: number; readonly minText: string }
  | { readonly kind: 'string'; readonly minText: string }
  | { readonly kind: 'number'; readonly integer: boolean; readonly minText: string }
  | { readonly kind: 'literal'; readonly texts: readonly string[]; readonly minText: string }
  | { readonly kind: 'anyOf'; readonly options: readonly SchemaNode[]; readonly minText: string };

/** A declared property: its name, its key as written (JSON string), its schema. */
export interface Prop {
  readonly name: string;
  readonly key: string;
  readonly node: SchemaNode;
  readonly required: boolean;
}

export type SchemaMode = 'strict' | 'lenient';

/** Keywords the grammar cannot enforce. */
export const UNSUPPORTED = [
  'pattern', 'format', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'oneOf', 'allOf', 'not', 'if', 'then', 'else', 'patternProperties', 'propertyNames', 'minProperties', 'maxProperties',
  'dependentRequired', 'dependentSchemas', 'dependencies', 'unevaluatedProperties', 'unevaluatedItems', 'uniqueItems', 'contains',
  'minContains', 'maxContains', 'prefixItems', 'additionalItems', 'contentEncoding', 'contentMediaType', '$dynamicRef', '$recursiveRef',
] as const;
const TYPES = ['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'];

const STRING: SchemaNode = { kind: 'string', minText: '""' };
const NUMBER: SchemaNode = { kind: 'number', integer: false, minText: '0' };
const INTEGER: SchemaNode = { kind: 'number', integer: true, minText: '0' };
const literal = (texts: readonly string[]): SchemaNode => {
  const unique = [...new Set(texts)];
  return { kind: 'literal', texts: unique, minText: shortest(unique) };
};
/**
 * A value as the grammar writes it: JSON with every non-ASCII character escaped (`\u00e9`), so
 * that keys and enum values are spelled by ASCII tokens (a character a tokenizer has no token
 * for decodes piece by piece to U+FFFD and could not be matched), and `<` too (a tool call's
 * JSON argument never holds `</parameter>`).
 */
const jsonText = (v: unknown) => JSON.stringify(v).replace(/[<\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const shortest = (texts: readonly string[]) => texts.reduce((a, b) => (b.length < a.length ? b : a));

const anyOptions: SchemaNode[] = [];
/** Any JSON value (a recursive node). */
export const ANY: SchemaNode = { kind: 'anyOf', options: anyOptions, minText: '0' };
/** Any JSON object (`response_format: {type: "json_object"}`). */
export const ANY_OBJECT: SchemaNode = { kind: 'object', props: null, values: ANY, minText: '{}' };
anyOptions.push(ANY_OBJECT, { kind: 'array', items: ANY, minItems: 0, maxItems: Infinity, minText: '[]' }, STRING, NUMBER, literal(['true', 'false', 'null']));

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const pointer = (path: string, key: string | number) => `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** Keys sorted at every level: equal schemas give equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const CACHE_SIZE = 256;
const CACHE = new Map<string, SchemaNode>();

/**
 * Compile a JSON Schema (see the header), cached by its canonical text; throws SchemaError.
 * @example
 * const node = compileSchema({ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false }, 'strict');
 * node.minText; // '{"a":0}'
 */
export function compileSchema(schema: unknown, mode: SchemaMode): SchemaNode {
  const key = `${mode}:${canonical(schema)}`;
  let node = CACHE.get(key);
  if (node) {
    CACHE.delete(key); // least recently used goes first
  } else {
    node = new Compiler(schema, mode).compile(schema, '#', []);
    if (CACHE.size >= CACHE_SIZE) CACHE.delete(CACHE.keys().next().value!);
  }
  CACHE.set(key, node);
  return node;
}

class Compiler {
  constructor(
    private readonly root: unknown,
    private readonly mode: SchemaMode,
  ) {}

  private malformed(path: string, feature: string, detail: string): never {
    throw new SchemaError(path, feature, false, detail);
  }

  private unsupported(path: string, feature: string, detail = `'${feature}' is not supported`): void {
    if (this.mode === 'strict') throw new SchemaError(path, feature, true, detail);
  }

  compile(s: unknown, path: string, refs: readonly string[]): SchemaNode {
    if (s === true) return ANY;
    if (s === false) this.malformed(path, 'false', 'the schema `false` matches nothing');
    if (!isObject(s)) this.malformed(path, 'schema', 'a schema must be an object or a boolean');
    if (s.$ref !== undefined) return this.ref(s.$ref, path, refs);
    for (const k of UNSUPPORTED) if (s[k] !== undefined) this.unsupported(pointer(path, k), k);
    if (s.const !== undefined) return literal([jsonText(s.const)]);
    if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || s.enum.length === 0) this.malformed(pointer(path, 'enum'), 'enum', 'enum must be a non-empty array');
      return literal(s.enum.map(jsonText));
    }
    if (s.anyOf !== undefined) {
      if (!Array.isArray(s.anyOf) || s.anyOf.length === 0) this.malformed(pointer(path, 'anyOf'), 'anyOf', 'anyOf must be a non-empty array');
      for (const k of ['type', 'properties', 'items']) if (s[k] !== undefined) this.unsupported(pointer(path, k), k, `'${k}' beside 'anyOf' is not supported: put it in each alternative`);
      return anyOf(s.anyOf.map((o, i) => this.compile(o, pointer(pointer(path, 'anyOf'), i), refs)));
    }
    const type = s.type;
    if (type === undefined) {
      if (s.properties !== undefined || s.required !== undefined || s.additionalProperties !== undefined) return this.object(s, path, refs);
      return s.items !== undefined ? this.array(s, path, refs) : ANY;
    }
    const types = Array.isArray(type) ? type : [type];
    if (types.length === 0 || types.some((t) => typeof t !== 'string' || !TYPES.includes(t))) {
      this.malformed(pointer(path, 'type'), 'type', `type must be one of ${TYPES.join(', ')} or an array of them, got ${JSON.stringify(type)}`);
    }
    return anyOf([...new Set(types as string[])].map((t) => this.typed(t, s, path, refs)));
  }

  private typed(type: string, s: Json, path: string, refs: readonly string[]): SchemaNode {
    switch (type) {
      case 'object':
        return this.object(s, path, refs);
      case 'array':
        return this.array(s, path, refs);
      case 'string':
        return STRING;
      case 'number':
        return NUMBER;
      case 'integer':
        return INTEGER;
      case 'boolean':
        return literal(['true', 'false']);
      default:
        return literal(['null']);
    }
  }

  private object(s: Json, path: string, refs: readonly string[]): SchemaNode {
    const { properties, required = [], additionalProperties: extra } = s;
    if (properties !== undefined && !isObject(properties)) this.malformed(pointer(path, 'properties'), 'properties', 'properties must be an object');
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) this.malformed(pointer(path, 'required'), 'required', 'required must be an array of strings');
    for (const r of required as string[]) {
      if (!properties || !Object.hasOwn(properties, r)) this.malformed(pointer(path, 'required'), 'required', `required names '${r}', which is not in properties`);
    }
    if (extra !== undefined && typeof extra !== 'boolean' && !isObject(extra)) this.malformed(pointer(path, 'additionalProperties'), 'additionalProperties', 'additionalProperties must be a boolean or a schema');
    if (properties === undefined) {
      const values = extra === false ? null : isObject(extra) ? this.compile(extra, pointer(path, 'additionalProperties'), refs) : ANY;
      return values ? { kind: 'object', props: null, values, minText: '{}' } : { kind: 'object', props: [], values: ANY, minText: '{}' };
    }
    if (isObject(extra)) this.unsupported(pointer(path, 'additionalProperties'), 'additionalProperties', "'additionalProperties' as a schema beside 'properties' is not supported");
    const props = Object.entries(properties as Json).map(([name, p]) => ({
      name,
      key: jsonText(name),
      node: this.compile(p, pointer(pointer(path, 'properties'), name), refs),
      required: (required as string[]).includes(name),
    }));
    const minText = `{${props
      .filter((p) => p.required)
      .map((p) => `${p.key}:${p.node.minText}`)
      .join(',')}}`;
    return { kind: 'object', props, values: ANY, minText };
  }

  private array(s: Json, path: string, refs: readonly string[]): SchemaNode {
    const count = (k: string, fallback: number) => {
      const v = s[k];
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.malformed(pointer(path, k), k, `${k} must be an integer ≥ 0`);
      return v;
    };
    const minItems = count('minItems', 0);
    const maxItems = count('maxItems', Infinity);
    if (minItems > maxItems) this.malformed(pointer(path, 'minItems'), 'minItems', `minItems ${minItems} > maxItems ${maxItems}`);
    if (Array.isArray(s.items)) this.unsupported(pointer(path, 'items'), 'items', "'items' as an array (a tuple) is not supported");
    const items = s.items === undefined || Array.isArray(s.items) ? ANY : this.compile(s.items, pointer(path, 'items'), refs);
    return { kind: 'array', items, minItems, maxItems, minText: `[${Array(minItems).fill(items.minText).join(',')}]` };
  }

  /** A local reference `#/$defs/NAME` (or `#/definitions/NAME`), compiled in place. */
  private ref(ref: unknown, path: string, refs: readonly string[]): SchemaNode {
    const at = pointer(path, '$ref');
    const m = typeof ref === 'string' ? /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref) : null;
    if (!m) {
      this.unsupported(at, '$ref', `$ref ${JSON.stringify(ref)} is not supported: only '#/$defs/NAME' within the schema`);
      return ANY;
    }
    const name = m[2].replace(/~1/g, '/').replace(/~0/g, '~');
    const defs = isObject(this.root) ? this.root[m[1]] : undefined;
    if (!isObject(defs) || !Object.hasOwn(defs, name)) return this.malformed(at, '$ref', `$ref ${ref} names no definition`);
    if (refs.includes(ref as string)) {
      this.unsupported(at, '$ref', `recursive $ref ${ref} is not supported`);
      return ANY;
    }
    return this.compile(defs[name], `${ref as string}`, [...refs, ref as string]);
  }
}

function anyOf(options: SchemaNode[]): SchemaNode {
  return options.length === 1 ? options[0] : { kind: 'anyOf', options, minText: shortest(options.map((o) => o.minText)) };
}
