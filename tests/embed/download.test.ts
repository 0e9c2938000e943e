// embed/download.ts with a stubbed fetch (the pack's files), an in-memory Cache API and a
// storage estimate: progress in bytes, shards cached under their sha256 and read back with no
// download, a corrupt cache entry noticed and fetched again, a corrupt download refused, and a
// quota too small for the shards (downloaded, not cached, one StorageQuotaError notice).
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SHARD_CACHE, openPackDownload } from '../../embed/download.js';
import type { Progress } from '../../embed/protocol.js';

const BASE = 'https://w.example/v1/pack/';
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const shardA = new Uint8Array(3000).map((_, i) => i * 7);
const shardB = new Uint8Array(1000).map((_, i) => i * 3);
const files: Record<string, Uint8Array> = {
  'model-00001-of-00002.safetensors': shardA,
  'model-00002-of-00002.safetensors': shardB,
  'config.json': new TextEncoder().encode('{}'),
};
const index = {
  metadata: { total_size: 4000 },
  weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
  shards: {
    'model-00001-of-00002.safetensors': { sha256: hex(shardA), size: shardA.length },
    'model-00002-of-00002.safetensors': { sha256: hex(shardB), size: shardB.length },
  },
};

let store: Map<string, Uint8Array>;
let fetched: string[];
let served: Record<string, Uint8Array>;
let quota: number;

/** The Cache API, in memory. */
const cache = {
  match: async (key: string) => (store.has(key) ? new Response(store.get(key)!.slice()) : undefined),
  put: async (key: string, res: Response) => void store.set(key, new Uint8Array(await res.arrayBuffer())),
  delete: async (key: string) => store.delete(key),
};

beforeEach(() => {
  store = new Map();
  fetched = [];
  served = { ...files, 'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify(index)) };
  quota = 1e9;
  vi.stubGlobal('caches', { open: async (name: string) => (name === SHARD_CACHE ? cache : null) });
  vi.stubGlobal('navigator', { storage: { estimate: async () => ({ quota, usage: 0 }) } });
  vi.stubGlobal('fetch', async (url: string) => {
    fetched.push(url.slice(BASE.length));
    const bytes = served[url.slice(BASE.length)];
    if (!bytes) return new Response('not found', { status: 404 });
    // in pieces of 512 bytes, so progress moves within a shard
    let at = 0;
    return new Response(new ReadableStream({ pull: (ctl) => (at >= bytes.length ? ctl.close() : ctl.enqueue(bytes.slice(at, (at += 512)))) }));
  });
});
afterEach(() => vi.unstubAllGlobals());

async function download() {
  const progress: Progress[] = [];
  const notices: Error[] = [];
  const pack = await openPackDownload(BASE, { headers: {}, onProgress: (p) => progress.push(p), onNotice: (e) => notices.push(e) });
  const a = await pack.read('model-00001-of-00002.safetensors');
  const b = await pack.read('model-00002-of-00002.safetensors');
  const config = await pack.read('config.json');
  return { pack, a, b, config, progress, notices };
}

describe('openPackDownload', () => {
  it('downloads with progress in bytes, verifies and caches the shards under their sha256', async () => {
    const { pack, a, b, config, progress, notices } = await download();
    expect(a).toEqual(shardA);
    expect(b).toEqual(shardB);
    expect(new TextDecoder().decode(config!)).toBe('{}');
    expect(pack.totalBytes).toBe(4000);
    expect(progress[0]).toEqual({ loaded: 0, total: 4000, cached: 0 });
    expect(progress.at(-1)).toEqual({ loaded: 4000, total: 4000, cached: 0 });
    expect(progress.length).toBeGreaterThan(8); // 512-byte pieces
    for (let i = 1; i < progress.length; i++) expect(progress[i].loaded).toBeGreaterThanOrEqual(progress[i - 1].loaded);
    expect([...store.keys()].sort()).toEqual([hex(shardA), hex(shardB)].map((h) => `https://edgetron.invalid/sha256/${h}`).sort());
    expect(notices).toEqual([]);
    expect(await pack.read('model.safetensors.index.json')).not.toBeNull(); // kept, not fetched again
    expect(fetched.filter((f) => f === 'model.safetensors.index.json')).toHaveLength(1);
    expect(await pack.read('missing.json')).toBeNull();
  });

  it('a second open reads the shards from the cache: no shard is fetched', async () => {
    await download();
    fetched = [];
    const again = await download();
    expect(again.a).toEqual(shardA);
    expect(fetched).toEqual(['model.safetensors.index.json', 'config.json']);
    expect(again.progress.at(-1)).toEqual({ loaded: 4000, total: 4000, cached: 4000 });
  });

  it('a corrupt cache entry is noticed, replaced by a fresh download', async () => {
    await download();
    const keyA = `https://edgetron.invalid/sha256/${hex(shardA)}`;
    store.set(keyA, new Uint8Array(3000));
    fetched = [];
    const again = await download();
    expect(again.a).toEqual(shardA);
    expect(fetched).toContain('model-00001-of-00002.safetensors');
    expect(fetched).not.toContain('model-00002-of-00002.safetensors');
    expect(again.notices.map((e) => [e.name, e.message])).toEqual([
      ['CorruptWeightsError', 'cache:model-00001-of-00002.safetensors: the cached shard does not match its sha256; downloading it again'],
    ]);
    expect(store.get(keyA)).toEqual(shardA);
  });

  it('a download that does not match its sha256 is refused and not cached', async () => {
    served['model-00002-of-00002.safetensors'] = new Uint8Array(1000);
    const pack = await openPackDownload(BASE, { headers: {}, onProgress: () => undefined, onNotice: () => undefined });
    await expect(pack.read('model-00002-of-00002.safetensors')).rejects.toThrow(/^https:\/\/w\.example\/v1\/pack\/model-00002-of-00002\.safetensors: sha256 is [0-9a-f]{64} but the index says/);
    expect(store.size).toBe(0);
  });

  it('a quota smaller than the shards: one StorageQuotaError notice, downloaded but not cached', async () => {
    quota = 2500;
    const { a, notices } = await download();
    expect(a).toEqual(shardA);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ name: 'StorageQuotaError', neededBytes: 4000, freeBytes: 2500 });
    expect(notices[0].message).toMatch(/^not enough storage quota to cache the model: .*; it runs, but a reload downloads it again$/);
    expect(store.size).toBe(0);
  });

  it('HTTP errors name the URL', async () => {
    vi.stubGlobal('fetch', async () => new Response('', { status: 403 }));
    await expect(openPackDownload(BASE, { headers: {}, onProgress: () => undefined, onNotice: () => undefined })).rejects.toThrow(
      'download of https://w.example/v1/pack/model.safetensors.index.json failed: HTTP 403',
    );
  });
});
