// `edgetron train` end to end on the tiny preset: progress lines, the HF export that `edgetron
// run --model` generates from, one-line errors; and (spawned from dist/, which `npm test` builds)
// the two-thread data-parallel path, whose loss must equal the one-thread run's to f32 rounding.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../../engine/decode/prng.js';
import { synthesize } from '../../../weights-tools/synth.js';
import { runCli } from '../../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const cli = (...argv: string[]) => runCli(argv);

let dir: string;
let data: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgetron-train-cli-'));
  data = join(dir, 'data');
  await synthesize({ preset: 'tiny', seed: 1, out: data, dtype: 'f32' }); // for its tokenizer files
  const rng = new Prng(2, 'train-cli');
  const ids = Uint16Array.from({ length: 3000 }, (_, i) => (i % 50 === 49 ? 2 : 3 + (rng.nextU32() % 100)));
  writeFileSync(join(data, 'train.u16'), new Uint8Array(ids.buffer));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const args = (out: string, threads: number) =>
  ['train', '--preset', 'tiny', '--data', data, '--out', out, '--steps', '3', '--batch', '4', '--seq', '16', '--lr', '0.003', '--warmup', '1', '--seed', '5', '--threads', String(threads)];
const lossOf = (stderr: string) => Number(/after 3 steps \(loss ([\d.]+)/.exec(stderr)![1]);

describe('edgetron train', () => {
  it('prints a progress line per step and writes an HF folder that `run --model` generates from', async () => {
    const out = join(dir, 'out');
    const r = await cli(...args(out, 1));
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.filter((l) => /^train tiny: step \d+\/3 loss [\d.]+ lr [\d.e+-]+ \|g\| [\d.]+ load [\d.]+–[\d.]+ \d+ tok\/s ETA \d+m\d+s$/.test(l))).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/^train tiny: wrote .* after 3 steps \(loss [\d.]+, \d+ tok\/s\)$/);
    expect(readdirSync(out).sort()).toEqual(['checkpoint', 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const run = await cli('run', '--model', out, '--prompt', 'Hello', '--max-tokens', '4', '--temperature', '0', '--backend', 'reference');
    expect(run.code).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(0);
  }, 60_000);

  it('one-line errors for a missing option, a bad preset and a resume with nothing to resume', async () => {
    for (const [argv, pattern] of [
      [['train', '--preset', 'tiny', '--out', join(dir, 'x')], /--data/],
      [['train', '--preset', 'huge', '--data', data, '--out', join(dir, 'x')], /--preset must be one of/],
      [[...args(join(dir, 'empty'), 1), '--resume'], /no training checkpoint to resume from/],
    ] as [string[], RegExp][]) {
      const r = await cli(...argv);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });

  it.runIf(existsSync(join(ROOT, 'dist/lab/train/grad-worker.js')))('--threads 2 (worker threads) reaches the one-thread loss', async () => {
    const one = await cli(...args(join(dir, 'one'), 1));
    const spawned = spawnSync(process.execPath, [join(ROOT, 'bin/edgetron.js'), ...args(join(dir, 'two'), 2)], { cwd: ROOT, encoding: 'utf8' });
    expect(spawned.status, spawned.stderr).toBe(0);
    expect(lossOf(spawned.stderr)).toBeCloseTo(lossOf(one.stderr), 3);
  }, 60_000);
});
