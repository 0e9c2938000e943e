// The Hub client against a local server that speaks the Hub's API and resolve routes
// (tests/helpers/fake-hub.ts): the cache layout huggingface_hub writes, resume after a dropped
// connection, a corrupted file, reuse of a hand-made huggingface_hub cache with no request,
// offline mode, a gated repository, GGUF tag selection, and the errors for 404 and no network.

import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GgufTagError, HubAccessError, HubIntegrityError, HubNetworkError, HubNotFoundError, HubOfflineError, HubRefError } from '../../../weights-tools/errors.js';
import { parseHubRef, pullModel, type HubRef } from '../../../weights-tools/hub/pull.js';
import { freePort } from '../../helpers/free-port.js';
import { gitBlobId, startFakeHub, type FakeHub } from '../../helpers/fake-hub.js';

const COMMIT = 'a'.repeat(39) + '1';
const OTHER_COMMIT = 'b'.repeat(40);
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Deterministic bytes (a counter pattern), `n` long. */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

const SHARD1 = pattern(300_000, 1);
const SHARD2 = pattern(200_000, 2);
const INDEX = JSON.stringify({ metadata: { total_size: 500_000 }, weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' } });
const SAFETENSORS_REPO = {
  commit: COMMIT,
  files: {
    'config.json': '{"model_type":"nemotron_h"}',
    'tokenizer.json': '{"model":{}}',
    'tokenizer_config.json': '{"chat_template":"x"}',
    'generation_config.json': '{}',
    'model.safetensors.index.json': INDEX,
    'model-00001-of-00002.safetensors': SHARD1,
    'model-00002-of-00002.safetensors': SHARD2,
    'consolidated.safetensors': pattern(1000, 3), // not in the index: not fetched
    'README.md': '# model card',
    'original/params.json': '{}',
  },
};
const GGUF_REPO = {
  commit: OTHER_COMMIT,
  files: {
    'X-Q4_K_M.gguf': pattern(5000, 4),
    'X-UD-Q4_K_XL.gguf': pattern(6000, 5),
    'X-Q8_0.gguf': pattern(7000, 6),
    'X-Q4_K_S.gguf': pattern(4000, 7),
    'mmproj-F16.gguf': pattern(100, 8),
    'README.md': 'gguf card',
  },
};

let hub: FakeHub;
let root: string;
let home: string;
let n = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgetron-hub-'));
  hub = await startFakeHub({
    'nvidia/Tiny-BF16': SAFETENSORS_REPO,
    'community/X-GGUF': GGUF_REPO,
    'nvidia/Gated-FP8': { ...SAFETENSORS_REPO, token: 'hf_secret' },
  });
});
afterAll(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => {
  hub.requests.length = 0;
  hub.dropAfter.clear();
  hub.corrupt.clear();
  hub.ignoreRanges = false;
});

/** A fresh HF_HOME and the environment that points at it and at the fake Hub. */
function freshEnv(extra: Record<string, string> = {}): Record<string, string> {
  home = join(root, `home${n++}`);
  return { HF_HOME: home, HF_ENDPOINT: hub.endpoint, ...extra };
}
const ref = (text: string) => parseHubRef(text) as HubRef;
const repoDir = (repo: string) => join(home, 'hub', `models--${repo.replace('/', '--')}`);

describe('parseHubRef', () => {
  it('reads ORG/NAME, @REVISION and :TAG; local-looking paths are not references', () => {
    expect(parseHubRef('nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8')).toEqual({ repo: 'nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8', revision: 'main', tag: undefined });
    expect(parseHubRef('unsloth/X-GGUF@v1.0:UD-Q4_K_XL')).toEqual({ repo: 'unsloth/X-GGUF', revision: 'v1.0', tag: 'UD-Q4_K_XL' });
    expect(parseHubRef('org/name@refs/pr/3')).toEqual({ repo: 'org/name', revision: 'refs/pr/3', tag: undefined });
    for (const local of ['./model', '/abs/model', 'a/b/c', 'model', '../x/y', 'C:\\models\\x']) expect(parseHubRef(local)).toBeNull();
    expect(() => parseHubRef('org/na--me')).toThrow(HubRefError);
    expect(() => parseHubRef('org/name@../../etc')).toThrow(HubRefError);
  });
});

