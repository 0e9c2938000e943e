// `ORG/NAME[@REVISION][:TAG]` → a local checkpoint path in the Hugging Face cache (cache.ts).
// A snapshot that already holds what the format needs is used as it is, with no request (the
// revision's commit read from refs/); otherwise the revision's file list comes from the Hub's
// API, the files edgetron needs are chosen (select.ts) and each missing one is downloaded
// (download.ts) and linked into snapshots/<commit>/. HF_HUB_OFFLINE=1 uses the cache only.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, HubNotFoundError, HubOfflineError, HubRefError } from '../errors.js';
import { cachedCommit, COMMIT_ID, hasSnapshotFile, hubCacheDir, isFile, linkSnapshotFile, repoCacheDir, snapshotModelPath, writeRef, type Env } from './cache.js';
import { downloadBlob, type DownloadProgress } from './download.js';
import { fileMeta, hubHttp, repoInfo, type HubHttp, type HubTarget } from './http.js';
import { selectHubFiles, weightsFromIndex } from './select.js';

/** A model on the Hub: repository, revision (branch, tag or commit) and GGUF quantisation tag. */
export interface HubRef {
  readonly repo: string;
  readonly revision: string;
  readonly tag: string | undefined;
}

/** How pullModel reads its environment and reports progress. */
export interface PullOptions {
  /** HF_HOME / HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE are read from here. */
  readonly env: Env;
  /** Ask the Hub for the revision's commit even when the cache already holds the model. */
  readonly refresh?: boolean;
  readonly onProgress?: DownloadProgress;
}

/** A model in the cache: where to open it and which commit it is. */
export interface PulledModel {
  /** What openCheckpoint opens: the snapshot folder, or the `.gguf` file in it. */
  readonly path: string;
  readonly commit: string;
  /** Files fetched by this call (empty when the cache held everything). */
  readonly downloaded: readonly string[];
}

/** `ORG/NAME`, then `@REVISION` (may hold `/`, as in refs/pr/1), then `:TAG`. */
const REF = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([^:@\s]+))?(?::([\w.-]+))?$/;
/** Longest repository name part the Hub allows. */
const MAX_NAME = 96;
/** Truthy spellings huggingface_hub accepts for its boolean variables. */
const TRUTHY = new Set(['1', 'on', 'yes', 'true']);

/**
 * Parse `ORG/NAME[@REVISION][:TAG]`; null when `text` does not have that form (a local path such
 * as `./model` or `/x/y/z`). HubRefError when it has the form but breaks the Hub's naming rules.
 * @example
 * parseHubRef('unsloth/Nemotron-3-Nano-30B-A3B-GGUF:Q4_K_M'); // { repo: 'unsloth/…-GGUF', revision: 'main', tag: 'Q4_K_M' }
 */
export function parseHubRef(text: string): HubRef | null {
  const m = REF.exec(text);
  if (m === null) return null;
  const [, org, name, revision, tag] = m;
  for (const part of [org, name]) {
    if (part.length > MAX_NAME || part.includes('--') || part.includes('..') || part.endsWith('.')) throw new HubRefError(text, `"${part}" is not a valid Hub name (letters, digits, - _ ., no "--" or "..", at most ${MAX_NAME} characters)`);
  }
  if (revision !== undefined && revision.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new HubRefError(text, `"${revision}" is not a valid revision`);
  return { repo: `${org}/${name}`, revision: revision ?? 'main', tag };
}

/**
 * True when HF_HUB_OFFLINE asks for the cache only.
 * @example
 * hubOffline({ HF_HUB_OFFLINE: '1' }); // true
 */
export function hubOffline(env: Env): boolean {
  return TRUTHY.has((env.HF_HUB_OFFLINE ?? '').trim().toLowerCase());
}

/** A file name from the Hub's listing that stays inside the snapshot folder. */
function assertSafeFile(target: HubTarget, file: string): void {
  if (file.startsWith('/') || file.includes('\\') || file.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new HubNotFoundError(target.repo, target.revision, file, 'the Hub listed a file name edgetron will not write');
  }
}

/** Make snapshots/<commit>/<file> present: HEAD for its etag, the blob downloaded unless cached, then linked. True when bytes were fetched. */
async function ensureFile(http: HubHttp, repoDir: string, target: HubTarget & { file: string }, commit: string, onProgress?: DownloadProgress): Promise<boolean> {
  assertSafeFile(target, target.file);
  if (await hasSnapshotFile(repoDir, commit, target.file)) return false;
  const meta = await fileMeta(http, target, commit);
  const blob = join(repoDir, 'blobs', meta.etag);
  const fetched = !(await isFile(blob));
  if (fetched) await downloadBlob(http, meta, blob, target, onProgress);
  await linkSnapshotFile(repoDir, commit, target.file, blob);
  return fetched;
}

/**
 * Make `ref` available in the Hugging Face cache and return the path to open. Reuses a
 * complete snapshot without a request (with `refresh`, only after asking the Hub for the
 * revision's commit); HubOfflineError under HF_HUB_OFFLINE when the cache lacks it.
 * @example
 * const { path } = await pullModel(parseHubRef('nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8')!, { env: process.env });
 * const ckpt = await openCheckpoint(path);
 */
export async function pullModel(ref: HubRef, options: PullOptions): Promise<PulledModel> {
  const { repo, revision, tag } = ref;
  const cacheDir = hubCacheDir(options.env);
  const repoDir = repoCacheDir(cacheDir, repo);
  const offline = hubOffline(options.env);
  const cached = await cachedCommit(repoDir, revision);
  if (cached !== null && (offline || !options.refresh || COMMIT_ID.test(revision))) {
    const path = await snapshotModelPath(repoDir, cached, repo, tag, offline);
    if (path !== null) return { path, commit: cached, downloaded: [] };
  }
  if (offline) throw new HubOfflineError(repo, revision, cacheDir);

  const http = hubHttp(options.env);
  const { sha: commit, files } = await repoInfo(http, { repo, revision });
  await writeRef(repoDir, revision, commit);
  const selection = selectHubFiles(repo, files, tag);
  const downloaded: string[] = [];
  const need = async (file: string) => {
    if (await ensureFile(http, repoDir, { repo, revision, file }, commit, options.onProgress)) downloaded.push(file);
  };
  const snapshot = join(repoDir, 'snapshots', commit);
  if (selection.kind === 'gguf') {
    await need(selection.file);
    return { path: join(snapshot, selection.file), commit, downloaded };
  }
  for (const file of selection.sideFiles) await need(file);
  let weights = selection.weights;
  if (selection.index !== null) {
    await need(selection.index);
    const indexFile = join(snapshot, selection.index);
    try {
      weights = weightsFromIndex(JSON.parse(await readFile(indexFile, 'utf8')));
    } catch (e) {
      throw new CheckpointError(indexFile, `malformed JSON: ${(e as Error).message}`);
    }
    if (weights.length === 0) throw new CheckpointError(indexFile, 'its weight_map names no shard');
    const missing = weights.find((w) => !files.includes(w));
    if (missing !== undefined) throw new HubNotFoundError(repo, revision, missing, `named by ${selection.index} but not in the repository`);
  }
  for (const file of weights) await need(file);
  return { path: snapshot, commit, downloaded };
}
