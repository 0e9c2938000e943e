// Per-layer 2:4 recovery (weights-tools/recover.ts, docs/sparsity.md) on random layers with
// correlated, heavy-tailed inputs X = (Z·A + noise)·diag(s): against one-shot Wanda on the
// calibration tokens and on held-out tokens drawn separately, the 2:4 invariants of the output
// (before and after NVFP4 quantisation), the mask log, and determinism. The output error is
// checked against ‖X(W − W₀)ᵀ‖ / ‖XW₀ᵀ‖ computed from X directly, not through H. The
// `convert --recover` round trip is in recover.slow.test.ts.

import { describe, expect, it } from 'vitest';
import { checkPositionCodes } from '../../engine/formats/sparse24.js';
import { convertCheckpoint } from '../../weights-tools/convert.js';
import { prune24Row } from '../../weights-tools/prune.js';
import { RECOVER_DEFAULTS, recomputeSteps, recoverLinear, relOutputError, quantizeRecovered, type RecoveredLinear } from '../../weights-tools/recover.js';
import { mulberry32 } from '../helpers/memory-store.js';

const ROWS = 16;
const K = 32;

/** A random layer and two independent input samples from one correlated distribution. */
function layer(seed: number) {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const rank = 8;
  const A = Float64Array.from({ length: rank * K }, gauss); // (rank, K)
  const s = Float64Array.from({ length: K }, () => Math.exp(gauss())); // (K) feature scales
  const sample = (n: number) => {
    const X = new Float64Array(n * K); // (n, K)
    for (let t = 0; t < n; t++) {
      const z = Array.from({ length: rank }, gauss);
      for (let j = 0; j < K; j++) {
        let v = 0.3 * gauss();
        for (let k = 0; k < rank; k++) v += z[k] * A[k * K + j];
        X[t * K + j] = v * s[j];
      }
    }
    return X;
  };
  const W0 = Float64Array.from({ length: ROWS * K }, gauss); // (ROWS, K)
  return { W0, calib: sample(96), heldOut: sample(256) };
}

/** H = XᵀX (K, K). */
function gramOf(X: Float64Array) {
  const gram = new Float64Array(K * K);
  for (let t = 0; t < X.length / K; t++) for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) gram[i * K + j] += X[t * K + i] * X[t * K + j];
  return { gram, cols: K, tokens: X.length / K };
}

/** ‖X(W − W₀)ᵀ‖_F / ‖XW₀ᵀ‖_F straight from X. */
function directError(W: Float64Array, W0: Float64Array, X: Float64Array): number {
  let err = 0;
  let base = 0;
  for (let t = 0; t < X.length / K; t++) {
    for (let r = 0; r < ROWS; r++) {
      let y = 0;
      let y0 = 0;
      for (let j = 0; j < K; j++) {
        y += X[t * K + j] * W[r * K + j];
        y0 += X[t * K + j] * W0[r * K + j];
      }
      err += (y - y0) ** 2;
      base += y0 * y0;
    }
  }
  return Math.sqrt(err / base);
}

/** One-shot Wanda 2:4 on the calibration norms. */
function wanda(W0: Float64Array, gram: Float64Array): Float64Array {
  const norms = Float64Array.from({ length: K }, (_, j) => Math.sqrt(gram[j * K + j]));
  const W = Float64Array.from(W0);
  for (let r = 0; r < ROWS; r++) prune24Row(W.subarray(r * K, (r + 1) * K), norms);
  return W;
}

function expect24(W: Float64Array): void {
  for (let g = 0; g < W.length / 4; g++) expect(W.subarray(4 * g, 4 * g + 4).filter((w) => w !== 0).length).toBeLessThanOrEqual(2);
}