describe('pullModel', () => {
  it('downloads what a safetensors checkpoint needs into the huggingface_hub layout', async () => {
    const env = freshEnv();
    const pulled = await pullModel(ref('nvidia/Tiny-BF16'), { env });
    const dir = repoDir('nvidia/Tiny-BF16');
    const snapshot = join(dir, 'snapshots', COMMIT);
    expect(pulled.path).toBe(snapshot);
    expect(pulled.commit).toBe(COMMIT);
    expect([...pulled.downloaded].sort()).toEqual(['config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readFileSync(join(dir, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    // LFS files are blobs named by sha256, git files by their git blob id; snapshots hold relative symlinks.
    const shardLink = join(snapshot, 'model-00001-of-00002.safetensors');
    expect(lstatSync(shardLink).isSymbolicLink()).toBe(true);
    expect(readlinkSync(shardLink)).toBe(`../../blobs/${sha256(SHARD1)}`);
    expect(readlinkSync(join(snapshot, 'config.json'))).toBe(`../../blobs/${gitBlobId(new TextEncoder().encode(SAFETENSORS_REPO.files['config.json']))}`);
    expect(sha256(readFileSync(shardLink))).toBe(sha256(SHARD1));
    expect(sha256(readFileSync(join(snapshot, 'model-00002-of-00002.safetensors')))).toBe(sha256(SHARD2));
    for (const skipped of ['consolidated.safetensors', 'README.md', 'original/params.json']) expect(existsSync(join(snapshot, skipped))).toBe(false);
    expect(hub.requests.some((r) => r.url.includes('consolidated') || r.url.includes('README'))).toBe(false);

    // The second time nothing is requested: refs/main → commit → a complete snapshot.
    hub.requests.length = 0;
    const again = await pullModel(ref('nvidia/Tiny-BF16'), { env });
    expect(again).toEqual({ path: snapshot, commit: COMMIT, downloaded: [] });
    expect(hub.requests).toEqual([]);
    // refresh asks the Hub for the commit (one API call) and downloads nothing.
    const refreshed = await pullModel(ref('nvidia/Tiny-BF16'), { env, refresh: true });
    expect(refreshed.downloaded).toEqual([]);
    expect(hub.requests.map((r) => r.url)).toEqual(['/api/models/nvidia/Tiny-BF16/revision/main']);
  });

  it('resumes a download the server broke off, with a Range request from the bytes kept', async () => {
    const env = freshEnv();
    hub.dropAfter.set('model-00001-of-00002.safetensors', 100_000);
    const err = await pullModel(ref('nvidia/Tiny-BF16'), { env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubNetworkError);
    expect((err as Error).message).toMatch(/model-00001-of-00002\.safetensors broke off at \d+ of 300000 bytes.*kept.*resumes/);
    const part = join(repoDir('nvidia/Tiny-BF16'), 'blobs', `${sha256(SHARD1)}.incomplete`);
    const kept = statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(100_000);
    expect(sha256(readFileSync(part))).toBe(sha256(SHARD1.subarray(0, kept)));

    hub.requests.length = 0;
    const progress: number[] = [];
    const pulled = await pullModel(ref('nvidia/Tiny-BF16'), { env, onProgress: (file, done, total) => file === 'model-00001-of-00002.safetensors' && progress.push(done, total) });
    const ranged = hub.requests.filter((r) => r.range !== undefined);
    expect(ranged).toEqual([expect.objectContaining({ method: 'GET', url: `/cdn/${sha256(SHARD1)}`, range: `bytes=${kept}-` })]);
    expect(sha256(readFileSync(join(pulled.path, 'model-00001-of-00002.safetensors')))).toBe(sha256(SHARD1));
    expect(existsSync(part)).toBe(false);
    expect(progress.slice(-2)).toEqual([300_000, 300_000]);
  });

  it('starts over when the server answers a Range request with the whole file', async () => {
    const env = freshEnv();
    hub.dropAfter.set('model-00002-of-00002.safetensors', 50_000);
    await expect(pullModel(ref('nvidia/Tiny-BF16'), { env })).rejects.toThrow(HubNetworkError);
    hub.ignoreRanges = true;
    hub.requests.length = 0;
    const pulled = await pullModel(ref('nvidia/Tiny-BF16'), { env });
    expect(hub.requests.filter((r) => r.range !== undefined)).toHaveLength(1);
    expect(sha256(readFileSync(join(pulled.path, 'model-00002-of-00002.safetensors')))).toBe(sha256(SHARD2));
  });

  it('deletes a download whose sha256 is not the etag, and says so', async () => {
    const env = freshEnv();
    hub.corrupt.add('model-00002-of-00002.safetensors');
    const err = await pullModel(ref('nvidia/Tiny-BF16'), { env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubIntegrityError);
    expect((err as Error).message).toContain(`nvidia/Tiny-BF16/model-00002-of-00002.safetensors: sha256 `);
    expect((err as Error).message).toContain(`does not match the Hub's ${sha256(SHARD2)}`);
    const blob = join(repoDir('nvidia/Tiny-BF16'), 'blobs', sha256(SHARD2));
    expect(existsSync(blob)).toBe(false);
    expect(existsSync(`${blob}.incomplete`)).toBe(false);
    expect(existsSync(join(repoDir('nvidia/Tiny-BF16'), 'snapshots', COMMIT, 'model-00002-of-00002.safetensors'))).toBe(false);
    // Once the server is right again, the next pull completes.
    hub.corrupt.clear();
    const pulled = await pullModel(ref('nvidia/Tiny-BF16'), { env });
    expect(sha256(readFileSync(join(pulled.path, 'model-00002-of-00002.safetensors')))).toBe(sha256(SHARD2));
  });

  /** Lay out `files` for `repo` at `commit` as huggingface_hub does (blobs, relative symlinks, refs/main). */
  function handMadeCache(repo: string, commit: string, files: Record<string, string>): string {
    const dir = repoDir(repo);
    mkdirSync(join(dir, 'blobs'), { recursive: true });
    mkdirSync(join(dir, 'snapshots', commit), { recursive: true });
    mkdirSync(join(dir, 'refs'), { recursive: true });
    writeFileSync(join(dir, 'refs', 'main'), commit);
    for (const [file, text] of Object.entries(files)) {
      const etag = sha256(text);
      writeFileSync(join(dir, 'blobs', etag), text);
      symlinkSync(`../../blobs/${etag}`, join(dir, 'snapshots', commit, file));
    }
    return join(dir, 'snapshots', commit);
  }

  it('finds a model huggingface_hub cached without a request (and a GGUF by its tag)', async () => {
    const env = freshEnv();
    const snapshot = handMadeCache('someone/Cached', OTHER_COMMIT, {
      'config.json': '{}',
      'tokenizer.json': '{}',
      'model.safetensors.index.json': JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }),
      'model-00001-of-00002.safetensors': 'one',
      'model-00002-of-00002.safetensors': 'two',
    });
    expect(await pullModel(ref('someone/Cached'), { env })).toEqual({ path: snapshot, commit: OTHER_COMMIT, downloaded: [] });
    expect(await pullModel(ref(`someone/Cached@${OTHER_COMMIT}`), { env })).toEqual({ path: snapshot, commit: OTHER_COMMIT, downloaded: [] });
    const gguf = handMadeCache('someone/Cached-GGUF', OTHER_COMMIT, { 'M-Q4_K_M.gguf': 'q4', 'M-Q8_0.gguf': 'q8' });
    expect((await pullModel(ref('someone/Cached-GGUF:q8_0'), { env })).path).toBe(join(gguf, 'M-Q8_0.gguf'));
    expect(hub.requests).toEqual([]);
    // HF_HUB_CACHE takes precedence over HF_HOME.
    expect((await pullModel(ref('someone/Cached'), { env: { HF_HUB_CACHE: join(home, 'hub'), HF_HOME: '/nonexistent', HF_ENDPOINT: hub.endpoint } })).path).toBe(snapshot);
    expect(hub.requests).toEqual([]);
  });

  it('HF_HUB_OFFLINE uses the cache only and names what is missing', async () => {
    const env = freshEnv({ HF_HUB_OFFLINE: '1' });
    const err = await pullModel(ref('nvidia/Tiny-BF16'), { env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubOfflineError);
    expect((err as Error).message).toMatch(/^nvidia\/Tiny-BF16@main: not in the Hugging Face cache .*hub, and HF_HUB_OFFLINE is set/);
    expect(hub.requests).toEqual([]);
    // A shard missing from the snapshot is a miss too, not a half model.
    const snapshot = handMadeCache('nvidia/Tiny-BF16', COMMIT, { 'config.json': '{}', 'model.safetensors.index.json': INDEX, 'model-00001-of-00002.safetensors': 'x' });
    await expect(pullModel(ref('nvidia/Tiny-BF16'), { env })).rejects.toThrow(HubOfflineError);
    // Online, the missing shard alone is fetched; then offline finds the whole model.
    const online = await pullModel(ref('nvidia/Tiny-BF16'), { env: { ...env, HF_HUB_OFFLINE: '0' } });
    expect(online.downloaded).toContain('model-00002-of-00002.safetensors');
    expect(online.downloaded).not.toContain('model-00001-of-00002.safetensors');
    hub.requests.length = 0;
    expect((await pullModel(ref('nvidia/Tiny-BF16'), { env })).path).toBe(snapshot);
    expect(hub.requests).toEqual([]);
  });

  it('a gated repository without HF_TOKEN is a 401 that names HF_TOKEN and the repository; with it, the download works', async () => {
    const env = freshEnv();
    const err = await pullModel(ref('nvidia/Gated-FP8'), { env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubAccessError);
    expect((err as Error).message).toMatch(/^nvidia\/Gated-FP8: the Hub refused access \(HTTP 401\).*gated or private.*set HF_TOKEN/);
    const wrong = await pullModel(ref('nvidia/Gated-FP8'), { env: { ...env, HF_TOKEN: 'hf_wrong' } }).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/^nvidia\/Gated-FP8: the Hub refused access \(HTTP 403\) with the token in HF_TOKEN/);
    hub.requests.length = 0;
    const pulled = await pullModel(ref('nvidia/Gated-FP8'), { env: { ...env, HF_TOKEN: 'hf_secret' } });
    expect(pulled.downloaded).toHaveLength(7);
    // The token goes to the Hub, never to the CDN's signed URLs.
    const [toCdn, toHub] = [hub.requests.filter((r) => r.url.startsWith('/cdn/')), hub.requests.filter((r) => !r.url.startsWith('/cdn/'))];
    expect(toCdn).toHaveLength(2);
    expect(toHub.length).toBeGreaterThan(7);
    expect(toHub.every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
    expect(toCdn.every((r) => r.authorization === undefined)).toBe(true);
    // The token huggingface-cli login saves ($HF_HOME/token) is used when HF_TOKEN is unset.
    const env2 = freshEnv();
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'token'), 'hf_secret\n');
    expect((await pullModel(ref('nvidia/Gated-FP8'), { env: env2 })).downloaded).toHaveLength(7);
  });

  it('chooses one GGUF by its tag, case-insensitively, and lists the tags when none or several fit', async () => {
    const env = freshEnv();
    const pulled = await pullModel(ref('community/X-GGUF:q4_k_m'), { env });
    expect(pulled.path).toBe(join(repoDir('community/X-GGUF'), 'snapshots', OTHER_COMMIT, 'X-Q4_K_M.gguf'));
    expect(pulled.downloaded).toEqual(['X-Q4_K_M.gguf']);
    expect(sha256(readFileSync(pulled.path))).toBe(sha256(GGUF_REPO.files['X-Q4_K_M.gguf']));
    expect(hub.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/cdn/'))).toHaveLength(1);
    const noTag = await pullModel(ref('community/X-GGUF'), { env }).catch((e: unknown) => e);
    expect(noTag).toBeInstanceOf(GgufTagError);
    expect((noTag as Error).message).toBe('community/X-GGUF: the repository has 4 GGUF quantisations; name one with :TAG; choose one of: community/X-GGUF:Q4_K_M, community/X-GGUF:Q4_K_S, community/X-GGUF:Q8_0, community/X-GGUF:UD-Q4_K_XL');
    const unknown = await pullModel(ref('community/X-GGUF:Q5_K_M'), { env }).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(/^community\/X-GGUF:Q5_K_M: no \.gguf file has this tag; choose one of: .*:Q4_K_M, .*:Q4_K_S, .*:Q8_0, .*:UD-Q4_K_XL$/);
    expect((await pullModel(ref('community/X-GGUF:Q4_K_XL'), { env })).downloaded).toEqual(['X-UD-Q4_K_XL.gguf']);
  });

  it('404s name the repository, revision or file; an unreachable Hub is a network error', async () => {
    const env = freshEnv();
    await expect(pullModel(ref('nobody/Nothing'), { env })).rejects.toThrow(/^nobody\/Nothing@main: no such model repository on http:\/\/127\.0\.0\.1:\d+ \(HTTP 401; if it is private, set HF_TOKEN\)$/);
    await expect(pullModel(ref('nvidia/Tiny-BF16@v9'), { env })).rejects.toThrow(HubNotFoundError);
    await expect(pullModel(ref('nvidia/Tiny-BF16@v9'), { env })).rejects.toThrow(/^nvidia\/Tiny-BF16@v9: no such revision/);
    const port = await freePort();
    const err = await pullModel(ref('nvidia/Tiny-BF16'), { env: { ...env, HF_ENDPOINT: `http://127.0.0.1:${port}` } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubNetworkError);
    expect((err as Error).message).toMatch(/cannot reach the Hub \(ECONNREFUSED\); HF_HUB_OFFLINE=1 uses the cache only/);
  });
});
