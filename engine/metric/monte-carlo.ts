// docs/metric-learning.md: metric learning by Metropolis Monte Carlo (free-energy minimisation).
// State: L (r, d). Move: one entry (a, b), drawn uniformly, L'[a,b] = L[a,b] + step·u with
// u ~ U(−1, 1). ΔE comes from the O(n²) distance update of distances.ts and one evaluation of
// the energy (NCA or leave-one-out k-NN) on the trial distances. One sweep = r·d proposals;
// the chain, schedule, restarts and best-state tracking are anneal.ts.

import type { Prng } from '../decode/prng.js';
import { anneal, type AnnealResult, type AnnealSchedule, type AnnealSearch } from './anneal.js';
import { MetricDistances } from './distances.js';
import { looKnnEnergy, ncaEnergy, type DistanceEnergy } from './energies.js';
import { startingMap } from './pca.js';

/** The energies the Monte Carlo fit can minimise. */
export type MetricEnergyName = 'nca' | 'loo-knn';
/** The valid `--energy` / `energy` choices. */
export const METRIC_ENERGIES: readonly MetricEnergyName[] = ['nca', 'loo-knn'];

/** One proposal: L[a,b] += delta. */
export interface EntryMove {
  readonly a: number;
  readonly b: number;
  readonly delta: number;
}

/**
 * The metric as an annealing search: the state is L, the energy one of METRIC_ENERGIES.
 * @example
 * const search = new MetricSearch(x, y, d, identity(d), d, ncaEnergy);
 * search.delta({ a: 0, b: 1, delta: 0.1 }); // ΔE of L[0,1] += 0.1, state unchanged
 */
export class MetricSearch implements AnnealSearch<EntryMove, Float64Array> {
  readonly state: MetricDistances;
  private current: number;
  private trialEnergy = NaN;

  constructor(
    x: Float64Array, // (n, d), z-scored
    readonly y: Int32Array, // (n)
    readonly d: number,
    l: Float64Array, // (r, d)
    readonly r: number,
    readonly energyOf: DistanceEnergy,
  ) {
    this.state = new MetricDistances(x, y.length, d, l, r);
    this.current = energyOf(this.state.dist, y);
  }

  energy(): number {
    return this.current;
  }

  propose(rng: Prng, step: number): EntryMove {
    return { a: rng.nextU32() % this.r, b: rng.nextU32() % this.d, delta: step * rng.uniform(-1, 1) };
  }

  delta(move: EntryMove): number {
    this.trialEnergy = this.energyOf(this.state.trial(move.a, move.b, move.delta), this.y);
    return this.trialEnergy - this.current;
  }

  accept(): void {
    this.state.commit();
    this.current = this.trialEnergy;
  }

  save(): Float64Array {
    return Float64Array.from(this.state.l);
  }

  restore(l: Float64Array): void {
    this.state.reset(l);
    this.current = this.energyOf(this.state.dist, this.y);
  }

  endSweep(): void {
    this.state.resync();
    this.current = this.energyOf(this.state.dist, this.y);
  }
}

/** Options of a Monte Carlo metric fit; the schedule defaults are those of docs/metric-learning.md. */
export interface MonteCarloOptions {
  readonly energy?: MetricEnergyName; // default 'nca'
  readonly k?: number; // neighbours of the loo-knn energy (default 3)
  readonly dim?: number; // r (default d)
  readonly init?: Float64Array; // (r, d); default identity (r = d) or the top-r PCA map
  readonly sweeps?: number; // default 60
  readonly step?: number; // default 0.1
  readonly cooling?: number;
  readonly maxStep?: number; // default: the initial step
  readonly patience?: number;
  readonly restarts?: number;
  readonly t0?: number;
  readonly seed?: number; // default 0
}

/** A fitted map and how the chain went. */
export interface MonteCarloFit {
  readonly l: Float64Array; // (r, d)
  readonly r: number;
  readonly run: AnnealResult<Float64Array>;
}

/**
 * The energy function for a name.
 * @example
 * energyByName('loo-knn', 3)(dist, y);
 */
export function energyByName(name: MetricEnergyName, k = 3): DistanceEnergy {
  return name === 'nca' ? ncaEnergy : looKnnEnergy(k);
}

/**
 * Learn L (r, d) on z-scored rows X (n, d) with labels y by annealed Metropolis Monte Carlo.
 * @example
 * const fit = fitMonteCarlo(trainZ, train.y, train.d, { sweeps: 60, seed: 0 });
 * fit.run.bestEnergy; // ≤ fit.run.initialEnergy
 */
export function fitMonteCarlo(x: Float64Array, y: Int32Array, d: number, options: MonteCarloOptions = {}): MonteCarloFit {
  const r = options.dim ?? d;
  const init = options.init ?? startingMap(x, y.length, d, r);
  const energy = options.energy ?? 'nca';
  const search = new MetricSearch(x, y, d, init, r, energyByName(energy, options.k ?? 3));
  const schedule: AnnealSchedule = {
    sweeps: options.sweeps ?? 60,
    movesPerSweep: r * d,
    step: options.step ?? 0.1,
    seed: options.seed ?? 0,
    // a random move of the piecewise-constant loo-knn energy often changes nothing: at least one error's worth
    minT0: energy === 'loo-knn' ? 1 / y.length : 0,
    ...(options.t0 !== undefined && { t0: options.t0 }),
    ...(options.cooling !== undefined && { cooling: options.cooling }),
    // the step may shrink but not grow: at high acceptance a growing step makes the neutral
    // moves a wide random walk of L, which stretches directions the labels never asked for
    maxStep: options.maxStep ?? options.step ?? 0.1,
    ...(options.patience !== undefined && { patience: options.patience }),
    ...(options.restarts !== undefined && { restarts: options.restarts }),
  };
  const run = anneal(search, schedule);
  return { l: run.best, r, run };
}
