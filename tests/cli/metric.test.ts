// `edgetron metric` (docs/metric-learning.md): fit writes L.json, eval prints {"n","error"}
// (checked against a hand-worked k-NN), repro prints the protocol's table, tickets the demo's
// accuracies; every mistake is one stderr line with the right exit status.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseUciCsv, stratifiedSplit, subset, type LabelledData } from '../../lab/metric/dataset.js';
import { runCli } from '../helpers/cli.js';

import { UCI } from '../helpers/fixtures.js';
const dir = mkdtempSync(join(tmpdir(), 'edgetron-metric-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...argv: string[]) => runCli(argv);

function writeCsv(name: string, data: LabelledData): string {
  const lines = Array.from({ length: data.n }, (_, i) => [...data.x.subarray(i * data.d, (i + 1) * data.d), data.y[i]].join(','));
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const iris = parseUciCsv(readFileSync(join(UCI, 'iris.csv'), 'utf8'), 'iris.csv');
const split = stratifiedSplit(iris.y, 0.3, 1);
const trainCsv = writeCsv('train.csv', subset(iris, split.train));
const testCsv = writeCsv('test.csv', subset(iris, split.test));

describe('metric fit / eval', () => {
  it('fit writes L.json (z-score statistics, L) and eval prints {"n","error"}; the same seed gives the same L', async () => {
    const out = join(dir, 'L.json');
    const r = await cli('metric', 'fit', '--csv', trainCsv, '--out', out, '--sweeps', '8', '--seed', '5');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ out, n: 105, d: 4, r: 4, energy: 'nca', proposals: 8 * 16, seed: 5 });
    expect(summary.best_energy).toBeLessThan(summary.initial_energy);
    const stored = JSON.parse(readFileSync(out, 'utf8'));
    expect(stored).toMatchObject({ format: 'edgetron-metric', version: 1, d: 4, r: 4 });
    expect(stored.L).toHaveLength(4);
    expect(stored.mean[0]).toBeCloseTo([...split.train].reduce((s, i) => s + iris.x[i * 4], 0) / 105, 12);

    const again = join(dir, 'L2.json');
    await cli('metric', 'fit', '--csv', trainCsv, '--out', again, '--sweeps', '8', '--seed', '5');
    expect(JSON.parse(readFileSync(again, 'utf8')).L).toEqual(stored.L);

    const e = await cli('metric', 'eval', '--csv', testCsv, '--train', trainCsv, '--metric', out);
    expect(e.code).toBe(0);
    const result = JSON.parse(e.stdout);
    expect(Object.keys(result)).toEqual(['n', 'error']);
    expect(result.n).toBe(45);
    expect(result.error * 45).toBeCloseTo(Math.round(result.error * 45), 12);
  });

  it('eval applies the stored standardisation and L, then 3-NN with the nearest-label tie-break (worked by hand)', async () => {
    // 1-D train points 0, 1, 2 (labels 0, 0, 1) and 10, 11 (labels 1, 1); L = [2], μ = 1, σ = 0.5
    const train = join(dir, 'hand-train.csv');
    writeFileSync(train, '0,0\n1,0\n2,1\n10,1\n11,1\n');
    const test = join(dir, 'hand-test.csv');
    // 1.4 → nearest 1, 2, 0 → labels 0, 1, 0 → 0 (right);  6.2 → 2, 10, 11 → 1 (label says 0: wrong)
    writeFileSync(test, '1.4,0\n6.2,0\n');
    const metric = join(dir, 'hand.json');
    writeFileSync(metric, JSON.stringify({ format: 'edgetron-metric', version: 1, energy: 'nca', d: 1, r: 1, mean: [1], std: [0.5], L: [[2]] }));
    const r = await cli('metric', 'eval', '--csv', test, '--train', train, '--metric', metric, '--k', '3');
    expect(JSON.parse(r.stdout)).toEqual({ n: 2, error: 0.5 });
    // k = 2 at 1.4: neighbours 1 (label 0), 2 (label 1) tie → the nearest, 1 → label 0
    writeFileSync(test, '1.4,0\n');
    expect(JSON.parse((await cli('metric', 'eval', '--csv', test, '--train', train, '--metric', metric, '--k', '2')).stdout)).toEqual({ n: 1, error: 0 });
  });

  it.each([
    [['metric'], 2, /metric: a subcommand is required: fit, eval, repro, tickets/],
    [['metric', 'sort'], 2, /unknown subcommand "sort"; choose one of: fit, eval, repro, tickets/],
    [['metric', 'fit', '--csv', 'x.csv'], 2, /--out is required/],
    [['metric', 'fit', '--csv', 'TRAIN', '--out', 'o.json', '--energy', 'hinge'], 2, /--energy must be one of: nca, loo-knn; got "hinge"/],
    [['metric', 'fit', '--csv', 'TRAIN', '--out', 'o.json', '--dim', '5'], 2, /--dim must be an integer in \[1, 4\]/],
    [['metric', 'fit', '--csv', join(dir, 'missing.csv'), '--out', 'o.json'], 1, /missing\.csv: cannot read: ENOENT/],
    [['metric', 'eval', '--csv', 'TEST', '--train', 'TRAIN', '--metric', 'TRAIN'], 1, /not JSON/],
    [['metric', 'eval', '--csv', 'TEST', '--train', 'TRAIN', '--metric', 'BAD'], 1, /L must be 1 rows of 4 finite numbers/],
  ])('%j fails with one line, status %i', async (argv, code, pattern) => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ format: 'edgetron-metric', version: 1, d: 4, r: 1, mean: [0, 0, 0, 0], std: [1, 1, 1, 1], L: [[1, 2]] }));
    const args = argv.map((a) => ({ TRAIN: trainCsv, TEST: testCsv, BAD: join(dir, 'bad.json') })[a] ?? a);
    const r = await cli(...args);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  });
});

describe('metric repro', () => {
  it('prints the table for the chosen data set (small run), and JSON with --json', async () => {
    const r = await cli('metric', 'repro', '--only', 'iris', '--splits', '2', '--sweeps', '3');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('| data | n | d | splits | Euclidean 3-NN | gradient NCA (L-BFGS) | Monte Carlo NCA | NCA s | MC s |');
    expect(lines[2]).toMatch(/^\| iris \| 150 \| 4 \| 2 \| \d+\.\d\d ± \d+\.\d\d \| /);
    const j = await cli('metric', 'repro', '--only', 'iris', '--splits', '2', '--sweeps', '3', '--json');
    const [row] = JSON.parse(j.stdout);
    expect(row.euclidean.errors).toHaveLength(2);
    expect(lines[2]).toContain(`${row.monteCarloNca.mean.toFixed(2)} ± ${row.monteCarloNca.std.toFixed(2)}`);
  });
});

describe('metric tickets', () => {
  it('embeds the demo tickets with the default model and prints the held-out accuracies (one short sweep)', async () => {
    const r = await cli('metric', 'tickets', '--sweeps', '1');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ teams: ['network', 'accounts', 'hardware', 'software'], train: 48, test: 48, d: 128, k: 3 }); // d: the default (demo) model's hidden size
    for (const key of ['euclidean_accuracy', 'gradient_nca_accuracy', 'monte_carlo_nca_accuracy']) {
      expect(out[key] * 48).toBeCloseTo(Math.round(out[key] * 48), 9);
      expect(out[key]).toBeGreaterThan(0.25); // above chance among 4 teams
    }
  });
});
