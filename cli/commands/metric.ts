// `edgetron metric fit|eval|repro|tickets` (docs/metric-learning.md): learn a k-NN metric by
// Metropolis Monte Carlo, evaluate it, rerun the UCI protocol, and the ticket-routing demo.
//   fit     --csv TRAIN --out L.json [--energy nca|loo-knn] [--dim r] [--sweeps N] [--seed S]
//   eval    --csv TEST --train TRAIN --metric L.json [--k 3]      → {"n", "error"}
//   repro   [--data DIR] [--splits N] [--sweeps N] [--energy E] [--json] → the comparison table
//   tickets [--model PATH] [--backend B] [--sweeps N] [--seed S]  → held-out routing accuracy

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError } from '../../engine/core/errors.js';
import { parseLabelledCsv, parseUciCsv, type LabelledData } from '../../lab/metric/dataset.js';
import { identity, project } from '../../engine/metric/distances.js';
import { meanPooledEmbedding } from '../../engine/metric/embedding.js';
import { fitLinearMetric } from '../../engine/metric/classifier.js';
import { errorRate, knnPredict } from '../../engine/metric/knn.js';
import { applyMetric, metricFromJson, metricToJson } from '../../engine/metric/linear-metric.js';
import { METRIC_ENERGIES, fitMonteCarlo, type MetricEnergyName } from '../../engine/metric/monte-carlo.js';
import { fitGradientNca } from '../../lab/metric/nca-gradient.js';
import { formatReproTable, reproduce, type ReproRow } from '../../lab/metric/repro.js';
import { applyZScore, fitZScore } from '../../engine/metric/zscore.js';
import { requireText } from '../../engine/core/session.js';
import { TICKET_TEAMS, ticketSplit, type Ticket } from '../../lab/tickets.js';
import { intOpt, numberOpt, requiredOpt, stringOpt, type OptionValues } from '../args.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { resolveModelArg } from '../model-arg.js';
import { loadForCli } from '../load.js';
import { packageRoot } from '../../runtime/paths.js';

const SUBCOMMANDS = ['fit', 'eval', 'repro', 'tickets'] as const;

