// DESIGN §3, §6: loading an edge pack inside the Worker. The pack's files come from static
// assets (the `ASSETS` binding) or an R2 bucket; the index is read first and the model's
// resident size is checked against the isolate limit (fit.ts) before any shard is fetched;
// every shard is verified by sha256 (engine/safetensors.ts) and the session is built once.

import { memorySource } from '../engine/bytes.js';
import { parseConfig } from '../engine/config.js';
import type { Backend } from '../engine/backend.js';
import { SAFETENSORS_INDEX_FILE, openShardedSafetensors, parseSafetensorsIndex } from '../engine/safetensors.js';
import { openSession, type Session } from '../engine/session.js';
import { ModelUnavailableError } from './errors.js';
import { assertFitsIsolate } from './fit.js';

/** Read access to the files of one pack. */
export interface PackFiles {
  /** Where the pack is (for messages), e.g. 'assets:/packs/default/'. */
  readonly name: string;
  /** The file's bytes, or null when it does not exist. */
  read(file: string): Promise<Uint8Array | null>;
}

/** Minimal shapes of the bindings (no @cloudflare/workers-types here). */
export interface AssetsBinding {
  fetch(request: Request): Promise<Response>;
}
export interface R2BucketBinding {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

/**
 * Pack files served as static assets under `prefix` (e.g. '/packs/default/').
 * @example const files = assetsPack(env.ASSETS, '/packs/default/');
 */
export function assetsPack(assets: AssetsBinding, prefix: string): PackFiles {
  return {
    name: `assets:${prefix}`,
    async read(file) {
      const res = await assets.fetch(new Request(new URL(prefix + file, 'https://assets.local')));
      if (res.status === 404) return null;
      if (!res.ok) throw new ModelUnavailableError(`assets:${prefix}${file}: HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

/**
 * Pack files in an R2 bucket under `prefix` (e.g. 'models/small-nvfp4/').
 * @example const files = r2Pack(env.MODELS, 'packs/default/');
 */
export function r2Pack(bucket: R2BucketBinding, prefix: string): PackFiles {
  return {
    name: `r2:${prefix}`,
    async read(file) {
      const obj = await bucket.get(prefix + file);
      return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
    },
  };
}

export interface LoadPackOptions {
  readonly backend: Backend;
  readonly maxContext: number;
  readonly concurrency: number;
  /** Isolate memory limit (default 128 MiB). */
  readonly limitBytes?: number;
}

async function readJson(files: PackFiles, file: string, required: boolean): Promise<unknown> {
  const bytes = await files.read(file);
  if (bytes === null) {
    if (required) throw new ModelUnavailableError(`${files.name}${file} is missing`);
    return null;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ModelUnavailableError(`${files.name}${file}: malformed JSON: ${(e as Error).message}`);
  }
}

/**
 * Load an edge pack: config, tokenizer, index; the fit check; shards verified by sha256;
 * then the backend session. Throws ModelTooLargeError before fetching shards when the model
 * cannot fit.
 * @example
 * const session = await loadPack(assetsPack(env.ASSETS, '/packs/default/'), { backend, maxContext: 4096, concurrency: 4 });
 */
export async function loadPack(files: PackFiles, options: LoadPackOptions): Promise<Session> {
  const [rawConfig, tokenizerJson, tokenizerConfig, indexJson] = await Promise.all([
    readJson(files, 'config.json', true),
    readJson(files, 'tokenizer.json', true),
    readJson(files, 'tokenizer_config.json', false),
    readJson(files, SAFETENSORS_INDEX_FILE, true),
  ]);
  const added = (tokenizerJson as { added_tokens?: { content?: unknown; id?: unknown }[] }).added_tokens;
  const imEnd = Array.isArray(added) ? added.find((t) => t?.content === '<|im_end|>')?.id : undefined;
  const config = parseConfig(rawConfig, typeof imEnd === 'number' ? [imEnd] : []);
  const indexName = `${files.name}${SAFETENSORS_INDEX_FILE}`;
  const index = parseSafetensorsIndex(indexJson, indexName);
  const weightBytes = Number((index.metadata as { total_size?: unknown }).total_size ?? 0);
  assertFitsIsolate({ source: files.name, config, weightBytes, maxContext: options.maxContext, concurrency: options.concurrency, limitBytes: options.limitBytes });
  const store = await openShardedSafetensors(indexName, indexJson, {
    openShard: async (file) => {
      const bytes = await files.read(file);
      if (bytes === null) throw new Error('not found');
      return memorySource(`${files.name}${file}`, bytes);
    },
  });
  try {
    const isObject = tokenizerConfig !== null && typeof tokenizerConfig === 'object' && !Array.isArray(tokenizerConfig);
    return await openSession(
      { config, store, tokenizerJson, tokenizerConfig: isObject ? (tokenizerConfig as Record<string, unknown>) : null },
      options.backend,
    );
  } finally {
    await store.close();
  }
}
