// Monte Carlo metric learning (docs/metric-learning.md): a generic Metropolis simulated-annealing
// core. The search supplies the state (energy, moves, ΔE, save/restore); this file supplies the
// chain:
//   accept a move if ΔE ≤ 0, else with probability exp(−ΔE / T)  (T = 0: never uphill);
//   T₀ = mean |ΔE| of `probes` random moves (unless given); one sweep = `movesPerSweep`
//   proposals; T ← cooling·T per sweep; step ← step·stepUp when the sweep's acceptance exceeds
//   `targetAcceptance`, else step·stepDown; stop after `sweeps` sweeps or `patience` sweeps
//   without a new best. Each restart reheats to T₀ from the best state seen. The best state
//   over all restarts is returned (restored into the search). Seeded: same seed, same chain.

import { Prng } from '../decode/prng.js';

/** A state space the chain walks; `M` is a move, `S` a saved state. */
export interface AnnealSearch<M, S> {
  /** Energy of the current state. */
  energy(): number;
  /** A random move whose size scales with `step`. */
  propose(rng: Prng, step: number): M;
  /** E(after move) − E(now), without changing the state (it may cache work for `accept`). */
  delta(move: M): number;
  /** Apply the move that `delta` was last called with. */
  accept(move: M): void;
  save(): S;
  restore(state: S): void;
  /** Called after every sweep (e.g. to drop accumulated rounding). */
  endSweep?(): void;
}

/** The temperature schedule and stopping rule. */
export interface AnnealSchedule {
  /** Most sweeps per restart. */
  readonly sweeps: number;
  /** Proposals per sweep. */
  readonly movesPerSweep: number;
  /** Starting temperature; when absent, the mean |ΔE| of `probes` random moves. */
  readonly t0?: number;
  /** Lower bound on the probed T₀ (for energies whose random moves rarely change it). */
  readonly minT0?: number;
  readonly probes?: number; // default 50
  readonly cooling?: number; // default 0.93 per sweep
  readonly step: number; // initial move size
  readonly adaptStep?: boolean; // default true
  readonly targetAcceptance?: number; // default 0.4
  readonly stepUp?: number; // default 1.1
  readonly stepDown?: number; // default 0.9
  readonly maxStep?: number; // cap on the adapted step (default: none)
  /** Stop a restart after this many sweeps without a new best (default: never). */
  readonly patience?: number;
  /** Extra reheated runs from the best state (default 0). */
  readonly restarts?: number;
  readonly seed: number;
}

/** One sweep of the chain, for tracing and tests. */
export interface SweepRecord {
  readonly restart: number;
  readonly sweep: number;
  readonly temperature: number;
  readonly step: number;
  readonly acceptance: number; // accepted / proposed in this sweep
  readonly energy: number; // at the end of the sweep
  readonly best: number; // best so far
}

export interface AnnealResult<S> {
  readonly best: S;
  readonly bestEnergy: number;
  readonly initialEnergy: number;
  readonly t0: number;
  readonly proposals: number;
  readonly accepted: number;
  readonly trace: readonly SweepRecord[];
}

/**
 * The Metropolis probability of taking a move with energy change `dE` at temperature `t`.
 * @example
 * acceptanceProbability(2, 4); // e^−0.5 ≈ 0.61
 */
export function acceptanceProbability(dE: number, t: number): number {
  if (dE <= 0) return 1;
  return t > 0 ? Math.exp(-dE / t) : 0;
}

/**
 * Run the annealing chain over `search`; the search ends in the best state found.
 * @example
 * const result = anneal(search, { sweeps: 60, movesPerSweep: d * r, step: 0.1, seed: 0 });
 * result.bestEnergy; // ≤ result.initialEnergy
 */
export function anneal<M, S>(search: AnnealSearch<M, S>, schedule: AnnealSchedule): AnnealResult<S> {
  const rng = new Prng(schedule.seed, 'anneal');
  const cooling = schedule.cooling ?? 0.93;
  const target = schedule.targetAcceptance ?? 0.4;
  const stepUp = schedule.stepUp ?? 1.1;
  const stepDown = schedule.stepDown ?? 0.9;
  const initialEnergy = search.energy();
  const t0 = schedule.t0 ?? Math.max(probeTemperature(search, rng, schedule.step, schedule.probes ?? 50), schedule.minT0 ?? 0);
  let best = search.save();
  let bestEnergy = initialEnergy;
  let energy = initialEnergy;
  let proposals = 0;
  let accepted = 0;
  const trace: SweepRecord[] = [];
  for (let restart = 0; restart <= (schedule.restarts ?? 0); restart++) {
    if (restart > 0) {
      search.restore(best);
      energy = bestEnergy;
    }
    let t = t0;
    let step = schedule.step;
    let stale = 0;
    for (let sweep = 0; sweep < schedule.sweeps; sweep++) {
      let taken = 0;
      const bestBefore = bestEnergy;
      for (let p = 0; p < schedule.movesPerSweep; p++) {
        const move = search.propose(rng, step);
        const dE = search.delta(move);
        const u = rng.uniform();
        if (!(dE <= 0 || u < acceptanceProbability(dE, t))) continue;
        search.accept(move);
        energy += dE;
        taken++;
        if (energy < bestEnergy) {
          bestEnergy = energy;
          best = search.save();
        }
      }
      search.endSweep?.();
      energy = search.energy();
      proposals += schedule.movesPerSweep;
      accepted += taken;
      const acceptance = taken / schedule.movesPerSweep;
      trace.push({ restart, sweep, temperature: t, step, acceptance, energy, best: bestEnergy });
      t *= cooling;
      if (schedule.adaptStep ?? true) step = Math.min(step * (acceptance > target ? stepUp : stepDown), schedule.maxStep ?? Infinity);
      stale = bestEnergy < bestBefore ? 0 : stale + 1;
      if (schedule.patience !== undefined && stale >= schedule.patience) break;
    }
  }
  search.restore(best);
  return { best, bestEnergy, initialEnergy, t0, proposals, accepted, trace };
}

/** Mean |ΔE| of `probes` random moves from the current state (none applied). */
function probeTemperature<M, S>(search: AnnealSearch<M, S>, rng: Prng, step: number, probes: number): number {
  let sum = 0;
  for (let i = 0; i < probes; i++) sum += Math.abs(search.delta(search.propose(rng, step)));
  return probes > 0 ? sum / probes : 0;
}
