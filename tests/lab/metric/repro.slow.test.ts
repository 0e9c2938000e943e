// The full UCI comparison (docs/metric-learning.md): Monte Carlo
// NCA must beat Euclidean 3-NN on iris, wine and breast cancer. Minutes of CPU: slow suite.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseUciCsv } from '../../../lab/metric/dataset.js';
import { reproduce } from '../../../lab/metric/repro.js';

import { UCI } from '../../helpers/fixtures.js';

describe.each([
  ['iris', 'iris.csv', 10, 60],
  ['wine', 'wine_data.csv', 10, 60],
  ['breast cancer', 'breast_cancer.csv', 3, 20],
] as const)('%s', (name, file, splits, sweeps) => {
  it(`Monte Carlo NCA (${sweeps} sweeps, ${splits} splits) beats Euclidean 3-NN`, () => {
    const data = parseUciCsv(readFileSync(`${UCI}${file}`, 'utf8'), file);
    const row = reproduce(name, data, { splits, monteCarlo: { sweeps } });
    expect(row.monteCarloNca.mean).toBeLessThan(row.euclidean.mean);
  }, 1_800_000);
});
