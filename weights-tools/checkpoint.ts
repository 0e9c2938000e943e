// DESIGN §1, §5: open a Hugging Face checkpoint folder from disk: config.json (spec §2),
// the safetensors weights (one file, several, or sharded with an index; spec §12), and the
// tokenizer files (spec §15). Weights stay on disk and are read lazily; `validateWeights`
// (engine/core/weights.ts) checks them against the config when a backend loads them.

import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig, type ModelConfig } from '../engine/core/config.js';
import { JsonSyntaxError, MissingTokenizerError } from '../engine/core/errors.js';
import type { WeightStore } from '../engine/core/weights.js';
import { parseConfigJson } from '../engine/formats/config-json.js';
import { mergeHfQuantConfig } from '../engine/formats/modelopt.js';
import { openGguf } from '../engine/formats/gguf.js';
import { ggufConfigJson, ggufWeightStore } from '../engine/formats/gguf-names.js';
import { ggufTokenizer } from '../engine/formats/gguf-tokenizer.js';
import { SAFETENSORS_INDEX_FILE, openSafetensorsStore, openShardedSafetensors } from '../engine/formats/safetensors.js';
import { packageRoot } from '../runtime/paths.js';
import { CheckpointError } from './errors.js';
import { openFileSource, sha256Streaming } from './fs-source.js';

/** ModelOpt's quantisation config beside config.json (engine/formats/modelopt.ts). */
export const HF_QUANT_CONFIG_FILE = 'hf_quant_config.json';

/** The word that names the embedded default model on the command line. */
export const DEFAULT_MODEL = 'default';

/** An opened checkpoint: parsed config, lazy weights, and the tokenizer files as JSON. */
export interface Checkpoint {
  readonly path: string;
  readonly config: ModelConfig;
  readonly store: WeightStore;
  /** tokenizer.json, or null when the folder has none. */
  readonly tokenizerJson: unknown | null;
  /** tokenizer_config.json (chat template, special token names), or null when absent. */
  readonly tokenizerConfig: Record<string, unknown> | null;
}

/**
 * Read and parse a JSON file; null when it does not exist and is optional. `config` files take
 * Python's bare Infinity / NaN tokens (parseConfigJson, whose errors name line and column).
 */
async function readJson(file: string, required: boolean, config = false): Promise<unknown | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CheckpointError(file, `cannot read: ${(e as Error).message}`);
    if (required) throw new CheckpointError(file, 'missing (an HF checkpoint folder needs it)');
    return null;
  }
  try {
    return config ? parseConfigJson(text, file) : JSON.parse(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new CheckpointError(file, `malformed JSON: line ${e.line}, column ${e.column}: ${e.reason}`);
    throw new CheckpointError(file, `malformed JSON: ${(e as Error).message}`);
  }
}

/** Id of `<|im_end|>` among tokenizer.json's added tokens (spec §10: a stop token), if any. */
function imEndId(tokenizerJson: unknown): number | null {
  const added = (tokenizerJson as { added_tokens?: unknown } | null)?.added_tokens;
  if (!Array.isArray(added)) return null;
  const hit = added.find((t) => t?.content === '<|im_end|>' && Number.isInteger(t?.id));
  return hit ? (hit.id as number) : null;
}

/** Open the folder's weights: a sharded index, model.safetensors, or every *.safetensors. */
async function openWeights(dir: string): Promise<WeightStore> {
  const indexFile = join(dir, SAFETENSORS_INDEX_FILE);
  const index = await readJson(indexFile, false);
  if (index !== null) {
    return openShardedSafetensors(indexFile, index, {
      openShard: (file) => {
        if (file.includes('/') || file.includes('\\')) throw new Error('shard names must be plain file names in the same folder');
        return openFileSource(join(dir, file));
      },
      sha256: sha256Streaming,
    });
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith('.safetensors')).sort();
  if (files.length === 0) {
    throw new CheckpointError(dir, `no weights file (expected model.safetensors or ${SAFETENSORS_INDEX_FILE})`);
  }
  const sources = [];
  try {
    for (const f of files) sources.push(await openFileSource(join(dir, f)));
  } catch (e) {
    await Promise.all(sources.map((s) => s.close()));
    throw e;
  }
  return openSafetensorsStore(sources);
}

