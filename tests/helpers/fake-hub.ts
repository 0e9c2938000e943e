// A local HTTP server that speaks the Hugging Face Hub's routes the way huggingface.co does:
//   GET  /api/models/ORG/NAME/revision/REV   → { sha, siblings: [{ rfilename }] }
//   GET  /api/models/ORG/NAME/tree/REV       → [{ type, path, oid, size, lfs? }] (huggingface_hub's
//        snapshot_download lists files this way)
//   HEAD|GET /ORG/NAME/resolve/REV/FILE      → git files: 200 with ETag = git blob sha1;
//        LFS files (*.safetensors, *.gguf): 302 to the CDN with X-Linked-Etag (the sha256),
//        X-Linked-Size, X-Repo-Commit
//   GET  http://localhost:CDN_PORT/cdn/<sha256> → the bytes, 206 for `Range: bytes=N-`; the CDN is
//        another host, as on the real Hub, so clients stop their HEAD at the redirect
// Unknown repositories answer 401 with X-Error-Code RepoNotFound (as the Hub answers anonymous
// callers); a gated one lists its files to anyone but serves them only with the right bearer
// token (401 GatedRepo without a token, 403 with another). Faults can be injected:
// drop the connection after N bytes of a file (once), or serve a file with a flipped byte.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  readonly commit: string;
  readonly files: Readonly<Record<string, Uint8Array | string>>;
  /** Bearer token the repository requires (a gated repository); none when absent. */
  readonly token?: string;
}

export interface FakeRequest {
  readonly method: string;
  readonly url: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

export interface FakeHub {
  /** http://127.0.0.1:PORT, for HF_ENDPOINT. */
  readonly endpoint: string;
  /** Every request, in order. */
  readonly requests: FakeRequest[];
  /** Drop the connection after this many body bytes of the file, once. */
  readonly dropAfter: Map<string, number>;
  /** Serve these files with their first byte flipped (the etag stays the true sha256). */
  readonly corrupt: Set<string>;
  /** Answer every request with the whole file (200), as a server without byte ranges does. */
  ignoreRanges: boolean;
  close(): Promise<void>;
}

const isLfs = (file: string) => /\.(safetensors|gguf)$/.test(file);
const bytesOf = (v: Uint8Array | string) => (typeof v === 'string' ? new TextEncoder().encode(v) : v);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The id git gives a blob: sha1 of `blob <size>\0` + content. */
export const gitBlobId = (b: Uint8Array) => createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');

/**
 * Start a fake Hub serving `repos` (keyed `ORG/NAME`) on 127.0.0.1.
 * @example
 * const hub = await startFakeHub({ 'org/m': { commit, files: { 'config.json': '{}' } } });
 * await pullModel(ref, { env: { HF_ENDPOINT: hub.endpoint, HF_HOME: dir } });
 */
export async function startFakeHub(repos: Readonly<Record<string, FakeRepo>>): Promise<FakeHub> {
  const requests: FakeRequest[] = [];
  const dropAfter = new Map<string, number>();
  const corrupt = new Set<string>();
  const blobs = new Map<string, { repo: string; file: string }>();
  let cdnOrigin = '';
  const hub = { endpoint: '', requests, dropAfter, corrupt, ignoreRanges: false, close: async () => {} } as FakeHub;
  for (const [repo, r] of Object.entries(repos)) for (const [file, v] of Object.entries(r.files)) if (isLfs(file)) blobs.set(sha256(bytesOf(v)), { repo, file });

  const fail = (res: ServerResponse, status: number, code?: string) => {
    res.writeHead(status, code ? { 'X-Error-Code': code } : {});
    res.end(code ?? '');
  };

  /** The repository if the caller may read it (a gated one's card and listing are public, its files not); otherwise the refusal is sent and null returned. */
  const access = (req: IncomingMessage, res: ServerResponse, repo: string, files: boolean): FakeRepo | null => {
    const r = repos[repo];
    if (r === undefined) return fail(res, 401, 'RepoNotFound'), null;
    if (files && r.token !== undefined && req.headers.authorization !== `Bearer ${r.token}`) return fail(res, req.headers.authorization ? 403 : 401, 'GatedRepo'), null;
    return r;
  };

  const sendBytes = (req: IncomingMessage, res: ServerResponse, file: string, data: Uint8Array, headers: Record<string, string>) => {
    let body = data;
    if (corrupt.has(file)) {
      body = Uint8Array.from(data);
      body[0] ^= 0xff;
    }
    const m = hub.ignoreRanges ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    if (from > body.byteLength) return fail(res, 416);
    const status = m ? 206 : 200;
    const slice = body.subarray(from);
    res.writeHead(status, { ...headers, 'Content-Length': String(slice.byteLength), ...(m ? { 'Content-Range': `bytes ${from}-${body.byteLength - 1}/${body.byteLength}` } : {}) });
    if (req.method === 'HEAD') return res.end();
    const drop = dropAfter.get(file);
    if (drop !== undefined && drop < slice.byteLength) {
      dropAfter.delete(file);
      res.write(slice.subarray(0, drop), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    res.end(slice);
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? 'GET', url: url.pathname, range: req.headers.range, authorization: req.headers.authorization });
    const path = decodeURIComponent(url.pathname);
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (m) {
      const r = access(req, res, m[1], false);
      if (r === null) return;
      if (m[2] !== 'main' && m[2] !== r.commit) return fail(res, 404, 'RevisionNotFound');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ id: m[1], sha: r.commit, siblings: Object.keys(r.files).map((rfilename) => ({ rfilename })) }));
    }
    m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(path);
    if (m) {
      const r = access(req, res, m[1], false);
      if (r === null) return;
      if (m[2] !== 'main' && m[2] !== r.commit) return fail(res, 404, 'RevisionNotFound');
      const tree = Object.entries(r.files).map(([file, v]) => {
        const b = bytesOf(v);
        return { type: 'file', path: file, oid: gitBlobId(b), size: b.byteLength, ...(isLfs(file) ? { lfs: { oid: sha256(b), size: b.byteLength, pointerSize: 134 } } : {}) };
      });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(tree));
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m) {
      const r = access(req, res, m[1], true);
      if (r === null) return;
      if (m[2] !== 'main' && m[2] !== r.commit) return fail(res, 404, 'RevisionNotFound');
      const v = r.files[m[3]];
      if (v === undefined) return fail(res, 404, 'EntryNotFound');
      const data = bytesOf(v);
      if (isLfs(m[3])) {
        const sha = sha256(data);
        res.writeHead(302, { Location: `${cdnOrigin}/cdn/${sha}`, 'X-Repo-Commit': r.commit, 'X-Linked-Etag': `"${sha}"`, 'X-Linked-Size': String(data.byteLength), ETag: `"${gitBlobId(data)}"` });
        return res.end();
      }
      return sendBytes(req, res, m[3], data, { ETag: `"${gitBlobId(data)}"`, 'X-Repo-Commit': r.commit });
    }
    m = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    const blob = m ? blobs.get(m[1]) : undefined;
    if (blob) return sendBytes(req, res, blob.file, bytesOf(repos[blob.repo].files[blob.file]), { ETag: `"${m![1]}"` });
    fail(res, 404);
  };
  const server = createServer(handler);
  const cdn = createServer(handler);
  for (const s of [server, cdn]) await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cdnOrigin = `http://localhost:${(cdn.address() as AddressInfo).port}`;
  Object.assign(hub, {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      Promise.all(
        [server, cdn].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      ).then(() => undefined),
  });
  return hub;
}
