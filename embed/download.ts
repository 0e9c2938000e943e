// DESIGN §3: an edge pack downloaded into the tab (runs in the engine worker). The index
// (`model.safetensors.index.json`) lists every shard with its size and sha256; shards are kept
// in the Cache API under their sha256, so a reload, or another page with the same pack, reads
// them from the cache:
//   shard ──► cache hit? ──► sha256 ok? ──► use            (a corrupt entry is deleted, re-fetched)
//             └─ miss ──► fetch (progress in bytes) ──► sha256 ok? ──► cache.put ──► use
// The JSON files (config, tokenizer, index) are small and always fetched. When the storage
// quota cannot hold the shards they are downloaded but not cached (a StorageQuotaError notice).

import { CorruptWeightsError } from '../engine/core/errors.js';
import { SAFETENSORS_INDEX_FILE, parseSafetensorsIndex, type ShardInfo } from '../engine/formats/safetensors.js';
import type { PackFiles } from '../serve/pack-files.js';
import { DownloadError, StorageQuotaError } from './errors.js';
import type { Progress } from './protocol.js';

/** The Cache API cache of the shards. */
export const SHARD_CACHE = 'edgetron-shards-v1';
/** Cache keys are content addresses: `${CACHE_KEY_BASE}<sha256>` (any http URL works as a key). */
const CACHE_KEY_BASE = 'https://edgetron.invalid/sha256/';

export interface PackDownloadOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly onProgress: (p: Progress) => void;
  /** Something went wrong that does not stop the load (quota, a corrupt cache entry). */
  readonly onNotice: (e: Error) => void;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The files of the pack at `base` (a folder URL), downloaded with progress, shards cached and
 * sha256-verified. `read` may be called more than once per file (the bytes are kept until
 * `release`).
 * @example
 * const files = await openPackDownload('https://x/v1/pack/', { headers: {}, onProgress, onNotice });
 * const session = await loadPack(files, options); files.release();
 */
export async function openPackDownload(base: string, options: PackDownloadOptions): Promise<PackFiles & { readonly totalBytes: number; release(): void }> {
  const memo = new Map<string, Promise<Uint8Array<ArrayBuffer> | null>>();
  const get = async (file: string, onBytes?: (n: number) => void): Promise<Uint8Array<ArrayBuffer> | null> => {
    const url = new URL(file, base).href;
    let res: Response;
    try {
      res = await fetch(url, { headers: options.headers, cache: 'no-cache' });
    } catch (e) {
      throw new DownloadError(url, (e as Error).message);
    }
    if (res.status === 404) return null;
    if (!res.ok || !res.body) throw new DownloadError(url, `HTTP ${res.status}`);
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const reader = res.body.getReader(); ; ) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      n += value.byteLength;
      onBytes?.(value.byteLength);
    }
    const bytes = new Uint8Array(n);
    let at = 0;
    for (const p of parts) bytes.set(p, (at += p.byteLength) - p.byteLength);
    return bytes;
  };

  const indexBytes = await get(SAFETENSORS_INDEX_FILE);
  if (indexBytes === null) throw new DownloadError(new URL(SAFETENSORS_INDEX_FILE, base).href, 'HTTP 404: not an edge pack');
  memo.set(SAFETENSORS_INDEX_FILE, Promise.resolve(indexBytes));
  const index = parseSafetensorsIndex(JSON.parse(new TextDecoder().decode(indexBytes)), new URL(SAFETENSORS_INDEX_FILE, base).href);
  const shards = new Map<string, ShardInfo>([...new Set(index.weightMap.values())].map((f) => [f, index.shards.get(f) ?? {}]));
  const total = [...shards.values()].reduce((s, i) => s + (i.size ?? 0), 0);

  const cache = typeof caches === 'undefined' ? null : await caches.open(SHARD_CACHE).catch(() => null);
  const keyOf = (info: ShardInfo) => (info.sha256 ? CACHE_KEY_BASE + info.sha256 : null);
  let cacheable = cache !== null;
  if (cache && navigator.storage?.estimate) {
    let missing = 0;
    for (const info of shards.values()) {
      const key = keyOf(info);
      if (!key || !(await cache.match(key))) missing += info.size ?? 0;
    }
    const { quota = Infinity, usage = 0 } = await navigator.storage.estimate();
    if (missing > quota - usage) {
      cacheable = false;
      options.onNotice(new StorageQuotaError(missing, quota - usage));
    }
  }

  const progress = { loaded: 0, total, cached: 0 };
  const report = () => options.onProgress({ ...progress });
  report();

  const readShard = async (file: string, info: ShardInfo): Promise<Uint8Array<ArrayBuffer> | null> => {
    const key = keyOf(info);
    const hit = cache && key ? await cache.match(key) : undefined;
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      if ((await sha256Hex(bytes)) === info.sha256) {
        progress.loaded += bytes.byteLength;
        progress.cached += bytes.byteLength;
        report();
        return bytes;
      }
      await cache!.delete(key!);
      options.onNotice(new CorruptWeightsError(`cache:${file}`, 'the cached shard does not match its sha256; downloading it again'));
    }
    const start = progress.loaded;
    const bytes = await get(file, (n) => {
      progress.loaded += n;
      report();
    });
    if (bytes === null) return null;
    progress.loaded = start + bytes.byteLength;
    if (info.sha256) {
      const actual = await sha256Hex(bytes);
      if (actual !== info.sha256) throw new CorruptWeightsError(new URL(file, base).href, `sha256 is ${actual} but the index says ${info.sha256}`);
    }
    if (cacheable && key) {
      try {
        await cache!.put(key, new Response(bytes));
      } catch (e) {
        cacheable = false;
        options.onNotice((e as Error).name === 'QuotaExceededError' ? new StorageQuotaError(total, 0) : (e as Error));
      }
    }
    report();
    return bytes;
  };

  return {
    name: base,
    totalBytes: total,
    read(file) {
      let p = memo.get(file);
      if (!p) {
        const info = shards.get(file);
        p = info ? readShard(file, info) : get(file);
        memo.set(file, p);
      }
      return p;
    },
    release: () => memo.clear(),
  };
}
