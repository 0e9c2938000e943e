// The Hugging Face Hub's HTTP routes, as huggingface_hub uses them:
//   GET  {HF_ENDPOINT}/api/models/{repo}/revision/{rev}   → { sha, siblings: [{ rfilename }] }
//   HEAD {HF_ENDPOINT}/{repo}/resolve/{rev}/{file}         → X-Repo-Commit, ETag or X-Linked-Etag
//        (the sha256 of an LFS file), X-Linked-Size; LFS files redirect to a CDN (Location)
//   GET  the same URL (or the CDN's), with `Range: bytes=N-` to resume
// HF_TOKEN (else the token `huggingface-cli login` saved in $HF_HOME/token) goes as a bearer
// token to the Hub's own hosts only; pre-signed CDN URLs refuse a second credential. HEAD follows
// redirects that stay on the Hub (a renamed repository) and stops at the one to a CDN, whose
// response carries the file's metadata. The Hub's
// X-Error-Code header (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) decides the
// error, as in huggingface_hub: an unknown repository answers 401 to an anonymous caller.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubAccessError, HubNetworkError, HubNotFoundError } from '../errors.js';
import { COMMIT_ID, hfHome, type Env } from './cache.js';

/** The Hub's address and credentials for one pull. */
export interface HubHttp {
  /** HF_ENDPOINT without a trailing slash (default https://huggingface.co). */
  readonly endpoint: string;
  readonly token: string | undefined;
}

/** What a request was for, to name it in errors. */
export interface HubTarget {
  readonly repo: string;
  readonly revision: string;
  readonly file?: string;
}

