// docs/metric-learning.md: the UCI comparison protocol. For each split seed:
// a stratified 70/30 split, z-scores from the training rows, then the 3-NN test error of
//   Euclidean (L = I), gradient NCA (L-BFGS, identity start, 100 iterations) and
//   Monte Carlo NCA (engine/metric/monte-carlo.ts, identity start, seeded by the split seed; or another
//   energy of engine/metric/monte-carlo.ts);
// reported in % as mean ± population std over the splits.

import { identity, project } from '../../engine/metric/distances.js';
import { errorRate, knnPredict } from '../../engine/metric/knn.js';
import { fitMonteCarlo, type MetricEnergyName, type MonteCarloOptions } from '../../engine/metric/monte-carlo.js';
import { applyZScore, fitZScore } from '../../engine/metric/zscore.js';
import type { LabelledData } from './dataset.js';
import { stratifiedSplit, subset } from './dataset.js';
import { fitGradientNca } from './nca-gradient.js';

export interface ReproOptions {
  readonly splits: number; // split seeds 0 .. splits−1
  readonly k?: number; // default 3
  readonly testFraction?: number; // default 0.3
  readonly gradientIterations?: number; // default 100
  readonly monteCarlo?: Omit<MonteCarloOptions, 'seed'>;
}

/** Test errors (%) of one method over the splits. */
export interface MethodErrors {
  readonly errors: readonly number[];
  readonly mean: number;
  readonly std: number;
}

export interface ReproRow {
  readonly data: string;
  readonly n: number;
  readonly d: number;
  readonly splits: number;
  readonly euclidean: MethodErrors;
  readonly gradientNca: MethodErrors;
  readonly monteCarloNca: MethodErrors;
  /** The energy the Monte Carlo column minimised. */
  readonly energy: MetricEnergyName;
  readonly seconds: { readonly gradientNca: number; readonly monteCarloNca: number };
}

function summarise(errors: number[]): MethodErrors {
  const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
  const std = Math.sqrt(errors.reduce((a, b) => a + (b - mean) ** 2, 0) / errors.length);
  return { errors, mean, std };
}

/**
 * Run the protocol on one data set.
 * @example
 * const row = reproduce('iris', iris, { splits: 10, monteCarlo: { sweeps: 60 } });
 * row.monteCarloNca.mean; // test error in %
 */
export function reproduce(name: string, data: LabelledData, options: ReproOptions): ReproRow {
  const k = options.k ?? 3;
  const errs = { euclidean: [] as number[], gradientNca: [] as number[], monteCarloNca: [] as number[] };
  const seconds = { gradientNca: 0, monteCarloNca: 0 };
  const { d } = data;
  for (let seed = 0; seed < options.splits; seed++) {
    const split = stratifiedSplit(data.y, options.testFraction ?? 0.3, seed);
    const train = subset(data, split.train);
    const test = subset(data, split.test);
    const stats = fitZScore(train.x, train.n, d);
    const xTrain = applyZScore(train.x, train.n, stats);
    const xTest = applyZScore(test.x, test.n, stats);
    const testError = (l: Float64Array, r: number) =>
      100 * errorRate(knnPredict(project(xTrain, train.n, d, l, r), train.y, project(xTest, test.n, d, l, r), test.n, r, k), test.y);
    errs.euclidean.push(testError(identity(d), d));
    let t = performance.now();
    const gradient = fitGradientNca(xTrain, train.y, d, { maxIter: options.gradientIterations ?? 100 });
    seconds.gradientNca += (performance.now() - t) / 1000;
    errs.gradientNca.push(testError(gradient.l, gradient.r));
    t = performance.now();
    const mc = fitMonteCarlo(xTrain, train.y, d, { ...options.monteCarlo, seed });
    seconds.monteCarloNca += (performance.now() - t) / 1000;
    errs.monteCarloNca.push(testError(mc.l, mc.r));
  }
  return {
    data: name,
    n: data.n,
    d,
    splits: options.splits,
    euclidean: summarise(errs.euclidean),
    gradientNca: summarise(errs.gradientNca),
    monteCarloNca: summarise(errs.monteCarloNca),
    energy: options.monteCarlo?.energy ?? 'nca',
    seconds,
  };
}

const cell = (m: MethodErrors) => `${m.mean.toFixed(2)} ± ${m.std.toFixed(2)}`;

/**
 * The rows as a Markdown table, errors in % (mean ± std).
 * @example
 * io.stdout.write(formatReproTable(rows));
 */
export function formatReproTable(rows: readonly ReproRow[]): string {
  const mc = rows[0]?.energy === 'loo-knn' ? 'Monte Carlo LOO k-NN' : 'Monte Carlo NCA';
  const lines = [
    `| data | n | d | splits | Euclidean 3-NN | gradient NCA (L-BFGS) | ${mc} | NCA s | MC s |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.data} | ${r.n} | ${r.d} | ${r.splits} | ${cell(r.euclidean)} | ${cell(r.gradientNca)} | ${cell(r.monteCarloNca)} | ${r.seconds.gradientNca.toFixed(1)} | ${r.seconds.monteCarloNca.toFixed(1)} |`),
  ];
  return `${lines.join('\n')}\n`;
}
