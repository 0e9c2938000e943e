// DESIGN §3, §6: loading an edge pack inside the Worker. The pack's files come from static
// assets (the `ASSETS` binding) or an R2 bucket; the index is read first and the model's
// resident size is checked against the isolate limit (fit.ts) before any shard is fetched.
// Shards are streamed front to back straight into WASM memory and verified by sha256 on the
// way (shard-stream.ts); the session is built once and refused if any shard fails its check.

import type { Backend } from '../engine/core/backend.js';
import { openShardedSafetensors } from '../engine/formats/safetensors.js';
import { openSession, type Session } from '../engine/core/session.js';
import { ModelUnavailableError } from './errors.js';
import { parsePackJson, readPackHeader } from './pack-header.js';
import { assertFitsIsolate } from './fit.js';
import { ShardStreams, StreamedShard, type OpenedFile } from './shard-stream.js';
import type { PackFiles } from './pack-files.js';

/** Minimal shapes of the bindings (no @cloudflare/workers-types here). */
export interface AssetsBinding {
  fetch(request: Request): Promise<Response>;
}
export interface R2BucketBinding {
  get(key: string): Promise<{ readonly size: number; readonly body: ReadableStream<Uint8Array>; arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

/**
 * Pack files served as static assets under `prefix` (e.g. '/packs/default/').
 * @example const files = assetsPack(env.ASSETS, '/packs/default/');
 */
export function assetsPack(assets: AssetsBinding, prefix: string): PackFiles {
  const fetchFile = async (file: string) => {
    const res = await assets.fetch(new Request(new URL(prefix + file, 'https://assets.local')));
    if (res.status === 404) return null;
    if (!res.ok || !res.body) throw new ModelUnavailableError(`assets:${prefix}${file}: HTTP ${res.status}`);
    return res;
  };
  return {
    name: `assets:${prefix}`,
    async read(file) {
      const res = await fetchFile(file);
      return res && new Uint8Array(await res.arrayBuffer());
    },
    async open(file) {
      const res = await fetchFile(file);
      return res && { size: Number(res.headers.get('content-length') ?? NaN), body: res.body! };
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
    async open(file) {
      const obj = await bucket.get(prefix + file);
      return obj && { size: obj.size, body: obj.body };
    },
  };
}

/** A file's bytes as a stream of one chunk (packs that only `read`). */
async function openByReading(files: PackFiles, file: string): Promise<OpenedFile | null> {
  const bytes = await files.read(file);
  return bytes && { size: bytes.byteLength, body: new Blob([bytes as Uint8Array<ArrayBuffer>]).stream() };
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
  return parsePackJson(file, bytes, (detail) => new ModelUnavailableError(`${files.name}${file}: ${detail}`));
}

/**
 * Load an edge pack: config, tokenizer, index; the fit check; then the backend session, its
 * shards streamed into WASM memory, and every shard's sha256 checked before the session is
 * returned. Throws ModelTooLargeError before fetching shards when the model cannot fit.
 * @example
 * const session = await loadPack(assetsPack(env.ASSETS, '/packs/default/'), { backend, maxContext: 4096, concurrency: 4 });
 */
export async function loadPack(files: PackFiles, options: LoadPackOptions): Promise<Session> {
  const { config, tokenizerJson, tokenizerConfig, indexJson, indexName, index, weightBytes } = await readPackHeader(files, readJson);
  assertFitsIsolate({ source: files.name, config, weightBytes, maxContext: options.maxContext, concurrency: options.concurrency, limitBytes: options.limitBytes });
  const streams = new ShardStreams();
  const shards: StreamedShard[] = [];
  const open = async (file: string) => {
    const opened = await (files.open ? files.open(file) : openByReading(files, file));
    if (opened === null) throw new Error('not found');
    const listed = index.shards.get(file)?.size;
    if (listed !== undefined && Number.isFinite(opened.size) && opened.size !== listed) throw new Error(`it is ${opened.size} bytes but ${indexName} says ${listed}`);
    return { size: listed ?? opened.size, body: opened.body };
  };
  const store = await openShardedSafetensors(indexName, indexJson, {
    // size and sha256 are checked as the shards stream (shard-stream.ts), not by reading them first
    verify: false,
    openShard: async (file) => {
      const first = await open(file);
      if (!Number.isFinite(first.size)) throw new Error(`its size is unknown: ${indexName} has no shards.${file}.size and the response no Content-Length`);
      const shard = new StreamedShard(`${files.name}${file}`, first, () => open(file), { sha256: index.shards.get(file)?.sha256, index: indexName }, streams);
      shards.push(shard);
      return shard;
    },
  });
  let session: Session | null = null;
  try {
    session = await openSession({ config, store, tokenizerJson, tokenizerConfig }, options.backend);
    for (const shard of shards) await shard.verify();
    return session;
  } catch (e) {
    session?.dispose();
    throw e;
  } finally {
    await store.close();
  }
}
