// embed/load.ts on the committed default pack, read from disk as the download would hand it
// over: it loads and generates on the wasm backend; a budget it cannot fit is refused with
// LocalMemoryError before any shard is read; a pack without config.json names the file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../assembly/backend/index.js';
import { LocalMemoryError } from '../../embed/errors.js';
import { loadDownloadedPack } from '../../embed/load.js';
import type { PackFiles } from '../../serve/pack-files.js';

const PACK = fileURLToPath(new URL('../../assets/packs/default/', import.meta.url));

/** The pack's files, with a log of what was read. */
function packFiles(omit: string[] = []): PackFiles & { reads: string[] } {
  const reads: string[] = [];
  return {
    name: 'disk:',
    reads,
    async read(file) {
      reads.push(file);
      if (omit.includes(file)) return null;
      try {
        return new Uint8Array(readFileSync(PACK + file));
      } catch {
        return null;
      }
    },
  };
}

describe('loadDownloadedPack', () => {
  it('loads the default pack on wasm: a session that encodes, with the pack\'s stop ids', async () => {
    const files = packFiles();
    const session = await loadDownloadedPack(files, { backend: wasmBackend, maxContext: 256, budget: { bytes: 2 ** 30, source: 'test' } });
    try {
      expect(session.model.ops.backend).toBe('wasm');
      expect(session.text).not.toBeNull();
      expect(session.text!.encode('Hello').length).toBeGreaterThan(0);
      expect(files.reads.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(0);
    } finally {
      session.dispose();
    }
  });

  it('a budget the model cannot fit: LocalMemoryError naming the budget, before any shard is read', async () => {
    const files = packFiles();
    const err = await loadDownloadedPack(files, { backend: wasmBackend, maxContext: 256, budget: { bytes: 2 ** 20, source: 'the test budget' } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(LocalMemoryError);
    expect((err as Error).message).toMatch(/^not enough memory to run the model in this tab: it needs about [\d.]+ MiB and the test budget allows 1\.0 MiB/);
    expect(files.reads.filter((f) => f.endsWith('.safetensors'))).toEqual([]);
  });

  it('a pack without config.json: the error names the file', async () => {
    await expect(loadDownloadedPack(packFiles(['config.json']), { backend: wasmBackend, maxContext: 256, budget: { bytes: 2 ** 30, source: 'test' } })).rejects.toThrow(
      'download of disk:config.json failed: HTTP 404: the pack has no such file',
    );
  });
});
