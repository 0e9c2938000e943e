import { describe, expect, it } from 'vitest';
import type { Prng } from '../../../engine/decode/prng.js';
import { acceptanceProbability, anneal, type AnnealSearch } from '../../../engine/metric/anneal.js';

/** A rugged 1-D landscape over the integers 0..99: a slope towards 73 plus a ripple of 6 off the multiples of 3; the minimum is 1, at 72. */
const landscape = (v: number) => Math.abs(v - 73) + 6 * (v % 3 === 0 ? 0 : 1);

class Walk implements AnnealSearch<number, number> {
  accepted: Array<{ before: number; after: number }> = [];
  constructor(public v: number) {}
  energy() {
    return landscape(this.v);
  }
  propose(rng: Prng, step: number) {
    const s = Math.max(1, Math.round(step));
    return Math.min(99, Math.max(0, this.v + (rng.nextU32() % (2 * s + 1)) - s));
  }
  delta(next: number) {
    return landscape(next) - landscape(this.v);
  }
  accept(next: number) {
    this.accepted.push({ before: landscape(this.v), after: landscape(next) });
    this.v = next;
  }
  save() {
    return this.v;
  }
  restore(v: number) {
    this.v = v;
  }
}

describe('acceptanceProbability', () => {
  it('is 1 downhill, exp(−ΔE/T) uphill, 0 uphill at T = 0', () => {
    expect(acceptanceProbability(-1, 0)).toBe(1);
    expect(acceptanceProbability(0, 0)).toBe(1);
    expect(acceptanceProbability(2, 4)).toBeCloseTo(Math.exp(-0.5), 15);
    expect(acceptanceProbability(1e-12, 0)).toBe(0);
  });
});

describe('anneal', () => {
  const schedule = { sweeps: 40, movesPerSweep: 50, step: 3, seed: 7 };

  it('crosses the ripple barriers a zero-temperature descent is stuck behind', () => {
    const cold = new Walk(3);
    const coldRun = anneal(cold, { ...schedule, t0: 0 });
    const hot = new Walk(3);
    const hotRun = anneal(hot, schedule);
    expect(hotRun.bestEnergy).toBe(1);
    expect(hot.v).toBe(72); // restored to the best state
    expect(coldRun.bestEnergy).toBeGreaterThan(1);
  });

  it('at zero temperature no accepted move raises the energy', () => {
    const walk = new Walk(50);
    anneal(walk, { ...schedule, t0: 0, step: 20 });
    expect(walk.accepted.length).toBeGreaterThan(0);
    for (const { before, after } of walk.accepted) expect(after).toBeLessThanOrEqual(before);
  });

  it('is deterministic per seed', () => {
    const a = anneal(new Walk(10), schedule);
    const b = anneal(new Walk(10), schedule);
    expect(b).toEqual(a);
    expect(anneal(new Walk(10), { ...schedule, seed: 8 }).trace).not.toEqual(a.trace);
  });

  it('probes T₀, cools geometrically, adapts the step within its cap, and counts proposals', () => {
    const run = anneal(new Walk(10), { ...schedule, cooling: 0.5, maxStep: 3 });
    expect(run.t0).toBeGreaterThan(0);
    expect(run.trace[1].temperature).toBeCloseTo(run.t0 * 0.5, 15);
    expect(run.trace[3].temperature).toBeCloseTo(run.t0 * 0.125, 15);
    for (const rec of run.trace) expect(rec.step).toBeLessThanOrEqual(3);
    expect(run.proposals).toBe(40 * 50);
    expect(run.accepted).toBe(Math.round(run.trace.reduce((s, r) => s + r.acceptance * 50, 0)));
  });

  it('stops a restart after `patience` sweeps without a new best; restarts reheat from the best', () => {
    const run = anneal(new Walk(72), { ...schedule, patience: 3, restarts: 2 });
    // 72 is the minimum already: no sweep finds a new best, each restart stops after 3
    expect(run.trace.map((r) => `${r.restart}:${r.sweep}`)).toEqual(['0:0', '0:1', '0:2', '1:0', '1:1', '1:2', '2:0', '2:1', '2:2']);
    expect(run.trace[3].temperature).toBe(run.t0);
    expect(run.bestEnergy).toBe(1);
  });
});