/** One file's metadata from the resolve route's HEAD. */
export interface HubFileMeta {
  /** ETag, quotes and `W/` removed: the sha256 for LFS files, the git blob id otherwise. */
  readonly etag: string;
  /** Bytes, or -1 when the Hub did not say. */
  readonly size: number;
  /** True when `etag` is an LFS sha256 the download must hash to. */
  readonly lfs: boolean;
  /** Where the bytes come from (the CDN for LFS files). */
  readonly url: string;
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';
/** Redirects followed while they stay on the Hub (a renamed repository), as huggingface_hub does. */
const MAX_HUB_REDIRECTS = 5;
/** Hosts that are the Hub itself (huggingface_hub's HF_URL_HOSTS): the token may go there. */
const HUB_HOSTS = new Set(['hf.co', 'huggingface.co', 'hub-ci.huggingface.co']);
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The Hub address and token from the environment: HF_ENDPOINT, HF_TOKEN (else
 * HUGGING_FACE_HUB_TOKEN, else the file HF_TOKEN_PATH or $HF_HOME/token that the login writes).
 * @example
 * hubHttp({ HF_ENDPOINT: 'http://127.0.0.1:8080/', HF_TOKEN: 'hf_x' }); // { endpoint: 'http://127.0.0.1:8080', token: 'hf_x' }
 */
export function hubHttp(env: Env): HubHttp {
  const endpoint = (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  let token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  if (token === undefined) {
    try {
      token = readFileSync(env.HF_TOKEN_PATH || join(hfHome(env), 'token'), 'utf8').trim() || undefined;
    } catch {
      token = undefined;
    }
  }
  return { endpoint, token };
}

/** An etag as huggingface_hub stores it: no weak prefix, no quotes. */
const normalizeEtag = (etag: string | null) => (etag ?? '').replace(/^W\//, '').replace(/"/g, '');

/**
 * The cause a failed fetch carries (ECONNREFUSED, a closed socket) or its own message.
 * @example
 * fetchCause(await fetch('http://127.0.0.1:1').catch((e) => e)); // 'ECONNREFUSED'
 */
export function fetchCause(e: unknown): string {
  const cause = (e as { cause?: { message?: string; code?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

/** `target` is served by the Hub itself (the host of `from`, of HF_ENDPOINT, or huggingface.co), not a CDN. */
function isHubHost(http: HubHttp, from: string, target: string): boolean {
  const host = new URL(target).hostname.toLowerCase();
  return host === new URL(from).hostname.toLowerCase() || host === new URL(http.endpoint).hostname.toLowerCase() || HUB_HOSTS.has(host);
}

/** Headers for `url`: identity encoding (byte ranges must count raw bytes) and the token on Hub hosts only. */
function headersFor(http: HubHttp, url: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...extra };
  if (http.token !== undefined && isHubHost(http, http.endpoint, url)) headers.Authorization = `Bearer ${http.token}`;
  return headers;
}

/** Throw the named error for a refused request; 2xx and 3xx pass. */
function checkStatus(http: HubHttp, res: Response, url: string, target: HubTarget): void {
  if (res.status < 400) return;
  const code = res.headers.get('x-error-code');
  const { repo, revision, file } = target;
  if (code === 'RepoNotFound') throw new HubNotFoundError(repo, revision, undefined, `no such model repository on ${http.endpoint} (HTTP ${res.status}; if it is private, set HF_TOKEN)`);
  if (code === 'RevisionNotFound') throw new HubNotFoundError(repo, revision, undefined, `no such revision on ${http.endpoint} (HTTP ${res.status})`);
  if (code === 'EntryNotFound') throw new HubNotFoundError(repo, revision, file, `no such file on ${http.endpoint} (HTTP ${res.status})`);
  if (res.status === 401 || res.status === 403) throw new HubAccessError(repo, res.status, http.token !== undefined);
  if (res.status === 404) throw new HubNotFoundError(repo, revision, file, `not found on ${http.endpoint} (HTTP 404 for ${url})`);
  throw new HubNetworkError(url, `the Hub answered HTTP ${res.status} ${res.statusText}`);
}

/** fetch, with a failure to connect turned into HubNetworkError and the status checked. */
async function hubFetch(http: HubHttp, url: string, init: RequestInit, target: HubTarget, allowStatus?: number): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new HubNetworkError(url, `cannot reach the Hub (${fetchCause(e)}); HF_HUB_OFFLINE=1 uses the cache only`);
  }
  if (res.status !== allowStatus) checkStatus(http, res, url, target);
  return res;
}

const encodePath = (file: string) => file.split('/').map(encodeURIComponent).join('/');

/**
 * A revision's commit and file list (`GET /api/models/{repo}/revision/{rev}`).
 * @example
 * const { sha, files } = await repoInfo(http, { repo: 'nvidia/X', revision: 'main' });
 */
export async function repoInfo(http: HubHttp, target: HubTarget): Promise<{ sha: string; files: string[] }> {
  const url = `${http.endpoint}/api/models/${target.repo}/revision/${encodeURIComponent(target.revision)}`;
  const res = await hubFetch(http, url, { headers: headersFor(http, url, { Accept: 'application/json' }) }, target);
  let body: { sha?: unknown; siblings?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch (e) {
    throw new HubNetworkError(url, `the Hub's answer is not JSON (${fetchCause(e)})`);
  }
  const siblings = Array.isArray(body.siblings) ? body.siblings : null;
  if (typeof body.sha !== 'string' || !COMMIT_ID.test(body.sha) || siblings === null) {
    throw new HubNetworkError(url, 'the Hub\'s answer has no commit `sha` and `siblings` list');
  }
  const files = siblings.map((s) => (s as { rfilename?: unknown })?.rfilename).filter((f): f is string => typeof f === 'string');
  return { sha: body.sha, files };
}

/**
 * A file's etag, size and download URL (`HEAD /{repo}/resolve/{commit}/{file}`, redirects on
 * the Hub followed, the CDN redirect not).
 * @example
 * const meta = await fileMeta(http, { repo, revision, file: 'config.json' }, commit);
 */
export async function fileMeta(http: HubHttp, target: HubTarget & { file: string }, commit: string): Promise<HubFileMeta> {
  let url = `${http.endpoint}/${target.repo}/resolve/${commit}/${encodePath(target.file)}`;
  for (let hops = 0; ; hops++) {
    const res = await hubFetch(http, url, { method: 'HEAD', redirect: 'manual', headers: headersFor(http, url) }, target);
    const location = res.headers.get('location');
    const next = location === null ? null : new URL(location, url).href;
    if (res.status >= 300 && next !== null && isHubHost(http, url, next)) {
      if (hops >= MAX_HUB_REDIRECTS) throw new HubNetworkError(url, `more than ${MAX_HUB_REDIRECTS} redirects`);
      url = next;
      continue;
    }
    const linked = normalizeEtag(res.headers.get('x-linked-etag'));
    const etag = linked || normalizeEtag(res.headers.get('etag'));
    if (!/^[\w.-]+$/.test(etag)) throw new HubNetworkError(url, `the Hub sent no usable ETag for ${target.file} (got "${etag}")`);
    const sizeHeader = res.headers.get('x-linked-size') ?? (next === null ? res.headers.get('content-length') : null);
    const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : -1;
    return { etag, size, lfs: linked !== '' && SHA256_HEX.test(linked), url: next ?? url };
  }
}

/**
 * GET a file's bytes from `from` on (a `Range` request when `from` > 0; its 416, a range past
 * the end, is returned for the caller to restart).
 * @example
 * const res = await getBytes(http, meta.url, 0, { repo, revision, file });
 */
export function getBytes(http: HubHttp, url: string, from: number, target: HubTarget): Promise<Response> {
  return hubFetch(http, url, { headers: headersFor(http, url, from > 0 ? { Range: `bytes=${from}-` } : {}) }, target, from > 0 ? 416 : undefined);
}
