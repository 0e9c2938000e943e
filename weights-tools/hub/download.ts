// One file from the Hub into the cache's blobs/: bytes land in blobs/<etag>.incomplete, a
// broken-off download resumes there with `Range: bytes=N-` (a server that answers 200 instead
// of 206 restarts it), an LFS file must hash to its sha256 etag, and only a complete, verified
// file is renamed to blobs/<etag>.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HubIntegrityError, HubNetworkError } from '../errors.js';
import { fetchCause, getBytes, type HubFileMeta, type HubHttp, type HubTarget } from './http.js';

/** Bytes of `file` downloaded so far, of `total` (-1 when unknown). */
export type DownloadProgress = (file: string, done: number, total: number) => void;

/** Feed the first bytes of `path` (a partial download) to `hash`. */
async function hashPrefix(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** Write all of `chunk` at the end of `fh`. */
async function writeAll(fh: Awaited<ReturnType<typeof open>>, chunk: Uint8Array): Promise<void> {
  for (let done = 0; done < chunk.byteLength; ) done += (await fh.write(chunk, done, chunk.byteLength - done)).bytesWritten;
}

/**
 * Download `meta.url` into `blob` (resuming `blob`.incomplete), checking its size and, for LFS
 * files, its sha256. A broken-off transfer is a HubNetworkError that keeps the partial file; a
 * wrong hash is a HubIntegrityError that deletes it.
 * @example
 * await downloadBlob(http, meta, join(repoDir, 'blobs', meta.etag), { repo, revision, file }, onProgress);
 */
export async function downloadBlob(http: HubHttp, meta: HubFileMeta, blob: string, target: HubTarget & { file: string }, onProgress?: DownloadProgress): Promise<void> {
  const part = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  let have = (await stat(part).catch(() => null))?.size ?? 0;
  if (meta.size >= 0 && have > meta.size) {
    await unlink(part);
    have = 0;
  }
  let hash = createHash('sha256');
  if (have > 0) await hashPrefix(part, hash);
  if (meta.size < 0 || have < meta.size) {
    let res = await getBytes(http, meta.url, have, target);
    const resumed = res.status === 206 && (res.headers.get('content-range') ?? '').startsWith(`bytes ${have}-`);
    if (have > 0 && !resumed) {
      // 200 is the whole file: write it from byte 0. Anything else (416): ask for the whole file.
      if (res.status !== 200) {
        await res.body?.cancel();
        res = await getBytes(http, meta.url, 0, target);
      }
      have = 0;
      hash = createHash('sha256');
    }
    const fh = await open(part, have > 0 ? 'a' : 'w');
    try {
      if (res.body === null) throw new Error('empty body');
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        await writeAll(fh, chunk);
        hash.update(chunk);
        have += chunk.byteLength;
        onProgress?.(target.file, have, meta.size);
      }
    } catch (e) {
      throw new HubNetworkError(meta.url, `the download of ${target.file} broke off at ${have} of ${meta.size} bytes (${fetchCause(e)}); ${part} is kept and the next run resumes it`);
    } finally {
      await fh.close();
    }
  }
  if (meta.size >= 0 && have < meta.size) {
    throw new HubNetworkError(meta.url, `the download of ${target.file} ended at ${have} of ${meta.size} bytes; ${part} is kept and the next run resumes it`);
  }
  if (meta.size >= 0 && have > meta.size) {
    await unlink(part);
    throw new HubNetworkError(meta.url, `the Hub sent ${have} bytes for ${target.file}, ${meta.size} announced; the download was deleted`);
  }
  if (meta.lfs) {
    const actual = hash.digest('hex');
    if (actual !== meta.etag) {
      await unlink(part);
      throw new HubIntegrityError(`${target.repo}/${target.file}`, meta.etag, actual);
    }
  }
  await rename(part, blob);
}
