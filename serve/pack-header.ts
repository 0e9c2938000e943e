// DESIGN §3: the JSON files of an edge pack (config, tokenizer, tokenizer config, sharded index),
// read before any shard so the memory estimate can refuse a model that cannot fit. Shared by the
// Worker's loadPack (serve/pack.ts) and the embed's in-tab loader (embed/load.ts).

import { parseConfig, type ModelConfig } from '../engine/core/config.js';
import { JsonSyntaxError } from '../engine/core/errors.js';
import { parseConfigJson } from '../engine/formats/config-json.js';
import { SAFETENSORS_INDEX_FILE, parseSafetensorsIndex, type SafetensorsIndex } from '../engine/formats/safetensors.js';
import { IM_END } from '../engine/text/text.js';
import type { PackFiles } from './pack-files.js';

/** What a pack's JSON files say, read before any shard: enough for the fit check and the session. */
export interface PackHeader {
  readonly config: ModelConfig;
  readonly tokenizerJson: unknown;
  readonly tokenizerConfig: Record<string, unknown> | null;
  readonly indexJson: unknown;
  /** The index's name for messages, e.g. `/packs/default/model.safetensors.index.json`. */
  readonly indexName: string;
  readonly index: SafetensorsIndex;
  /** The index's metadata.total_size (0 when absent). */
  readonly weightBytes: number;
}

/** A pack file's parsed JSON, or null when it is optional and absent; errors in the caller's terms. */
export type PackJsonReader = (files: PackFiles, file: string, required: boolean) => Promise<unknown>;

/**
 * A pack file's bytes as JSON: config.json as Hugging Face writes it (Python's bare Infinity /
 * NaN, transformers 5's `{"__float__": …}`; parseConfigJson), every other file strictly. A parse
 * failure becomes `wrap('malformed JSON: …')`, with line and column for config.json.
 * @example const value = parsePackJson('config.json', bytes, (detail) => new Error(`pack/config.json: ${detail}`));
 */
export function parsePackJson(file: string, bytes: Uint8Array, wrap: (detail: string) => Error): unknown {
  const text = new TextDecoder().decode(bytes);
  try {
    return file === 'config.json' ? parseConfigJson(text, file) : JSON.parse(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw wrap(`malformed JSON: line ${e.line}, column ${e.column}: ${e.reason}`);
    throw wrap(`malformed JSON: ${(e as Error).message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Read config.json, tokenizer.json, tokenizer_config.json (optional) and the index of a pack,
 * and parse the config (with `<|im_end|>` as an extra end-of-turn id when the tokenizer has it)
 * and the index.
 * @example const { config, weightBytes } = await readPackHeader(files, readJson);
 */
export async function readPackHeader(files: PackFiles, readJson: PackJsonReader): Promise<PackHeader> {
  const [rawConfig, tokenizerJson, tokenizerConfig, indexJson] = await Promise.all([
    readJson(files, 'config.json', true),
    readJson(files, 'tokenizer.json', true),
    readJson(files, 'tokenizer_config.json', false),
    readJson(files, SAFETENSORS_INDEX_FILE, true),
  ]);
  const added = isObject(tokenizerJson) && Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as { content?: unknown; id?: unknown }[]) : [];
  const imEnd = added.find((t) => t?.content === IM_END && Number.isInteger(t?.id))?.id as number | undefined;
  const config = parseConfig(rawConfig, imEnd === undefined ? [] : [imEnd]);
  const indexName = `${files.name}${SAFETENSORS_INDEX_FILE}`;
  const index = parseSafetensorsIndex(indexJson, indexName);
  const weightBytes = Number((index.metadata as { total_size?: unknown }).total_size ?? 0);
  return { config, tokenizerJson, tokenizerConfig: isObject(tokenizerConfig) ? tokenizerConfig : null, indexJson, indexName, index, weightBytes };
}
