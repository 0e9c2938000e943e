// resolveModelArg: which model arguments go to the Hub, and the download progress on a terminal.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../cli/io.js';
import { resolveModelArg } from '../../cli/model-arg.js';
import { startFakeHub, type FakeHub } from '../helpers/fake-hub.js';

const COMMIT = '1'.repeat(40);
let hub: FakeHub;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'edgetron-model-arg-'));
  hub = await startFakeHub({ 'org/m-GGUF': { commit: COMMIT, files: { 'm-Q8_0.gguf': new Uint8Array(3 << 20).fill(1), 'm-Q4_0.gguf': new Uint8Array(10) } } });
});
afterAll(async () => {
  await hub.close();
  rmSync(tmp, { recursive: true, force: true });
});

function io(isTTY: boolean, home: string): { io: CliIO; err: () => string } {
  let err = '';
  return { io: { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s), isTTY }, env: { HF_HOME: join(tmp, home), HF_ENDPOINT: hub.endpoint } }, err: () => err };
}

describe('resolveModelArg', () => {
  it('passes through nothing, "default", existing paths and non-references without a request', async () => {
    const { io: quiet } = io(false, 'a');
    for (const arg of [undefined, 'default', tmp, './missing/dir', 'missing', '/abs/missing/x']) expect(await resolveModelArg(arg, quiet)).toBe(arg);
    expect(hub.requests).toEqual([]);
  });

  it('draws a progress line per file on a terminal and nothing elsewhere', async () => {
    const tty = io(true, 'tty');
    const path = await resolveModelArg('org/m-GGUF:Q8_0', tty.io);
    expect(path).toBe(join(tmp, 'tty', 'hub', 'models--org--m-GGUF', 'snapshots', COMMIT, 'm-Q8_0.gguf'));
    expect(tty.err()).toMatch(/^(\rdownload m-Q8_0\.gguf: \d+% \([\d.]+ MiB of 3\.0 MiB, ETA \d+ s\))+\n$/);
    expect(tty.err()).toContain('\rdownload m-Q8_0.gguf: 100% (3.0 MiB of 3.0 MiB');
    const pipe = io(false, 'pipe');
    expect(await resolveModelArg('org/m-GGUF:Q8_0', pipe.io)).toBe(join(tmp, 'pipe', 'hub', 'models--org--m-GGUF', 'snapshots', COMMIT, 'm-Q8_0.gguf'));
    expect(pipe.err()).toBe('');
  });
});