describe('recomputeSteps', () => {
  it('gaps grow by the factor until the search fraction', () => {
    expect(recomputeSteps({ ...RECOVER_DEFAULTS, steps: 40, every: 4, growth: 2, searchFraction: 0.75 })).toEqual([4, 12, 28]);
    expect(recomputeSteps({ ...RECOVER_DEFAULTS, steps: 10, every: 1, growth: 1, searchFraction: 0.5 })).toEqual([1, 2, 3, 4]);
    expect(recomputeSteps({ ...RECOVER_DEFAULTS, steps: 100, searchFraction: 0 })).toEqual([]);
  });
});

describe('recoverLinear', () => {
  const { W0, calib, heldOut } = layer(11);
  const H = gramOf(calib);
  const Hheld = gramOf(heldOut);
  const oneShot = wanda(W0, H.gram);
  const rec = recoverLinear(W0, ROWS, K, H, { steps: 120 });

  it('relOutputError through H is the error on X', () => {
    expect(relOutputError(oneShot, W0, ROWS, K, H)).toBeCloseTo(directError(oneShot, W0, calib), 10);
    expect(relOutputError(rec.weights, W0, ROWS, K, Hheld)).toBeCloseTo(directError(rec.weights, W0, heldOut), 10);
  });

  it('beats one-shot Wanda on the calibration tokens and on held-out tokens', () => {
    const wandaCalib = directError(oneShot, W0, calib);
    const wandaHeld = directError(oneShot, W0, heldOut);
    const recCalib = directError(rec.weights, W0, calib);
    const recHeld = directError(rec.weights, W0, heldOut);
    expect(recCalib).toBeLessThan(0.7 * wandaCalib);
    expect(recHeld).toBeLessThan(0.7 * wandaHeld);
  });

  it('returns 2:4 weights; the mask moved, then settled', () => {
    expect24(rec.weights);
    const rates = rec.log.recomputes.map((m) => m.flipRate);
    expect(rec.log.recomputes.map((m) => m.step)).toEqual(recomputeSteps({ ...RECOVER_DEFAULTS, steps: 120 }));
    expect(rates[0]).toBeGreaterThan(0);
    expect(rates.at(-1)!).toBeLessThan(rates[0]);
    expect(rec.log.explored).toBeGreaterThan(0.5); // more than one mask's worth of the dense space
    expect(rec.log.explored).toBeLessThanOrEqual(1);
  });

  it('with the search off it is fixed-mask descent from the Wanda mask', () => {
    const fixed = recoverLinear(W0, ROWS, K, H, { steps: 120, searchFraction: 0 });
    expect(fixed.log).toEqual({ recomputes: [], explored: 0.5 });
    for (let i = 0; i < W0.length; i++) expect(fixed.weights[i] === 0).toBe(oneShot[i] === 0);
    expect(directError(fixed.weights, W0, calib)).toBeLessThan(directError(oneShot, W0, calib));
  });

  it('is deterministic: the same layer gives the same bits, another seed other weights', () => {
    expect(recoverLinear(W0, ROWS, K, H, { steps: 120 }).weights).toEqual(rec.weights);
    const other = layer(12);
    expect(recoverLinear(other.W0, ROWS, K, gramOf(other.calib), { steps: 120 }).weights).not.toEqual(rec.weights);
  });

  it('quantised to nvfp4-s24 it keeps legal position codes and its gain over Wanda', () => {
    const r: RecoveredLinear = { name: 'w', rows: ROWS, cols: K, original: W0, gram: H, ...rec };
    const { q, relOutputError: err } = quantizeRecovered(r, false);
    expect(q.format).toBe('nvfp4-s24');
    expect(() => checkPositionCodes(q.positions!, 'w')).not.toThrow();
    expect(err).toBeLessThan(directError(oneShot, W0, calib));
  });
});

describe('convert --recover', () => {
  it('refuses --recover without 2:4', async () => {
    await expect(convertCheckpoint('default', '/nonexistent/never', { quant: 'nvfp4', recover: {} })).rejects.toThrow(/recover/);
  });
});