/**
 * Open a `.gguf` file (spec §13): config from its metadata, tensors under HF names, its embedded
 * tokenizer. A tokenizer edgetron cannot rebuild (not gpt2 byte-level BPE) leaves the checkpoint
 * without one: ids still work, text gets `MissingTokenizerError`.
 */
async function openGgufCheckpoint(path: string): Promise<Checkpoint> {
  const source = await openFileSource(path);
  try {
    const gguf = await openGguf(source);
    const tokenizer = (() => {
      try {
        return ggufTokenizer(gguf);
      } catch (e) {
        if (e instanceof MissingTokenizerError) return null;
        throw e;
      }
    })();
    const imEnd = imEndId(tokenizer?.tokenizerJson ?? null);
    const config = parseConfig(ggufConfigJson(gguf), imEnd === null ? [] : [imEnd]);
    const store = await ggufWeightStore(gguf);
    return { path, config, store, tokenizerJson: tokenizer?.tokenizerJson ?? null, tokenizerConfig: tokenizer?.tokenizerConfig ?? null };
  } catch (e) {
    await source.close();
    throw e;
  }
}

/**
 * Open an HF checkpoint folder, or a `.gguf` file. `<|im_end|>` from tokenizer.json becomes an extra stop id
 * (spec §10); a ModelOpt `hf_quant_config.json` is folded into config.json's `quantization_config`
 * (`mergeHfQuantConfig`: the exclusion lists joined), so `config.raw` carries both. Errors name
 * the file: missing config.json, malformed JSON, no weights file; config problems are `ConfigError`s naming the key, weight-file problems `CorruptWeightsError`s.
 * The caller closes `store` when done.
 * @example
 * const ckpt = await openCheckpoint(resolveModelPath('default'));
 * const tensors = validateWeights(ckpt.config, ckpt.store);
 */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new CheckpointError(path, 'no such file or folder');
  if (!info.isDirectory()) {
    if (path.toLowerCase().endsWith('.gguf')) return openGgufCheckpoint(path);
    throw new CheckpointError(path, 'not an HF checkpoint folder (config.json + *.safetensors) or a .gguf file');
  }
  const raw = await readJson(join(path, 'config.json'), true, true);
  // ModelOpt's hf_quant_config.json, folded into config.json's quantization_config (spec §14.2)
  const hfQuant = await readJson(join(path, HF_QUANT_CONFIG_FILE), false, true);
  if (hfQuant !== null && typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const cfg = raw as Record<string, unknown>;
    cfg.quantization_config = mergeHfQuantConfig(cfg.quantization_config, hfQuant);
  }
  const tokenizerJson = await readJson(join(path, 'tokenizer.json'), false);
  const tokenizerConfig = await readJson(join(path, 'tokenizer_config.json'), false);
  if (tokenizerConfig !== null && (typeof tokenizerConfig !== 'object' || Array.isArray(tokenizerConfig))) {
    throw new CheckpointError(join(path, 'tokenizer_config.json'), 'must be a JSON object');
  }
  const imEnd = imEndId(tokenizerJson);
  const config = parseConfig(raw, imEnd === null ? [] : [imEnd]);
  const store = await openWeights(path);
  return { path, config, store, tokenizerJson, tokenizerConfig: tokenizerConfig as Record<string, unknown> | null };
}

/**
 * Resolve a `--model` argument: `default` or nothing means the embedded default model, the
 * edge pack committed at `<package root>/assets/packs/default` (the same files the Worker
 * serves; `npm run build:default-model` rewrites it); any other path is returned as is.
 * @example
 * resolveModelPath(undefined);      // '/…/edgetron/assets/packs/default'
 * resolveModelPath('./my-model');   // './my-model'
 */
export function resolveModelPath(path: string | undefined): string {
  if (path !== undefined && path !== DEFAULT_MODEL) return path;
  const dir = join(packageRoot(), 'assets', 'packs', 'default');
  if (!existsSync(join(dir, 'config.json'))) {
    throw new CheckpointError(dir, 'the embedded default model is missing; run `npm run build:default-model` to create it');
  }
  return dir;
}
