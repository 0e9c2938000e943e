// The Hugging Face cache layout, shared with huggingface_hub and transformers:
//   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)
//     models--ORG--NAME/
//       blobs/<etag>                 file contents, named by etag (sha256 for LFS files)
//       blobs/<etag>.incomplete      a download in progress (resumed by byte range)
//       refs/<revision>              the commit a branch or tag pointed at when last fetched
//       snapshots/<commit>/<file>    relative symlink to ../../blobs/<etag>
// A model either tool downloaded is found here without a request.

import { copyFile, lstat, mkdir, readdir, readFile, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { selectHubFiles, weightsFromIndex } from './select.js';

/** Environment variables, as `process.env` or a test's object. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A full commit id (what `refs/<revision>` holds and `snapshots/` is named by). */
export const COMMIT_ID = /^[0-9a-f]{40}$/;

const expandHome = (path: string, env: Env) => (path === '~' || path.startsWith('~/') ? join(env.HOME ?? homedir(), path.slice(1)) : path);

/**
 * HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface (huggingface_hub's own
 * order): where the cache and the login token live.
 * @example
 * hfHome({ HOME: '/home/u' }); // '/home/u/.cache/huggingface'
 */
export function hfHome(env: Env): string {
  return expandHome(env.HF_HOME || join(env.XDG_CACHE_HOME || join(env.HOME ?? homedir(), '.cache'), 'huggingface'), env);
}

/**
 * The hub cache folder: HF_HUB_CACHE, else $HF_HOME/hub (hfHome).
 * @example
 * hubCacheDir({ HF_HOME: '/data/hf' }); // '/data/hf/hub'
 */
export function hubCacheDir(env: Env): string {
  const hub = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  return hub ? expandHome(hub, env) : join(hfHome(env), 'hub');
}

/**
 * The cache folder of model repository `repo` (`ORG/NAME` → `models--ORG--NAME`).
 * @example
 * repoCacheDir('/c', 'nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8'); // '/c/models--nvidia--NVIDIA-Nemotron-3-Nano-30B-A3B-FP8'
 */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, `models--${repo.split('/').join('--')}`);
}

/**
 * The commit `revision` stands for in the cache: itself when it is a commit id, else the content
 * of refs/<revision>; null when the cache has no such ref.
 * @example
 * await cachedCommit(repoDir, 'main'); // '5f1c…' | null
 */
export async function cachedCommit(repoDir: string, revision: string): Promise<string | null> {
  if (COMMIT_ID.test(revision)) return revision;
  try {
    const commit = (await readFile(join(repoDir, 'refs', revision), 'utf8')).trim();
    return COMMIT_ID.test(commit) ? commit : null;
  } catch {
    return null;
  }
}

/**
 * Record that `revision` points at `commit` (refs/<revision>, no newline, as huggingface_hub
 * writes it). Commit ids need no ref.
 * @example
 * await writeRef(repoDir, 'main', commit);
 */
export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const file = join(repoDir, 'refs', revision);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, commit);
}

/**
 * True when `path` exists and (through its symlink) is a file.
 * @example
 * if (await isFile(blob)) return;
 */
export async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

/**
 * Point snapshots/<commit>/<file> at `blob` with a relative symlink (a copy where the file system
 * refuses symlinks), replacing a dangling link.
 * @example
 * await linkSnapshotFile(repoDir, commit, 'config.json', join(repoDir, 'blobs', etag));
 */
export async function linkSnapshotFile(repoDir: string, commit: string, file: string, blob: string): Promise<string> {
  const pointer = join(repoDir, 'snapshots', commit, file);
  await mkdir(dirname(pointer), { recursive: true });
  if (await lstat(pointer).catch(() => null)) await unlink(pointer);
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM' && (e as NodeJS.ErrnoException).code !== 'ENOTSUP') throw e;
    await copyFile(blob, pointer);
  }
  return pointer;
}

/**
 * True when snapshots/<commit>/<file> exists and resolves to a file.
 * @example
 * if (await hasSnapshotFile(repoDir, commit, 'config.json')) return;
 */
export function hasSnapshotFile(repoDir: string, commit: string, file: string): Promise<boolean> {
  return isFile(join(repoDir, 'snapshots', commit, file));
}

/** Every file under `dir`, as '/'-separated paths relative to it. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (await isFile(join(dir, rel))) out.push(rel);
  }
  return out;
}

/**
 * The local path edgetron opens for a cached snapshot, when the snapshot holds every file the
 * format needs (selectHubFiles on its own files; an index's shards all present): the snapshot
 * folder for safetensors, the `.gguf` file for GGUF; null when something is missing. A GGUF tag
 * the snapshot cannot satisfy is a miss too (GgufTagError only surfaces from the Hub's listing).
 * Without a tag, a snapshot's only GGUF is taken only when `untaggedGguf` (offline): the
 * repository may hold other quantisations the snapshot lacks.
 * @example
 * await snapshotModelPath(repoDir, commit, 'nvidia/X', undefined, false); // '/…/snapshots/<commit>' | null
 */
export async function snapshotModelPath(repoDir: string, commit: string, repo: string, tag: string | undefined, untaggedGguf: boolean): Promise<string | null> {
  const dir = join(repoDir, 'snapshots', commit);
  const files = await listFiles(dir);
  if (files.length === 0) return null;
  let selection;
  try {
    selection = selectHubFiles(repo, files, tag);
  } catch {
    return null;
  }
  if (selection.kind === 'gguf') return tag !== undefined || untaggedGguf ? join(dir, selection.file) : null;
  if (!selection.sideFiles.includes('config.json')) return null;
  if (selection.index !== null) {
    let index: unknown = null;
    try {
      index = JSON.parse(await readFile(join(dir, selection.index), 'utf8'));
    } catch {
      return null;
    }
    const shards = weightsFromIndex(index);
    if (shards.length === 0 || !shards.every((s) => files.includes(s))) return null;
  }
  return dir;
}