/** The UCI files (assets/data/uci), with the sweeps and splits of the comparison protocol (docs/metric-learning.md). */
const UCI_SETS = [
  { name: 'iris', file: 'iris.csv', splits: 10, sweeps: 60 },
  { name: 'wine', file: 'wine_data.csv', splits: 10, sweeps: 60 },
  { name: 'breast cancer', file: 'breast_cancer.csv', splits: 3, sweeps: 20 },
] as const;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new DatasetError(path, 0, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const readCsv = (path: string): LabelledData => parseLabelledCsv(readText(path), path);

/** The UCI files the package ships (assets/data/uci, with their README: source and licence). */
function defaultUciDir(): string {
  return join(packageRoot(), 'assets', 'data', 'uci');
}

function energyOpt(values: OptionValues): MetricEnergyName {
  const energy = stringOpt(values, 'energy') ?? 'nca';
  if (!(METRIC_ENERGIES as readonly string[]).includes(energy)) throw new UsageError(`--energy must be one of: ${METRIC_ENERGIES.join(', ')}; got "${energy}"`, 'metric');
  return energy as MetricEnergyName;
}

async function fit(values: OptionValues, io: CliIO): Promise<void> {
  const csv = requiredOpt('metric', values, 'csv');
  const out = requiredOpt('metric', values, 'out');
  const energy = energyOpt(values);
  const train = readCsv(csv);
  const r = intOpt('metric', values, 'dim', train.d, 1, train.d)!;
  const sweeps = intOpt('metric', values, 'sweeps', 60, 1)!;
  const seed = intOpt('metric', values, 'seed', 0)!;
  const k = intOpt('metric', values, 'k', 3, 1)!;
  const step = numberOpt('metric', values, 'step', 0.1)!;
  const start = performance.now();
  const { metric, fit: result } = fitLinearMetric(train.x, train.n, train.d, train.y, { energy, k, dim: r, sweeps, seed, step });
  const seconds = (performance.now() - start) / 1000;
  const { run } = result;
  const summary = {
    n: train.n,
    d: train.d,
    r,
    energy,
    initial_energy: run.initialEnergy,
    best_energy: run.bestEnergy,
    sweeps: run.trace.length,
    proposals: run.proposals,
    acceptance: run.accepted / run.proposals,
    seed,
    seconds: +seconds.toFixed(3),
  };
  writeFileSync(out, `${JSON.stringify(metricToJson({ ...metric, fit: { train: csv, ...summary } }))}\n`);
  io.stdout.write(`${JSON.stringify({ out, ...summary })}\n`);
}

async function evaluate(values: OptionValues, io: CliIO): Promise<void> {
  const test = readCsv(requiredOpt('metric', values, 'csv'));
  const train = readCsv(requiredOpt('metric', values, 'train'));
  const metricPath = requiredOpt('metric', values, 'metric');
  const k = intOpt('metric', values, 'k', 3, 1)!;
  let json: unknown;
  try {
    json = JSON.parse(readText(metricPath));
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(metricPath, 0, `not JSON: ${(err as Error).message}`);
  }
  const metric = metricFromJson(json, metricPath);
  for (const [path, data] of [['--train', train], ['--csv', test]] as const) {
    if (data.d !== metric.d) throw new UsageError(`${path} rows have ${data.d} features, the metric was fitted on ${metric.d}`, 'metric');
  }
  const predicted = knnPredict(applyMetric(metric, train.x, train.n), train.y, applyMetric(metric, test.x, test.n), test.n, metric.r, k);
  io.stdout.write(`${JSON.stringify({ n: test.n, error: errorRate(predicted, test.y) })}\n`);
}

async function repro(values: OptionValues, io: CliIO): Promise<void> {
  const dir = stringOpt(values, 'data') ?? defaultUciDir();
  const splits = intOpt('metric', values, 'splits', undefined, 1);
  const sweeps = intOpt('metric', values, 'sweeps', undefined, 1);
  const only = stringOpt(values, 'only')?.split(',').map((s) => s.trim());
  const sets = UCI_SETS.filter((s) => !only || only.includes(s.name) || only.includes(s.file.replace(/\.csv$/, '')));
  if (sets.length === 0) throw new UsageError(`--only matched no data set; choose from: ${UCI_SETS.map((s) => s.name).join(', ')}`, 'metric');
  const rows: ReproRow[] = [];
  for (const set of sets) {
    const path = join(dir, set.file);
    const data = parseUciCsv(readText(path), path);
    const row = reproduce(set.name, data, { splits: splits ?? set.splits, monteCarlo: { sweeps: sweeps ?? set.sweeps, energy: energyOpt(values) } });
    rows.push(row);
    if (!values.json) io.stderr.write(`${set.name}: done in ${(row.seconds.gradientNca + row.seconds.monteCarloNca).toFixed(1)} s\n`);
  }
  io.stdout.write(values.json ? `${JSON.stringify(rows)}\n` : formatReproTable(rows));
}

async function ticketsDemo(values: OptionValues, io: CliIO): Promise<void> {
  const sweeps = intOpt('metric', values, 'sweeps', 30, 1)!;
  const seed = intOpt('metric', values, 'seed', 0)!;
  const k = intOpt('metric', values, 'k', 3, 1)!;
  const loaded = await loadForCli(stringOpt(values, 'model'), stringOpt(values, 'backend'), {}, { resolveModel: (m) => resolveModelArg(m, io) });
  try {
    const { model } = loaded.session;
    const text = requireText(loaded.session);
    const d = model.config.dModel;
    const { train, test } = ticketSplit(seed);
    const embed = (ts: readonly Ticket[]) => {
      const x = new Float64Array(ts.length * d); // (n, d)
      ts.forEach((t, i) => x.set(meanPooledEmbedding(model, Int32Array.from(text.encode(t.text))), i * d));
      return x;
    };
    const labels = (ts: readonly Ticket[]) => Int32Array.from(ts, (t) => t.team);
    const yTrain = labels(train);
    const yTest = labels(test);
    const rawTrain = embed(train);
    const stats = fitZScore(rawTrain, train.length, d);
    const xTrain = applyZScore(rawTrain, train.length, stats);
    const xTest = applyZScore(embed(test), test.length, stats);
    const accuracy = (l: Float64Array) => 1 - errorRate(knnPredict(project(xTrain, train.length, d, l, d), yTrain, project(xTest, test.length, d, l, d), test.length, d, k), yTest);
    const mc = fitMonteCarlo(xTrain, yTrain, d, { sweeps, seed });
    const gradient = fitGradientNca(xTrain, yTrain, d);
    io.stdout.write(
      `${JSON.stringify({
        teams: TICKET_TEAMS,
        train: train.length,
        test: test.length,
        d,
        k,
        backend: loaded.choice.name,
        euclidean_accuracy: accuracy(identity(d)),
        gradient_nca_accuracy: accuracy(gradient.l),
        monte_carlo_nca_accuracy: accuracy(mc.l),
      })}\n`,
    );
  } finally {
    await loaded.close();
  }
}

/**
 * The `metric` command (dispatched by cli/main.ts).
 * @example
 * main(['metric', 'fit', '--csv', 'train.csv', '--out', 'L.json'], io);
 */
export const metricCommand: Command = {
  name: 'metric',
  summary: 'learn a k-NN metric by Metropolis Monte Carlo (fit, eval, repro, tickets)',
  help: `usage: edgetron metric fit --csv TRAIN --out L.json [--energy nca|loo-knn] [--dim r] [--sweeps N] [--seed S] [--k K] [--step X]
       edgetron metric eval --csv TEST --train TRAIN --metric L.json [--k 3]
       edgetron metric repro [--data DIR] [--splits N] [--sweeps N] [--energy E] [--only iris,wine,breast cancer] [--json]
       edgetron metric tickets [--model PATH] [--backend B] [--sweeps N] [--seed S] [--k 3]

CSV rows are numeric features, then an integer label, with no header.
  fit      z-scores TRAIN with its own statistics, anneals L (r × d) under the NCA energy
           (or the leave-one-out k-NN error) and writes L.json with the statistics.
  eval     prints {"n", "error"}: the k-NN error on TEST, TRAIN as the neighbours, under L.json.
  repro    the protocol of assets/data/uci/README.md: Euclidean 3-NN, gradient NCA and
           Monte Carlo NCA test error (%) on iris, wine and breast cancer.
  tickets  the routing demo: embeds the project's IT tickets with the model and prints the
           held-out accuracy of Euclidean, gradient-NCA and Monte Carlo NCA k-NN.

  --energy E   nca (default) or loo-knn        --dim r     rows of L (default d; r < d starts from PCA)
  --sweeps N   sweeps of r·d proposals         --seed S    the chain's seed (default 0)
  --k K        neighbours (default 3)          --step X    initial move size (default 0.1)
  --data DIR   the UCI folder (default: assets/data/uci in the package)`,
  options: {
    csv: { type: 'string' },
    out: { type: 'string' },
    train: { type: 'string' },
    metric: { type: 'string' },
    energy: { type: 'string' },
    dim: { type: 'string' },
    sweeps: { type: 'string' },
    seed: { type: 'string' },
    k: { type: 'string' },
    step: { type: 'string' },
    data: { type: 'string' },
    splits: { type: 'string' },
    only: { type: 'string' },
    json: { type: 'boolean' },
    model: { type: 'string' },
    backend: { type: 'string' },
  },
  maxPositionals: 1,
  async run({ values, positionals }, io) {
    const sub = positionals[0];
    if (sub === 'fit') return fit(values, io);
    if (sub === 'eval') return evaluate(values, io);
    if (sub === 'repro') return repro(values, io);
    if (sub === 'tickets') return ticketsDemo(values, io);
    throw new UsageError(sub === undefined ? `a subcommand is required: ${SUBCOMMANDS.join(', ')}` : `unknown subcommand "${sub}"; choose one of: ${SUBCOMMANDS.join(', ')}`, 'metric');
  },
};
