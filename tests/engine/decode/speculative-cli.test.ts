// `edgetron run --mtp K` (cli/commands/run.ts) on a synthesized tiny-latent (MTP block `*E`):
// greedy text equal to --mtp 0, `--stats` with "accept_len" only when --mtp > 0, and one-line
// errors for a model without an MTP block and for a bad K.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

const cli = (...argv: string[]) => runCli(argv);

const stats = (stderr: string) => JSON.parse(stderr.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;

let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'edgetron-mtp-'));
  for (const preset of ['tiny-latent', 'tiny']) expect((await cli('synth', '--preset', preset, '--seed', '1', '--out', join(tmp, preset))).code).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('--mtp 3 prints the --mtp 0 text; --stats adds accept_len', async () => {
  const args = ['run', '--model', join(tmp, 'tiny-latent'), '--prompt', 'Once upon a time there was a model that', '--max-tokens', '20', '--temperature', '0', '--backend', 'wasm', '--stats'];
  const plain = await cli(...args);
  const spec = await cli(...args, '--mtp', '3');
  expect([plain.code, spec.code]).toEqual([0, 0]);
  expect(spec.stdout).toBe(plain.stdout);
  expect(stats(plain.stderr)).not.toHaveProperty('accept_len');
  const acceptLen = stats(spec.stderr).accept_len as number;
  expect(acceptLen).toBeGreaterThanOrEqual(1);
  expect(acceptLen).toBeLessThanOrEqual(4);
});

it('refuses --mtp on a model without an MTP block, and a K out of range, in one line', async () => {
  for (const [argv, pattern] of [
    [['--model', join(tmp, 'tiny'), '--mtp', '2'], /--mtp 2: the model has no MTP block/],
    [['--model', join(tmp, 'tiny-latent'), '--mtp', '17'], /--mtp must be an integer in \[0, 16\]/],
  ] as const) {
    const r = await cli('run', '--prompt', 'x', '--backend', 'wasm', ...argv);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  }
});
