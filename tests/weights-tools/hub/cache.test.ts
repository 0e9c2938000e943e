// The cache folder's location and layout, in huggingface_hub's order of environment variables.

import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedCommit, hubCacheDir, linkSnapshotFile, repoCacheDir, snapshotModelPath, writeRef } from '../../../weights-tools/hub/cache.js';

const root = mkdtempSync(join(tmpdir(), 'edgetron-hub-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const C1 = '0123456789abcdef0123456789abcdef01234567';

describe('hubCacheDir', () => {
  it('HF_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME/huggingface/hub, then ~/.cache/huggingface/hub', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/a', HF_HOME: '/b', XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/a');
    expect(hubCacheDir({ HF_HOME: '/b', XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/b/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/c/huggingface/hub');
    expect(hubCacheDir({ HOME: '/h' })).toBe('/h/.cache/huggingface/hub');
    expect(hubCacheDir({ HF_HOME: '~/hf', HOME: '/h' })).toBe('/h/hf/hub');
    expect(repoCacheDir('/a', 'nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8')).toBe('/a/models--nvidia--NVIDIA-Nemotron-3-Nano-30B-A3B-FP8');
  });
});

describe('refs and snapshots', () => {
  it('writes refs as huggingface_hub does (nested for refs/pr/N) and reads them back', async () => {
    const repo = join(root, 'models--o--r');
    await writeRef(repo, 'main', C1);
    await writeRef(repo, 'refs/pr/1', C1);
    expect(readFileSync(join(repo, 'refs', 'main'), 'utf8')).toBe(C1);
    expect(readFileSync(join(repo, 'refs', 'refs', 'pr', '1'), 'utf8')).toBe(C1);
    expect(await cachedCommit(repo, 'refs/pr/1')).toBe(C1);
    expect(await cachedCommit(repo, 'v2')).toBeNull();
    expect(await cachedCommit(repo, C1)).toBe(C1);
  });

  it('links a snapshot file to its blob with a relative symlink, replacing a dangling one', async () => {
    const repo = join(root, 'models--o--s');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    writeFileSync(join(repo, 'blobs', 'e1'), 'x');
    mkdirSync(join(repo, 'snapshots', C1, 'sub'), { recursive: true });
    symlinkSync('../../../blobs/gone', join(repo, 'snapshots', C1, 'sub', 'f.json'));
    const pointer = await linkSnapshotFile(repo, C1, 'sub/f.json', join(repo, 'blobs', 'e1'));
    expect(lstatSync(pointer).isSymbolicLink()).toBe(true);
    expect(readlinkSync(pointer)).toBe('../../../blobs/e1');
    expect(readFileSync(pointer, 'utf8')).toBe('x');
  });

  it('a snapshot counts only when config.json and every indexed shard resolve', async () => {
    const repo = join(root, 'models--o--t');
    const snap = join(repo, 'snapshots', C1);
    mkdirSync(snap, { recursive: true });
    writeFileSync(join(snap, 'model.safetensors'), 'w');
    expect(await snapshotModelPath(repo, C1, 'o/t', undefined, false)).toBeNull(); // no config.json
    writeFileSync(join(snap, 'config.json'), '{}');
    expect(await snapshotModelPath(repo, C1, 'o/t', undefined, false)).toBe(snap);
    writeFileSync(join(snap, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model.safetensors', b: 'model-2.safetensors' } }));
    expect(await snapshotModelPath(repo, C1, 'o/t', undefined, false)).toBeNull(); // model-2 missing
    symlinkSync('../../blobs/none', join(snap, 'model-2.safetensors'));
    expect(await snapshotModelPath(repo, C1, 'o/t', undefined, false)).toBeNull(); // dangling link
  });
});
