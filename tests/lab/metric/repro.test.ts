import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseUciCsv } from '../../../lab/metric/dataset.js';
import { formatReproTable, reproduce } from '../../../lab/metric/repro.js';

import { UCI } from '../../helpers/fixtures.js';

describe('reproduce (sized for the fast suite; `edgetron metric repro` runs the full protocol)', () => {
  it('iris, 10 splits, 15 sweeps: Monte Carlo NCA beats Euclidean 3-NN on the mean test error', () => {
    const iris = parseUciCsv(readFileSync(`${UCI}iris.csv`, 'utf8'), 'iris.csv');
    const row = reproduce('iris', iris, { splits: 10, monteCarlo: { sweeps: 15 } });
    expect(row.euclidean.errors).toHaveLength(10);
    // every error is a whole number of the 45 test rows, in %
    for (const e of [...row.euclidean.errors, ...row.monteCarloNca.errors]) expect(Math.abs((e * 45) / 100 - Math.round((e * 45) / 100))).toBeLessThan(1e-9);
    expect(row.monteCarloNca.mean).toBeLessThan(row.euclidean.mean);
  });
});

describe('formatReproTable', () => {
  it('prints mean ± population std with two decimals', () => {
    const m = (errors: number[]) => ({ errors, mean: errors.reduce((a, b) => a + b) / errors.length, std: 1 });
    const table = formatReproTable([
      { data: 'x', n: 10, d: 2, splits: 2, euclidean: { errors: [2, 4], mean: 3, std: 1 }, gradientNca: m([1, 1]), monteCarloNca: m([0, 2]), energy: 'nca' as const, seconds: { gradientNca: 0.25, monteCarloNca: 1.5 } },
    ]);
    expect(table.split('\n')[2]).toBe('| x | 10 | 2 | 2 | 3.00 ± 1.00 | 1.00 ± 1.00 | 1.00 ± 1.00 | 0.3 | 1.5 |');
  });
});
