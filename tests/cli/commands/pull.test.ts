// `edgetron pull` and `--model ORG/NAME` against a local server that speaks the Hub's routes
// (tests/helpers/fake-hub.ts), serving a synthesized tiny checkpoint: the model opened from the
// cache tokenizes exactly as the same folder opened from disk.

import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { startFakeHub, type FakeHub } from '../../helpers/fake-hub.js';
import { FIXTURES } from '../../helpers/fixtures.js';
import { freePort } from '../../helpers/free-port.js';

const COMMIT = 'c0ffee'.padEnd(40, '0');
let tmp: string;
let local: string;
const gguf = `${FIXTURES}moe/model-q8_0.gguf`;
let hub: FakeHub;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'edgetron-pull-'));
  local = join(tmp, 'tiny');
  expect((await runCli(['synth', '--preset', 'tiny', '--seed', '1', '--out', local])).code).toBe(0);
  const files = Object.fromEntries(readdirSync(local).map((f) => [f, new Uint8Array(readFileSync(join(local, f)))]));
  const ggufFiles = { 'tiny-Q8_0.gguf': new Uint8Array(readFileSync(gguf)), 'tiny-F16.gguf': new Uint8Array(readFileSync(`${FIXTURES}moe/model-f16.gguf`)), 'README.md': 'card' };
  hub = await startFakeHub({ 'edgetron/tiny': { commit: COMMIT, files }, 'nvidia/gated': { commit: COMMIT, files, token: 'hf_ok' }, 'edgetron/tiny-GGUF': { commit: COMMIT, files: ggufFiles } });
});
afterEach(() => {
  hub.requests.length = 0;
});
afterAll(async () => {
  await hub.close();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
const env = (extra: Record<string, string> = {}) => ({ HF_HOME: join(tmp, `hf${n++}`), HF_ENDPOINT: hub.endpoint, ...extra });

describe('edgetron pull', () => {
  it('prints the snapshot path, and --model ORG/NAME then opens it from the cache without a request', async () => {
    const e = env();
    const pulled = await runCli(['pull', 'edgetron/tiny'], e);
    expect(pulled.code).toBe(0);
    const snapshot = join(e.HF_HOME, 'hub', 'models--edgetron--tiny', 'snapshots', COMMIT);
    expect(pulled.stdout).toBe(`${snapshot}\n`);
    expect(pulled.stderr).toMatch(/^pull: edgetron\/tiny@main \(commit c0ffee000000\): \d+ files downloaded\n$/);

    hub.requests.length = 0;
    const fromHub = await runCli(['tokenize', '--model', 'edgetron/tiny', '--text', 'hello world'], e);
    const fromDisk = await runCli(['tokenize', '--model', local, '--text', 'hello world']);
    expect(fromHub).toEqual({ code: 0, stdout: fromDisk.stdout, stderr: '' });
    expect(JSON.parse(fromDisk.stdout).length).toBeGreaterThan(0);
    const inspected = await runCli(['inspect', 'edgetron/tiny@main'], e);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toBe((await runCli(['inspect', local])).stdout.replaceAll(local, snapshot));
    expect(hub.requests).toEqual([]);

    // pull again asks for the commit only, and downloads nothing.
    const again = await runCli(['pull', 'edgetron/tiny'], e);
    expect(again.stderr).toBe('pull: edgetron/tiny@main (commit c0ffee000000): already in the cache\n');
    expect(hub.requests.map((r) => r.url)).toEqual(['/api/models/edgetron/tiny/revision/main']);
  });

  it('--model ORG/NAME:TAG opens the one GGUF of that tag', async () => {
    const e = env();
    const r = await runCli(['tokenize', '--model', 'edgetron/tiny-GGUF:q8_0', '--text', 'hello world'], e);
    expect(r).toEqual({ code: 0, stdout: (await runCli(['tokenize', '--model', gguf, '--text', 'hello world'])).stdout, stderr: '' });
    expect(hub.requests.filter((q) => q.url.startsWith('/cdn/'))).toHaveLength(1);
    const inspected = await runCli(['inspect', 'edgetron/tiny-GGUF:Q8_0'], e);
    expect(inspected.stdout).toBe((await runCli(['inspect', gguf])).stdout.replaceAll(gguf, join(e.HF_HOME, 'hub', 'models--edgetron--tiny-GGUF', 'snapshots', COMMIT, 'tiny-Q8_0.gguf')));
    const untagged = await runCli(['tokenize', '--model', 'edgetron/tiny-GGUF', '--text', 'x'], e);
    expect(untagged.stderr).toBe('edgetron: edgetron/tiny-GGUF: the repository has 2 GGUF quantisations; name one with :TAG; choose one of: edgetron/tiny-GGUF:F16, edgetron/tiny-GGUF:Q8_0\n');
  });

  it('--model ORG/NAME downloads on first use; a local path of that form wins', async () => {
    const e = env();
    const r = await runCli(['tokenize', '--model', 'edgetron/tiny', '--text', 'hi'], e);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe((await runCli(['tokenize', '--model', local, '--text', 'hi'])).stdout);
    hub.requests.length = 0;
    cpSync(local, join(tmp, 'edgetron', 'tiny'), { recursive: true });
    const cwd = process.cwd();
    try {
      process.chdir(tmp);
      const byLocal = await runCli(['tokenize', '--model', 'edgetron/tiny', '--text', 'hi'], env({ HF_HUB_OFFLINE: '1' }));
      expect(byLocal).toEqual({ code: 0, stdout: r.stdout, stderr: '' });
    } finally {
      process.chdir(cwd);
    }
    expect(hub.requests).toEqual([]);
  });

  it('errors are one line: a gated repository names HF_TOKEN, offline names HF_HUB_OFFLINE, a bad reference is a usage error', async () => {
    const gated = await runCli(['pull', 'nvidia/gated'], env());
    expect(gated.code).toBe(1);
    expect(gated.stderr).toBe('edgetron: nvidia/gated: the Hub refused access (HTTP 401); the repository is gated or private: accept its terms on its page, then set HF_TOKEN to a token with read access\n');
    expect((await runCli(['pull', 'nvidia/gated'], env({ HF_TOKEN: 'hf_ok' }))).code).toBe(0);

    const offline = await runCli(['run', '--model', 'edgetron/tiny', '--prompt', 'x'], env({ HF_HUB_OFFLINE: '1' }));
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(/^edgetron: edgetron\/tiny: no such file or folder; as a Hub model: edgetron\/tiny@main: not in the Hugging Face cache .*, and HF_HUB_OFFLINE is set; unset it to download the model.*\n$/);
    const typo = await runCli(['tokenize', '--model', 'modls/demo', '--text', 'x'], env());
    expect(typo.stderr).toMatch(/^edgetron: modls\/demo: no such file or folder; as a Hub model: modls\/demo@main: no such model repository on http:\/\/127\.0\.0\.1:\d+ \(HTTP 401; if it is private, set HF_TOKEN\)\n$/);

    const port = await freePort();
    const unreachable = await runCli(['tokenize', '--model', 'modls/demo', '--text', 'x'], env({ HF_ENDPOINT: `http://127.0.0.1:${port}` }));
    expect(unreachable.stderr).toBe(`edgetron: modls/demo: no such file or folder; as a Hub model: http://127.0.0.1:${port}/api/models/modls/demo/revision/main: cannot reach the Hub (ECONNREFUSED); HF_HUB_OFFLINE=1 uses the cache only\n`);

    const bad = await runCli(['pull', './local/dir'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('edgetron: pull: "./local/dir" is not ORG/NAME[@REVISION][:TAG] (see edgetron pull --help)\n');
    expect((await runCli(['pull'], env())).code).toBe(2);
    const help = await runCli(['pull', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: edgetron pull ORG\/NAME\[@REVISION\]\[:TAG\]\n[\s\S]*HF_TOKEN[\s\S]*HF_HUB_OFFLINE/);
  });
});
