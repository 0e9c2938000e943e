// DESIGN §3: an edge pack, downloaded into the tab (download.ts: every shard already checked
// against its sha256), loaded on a backend in the engine worker. The JSON files come first;
// the memory estimate (serve/fit.ts, for one sequence) is checked against the tab's budget
// before any shard is read, so a model that cannot fit is refused before its download.

import { memorySource } from '../engine/formats/bytes.js';
import type { Backend } from '../engine/core/backend.js';
import { CorruptWeightsError } from '../engine/core/errors.js';
import { openShardedSafetensors } from '../engine/formats/safetensors.js';
import { openSession, type Session } from '../engine/core/session.js';
import { estimatePeakBytes } from '../serve/fit.js';
import { parsePackJson, readPackHeader } from '../serve/pack-header.js';
import { DownloadError, LocalMemoryError } from './errors.js';
import type { PackFiles } from '../serve/pack-files.js';

export interface PackLoadOptions {
  readonly backend: Backend;
  readonly maxContext: number;
  /** Most bytes the model may use in this tab, and where that number comes from. */
  readonly budget: { readonly bytes: number; readonly source: string };
}

async function readJson(files: PackFiles, file: string, required: boolean): Promise<unknown> {
  const bytes = await files.read(file);
  if (bytes === null) {
    if (required) throw new DownloadError(`${files.name}${file}`, 'HTTP 404: the pack has no such file');
    return null;
  }
  return parsePackJson(file, bytes, (detail) => new CorruptWeightsError(`${files.name}${file}`, detail));
}

/**
 * Load a downloaded pack on `backend`: LocalMemoryError before any shard is read when the
 * estimate exceeds the budget.
 * @example const session = await loadDownloadedPack(files, { backend, maxContext: 4096, budget: { bytes: 2 ** 31, source: '…' } });
 */
export async function loadDownloadedPack(files: PackFiles, options: PackLoadOptions): Promise<Session> {
  const { config, tokenizerJson, tokenizerConfig, indexJson, indexName, weightBytes } = await readPackHeader(files, readJson);
  const peak = estimatePeakBytes({ source: files.name, config, weightBytes, maxContext: options.maxContext, concurrency: 1 });
  if (peak.bytes > options.budget.bytes) throw new LocalMemoryError(peak.bytes, options.budget.bytes, options.budget.source);
  const store = await openShardedSafetensors(indexName, indexJson, {
    verify: false, // download.ts checked every shard's sha256 (and a fresh download's size)
    openShard: async (file) => {
      const bytes = await files.read(file);
      if (bytes === null) throw new Error('not found');
      return memorySource(`${files.name}${file}`, bytes);
    },
  });
  try {
    return await openSession({ config, store, tokenizerJson, tokenizerConfig }, options.backend);
  } finally {
    await store.close();
  }
}
