import { describe, expect, it } from 'vitest';
import { softplus } from '../../../engine/reference/activations.js';
import { ssdChunked, ssdSequential, type SsdInputs } from '../../../engine/reference/ssd.js';
import { mulberry32 } from '../../helpers/memory-store.js';

// H = 4 heads of P = 3 in G = 2 groups, N = 5 state; chunk length Q = 4
const H = 4;
const P = 3;
const G = 2;
const N = 5;
const Q = 4;

function randomInputs(T: number, seed: number): SsdInputs {
  const rand = mulberry32(seed);
  const vals = (n: number, f: () => number) => Float64Array.from({ length: n }, f);
  const sym = () => 2 * rand() - 1;
  return {
    T,
    nHeads: H,
    headDim: P,
    nGroups: G,
    dState: N,
    x: vals(T * H * P, sym),
    dt: vals(T * H, () => softplus(4 * rand() - 3)), // Δ from about 0.05 to 1.3
    A: vals(H, () => -Math.exp(3 * rand() - 1)), // A from −0.4 to −7
    B: vals(T * G * N, sym),
    C: vals(T * G * N, sym),
    D: vals(H, () => 0.5 + rand()),
  };
}

const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('SSD (spec §6.5–6.6)', () => {
  it('one sequential step matches the recurrence computed by hand', () => {
    // H = P = N = G = 1: S = α·S0 + Δ·B·x with α = exp(Δ·A); y = C·S + D·x
    const dt = Math.LN2; // Δ = ln 2, A = −1 → α = 1/2
    const state = Float64Array.from([2]);
    const inputs: SsdInputs = {
      T: 1,
      nHeads: 1,
      headDim: 1,
      nGroups: 1,
      dState: 1,
      x: Float64Array.from([4]),
      dt: Float64Array.from([dt]),
      A: Float64Array.from([-1]),
      B: Float64Array.from([3]),
      C: Float64Array.from([5]),
      D: Float64Array.from([0.5]),
    };
    const y = ssdSequential(inputs, state);
    const s = 0.5 * 2 + dt * 3 * 4;
    expect(state[0]).toBeCloseTo(s, 14);
    expect(y[0]).toBeCloseTo(5 * s + 0.5 * 4, 13);
  });

  it('heads read the B/C group ⌊h / (H/G)⌋', () => {
    // zero state, one token: y[h] = Δ_h · ⟨C_g, B_g⟩ · x_h + D·x_h; make group 1's B zero
    const inputs = randomInputs(1, 3);
    const B = inputs.B.slice();
    B.fill(0, N, 2 * N);
    const y = ssdSequential({ ...inputs, B }, new Float64Array(H * P * N));
    for (let h = 0; h < H; h++) {
      for (let p = 0; p < P; p++) {
        const x = inputs.x[h * P + p];
        const skip = inputs.D[h] * x;
        if (h >= H / G) expect(y[h * P + p]).toBe(skip); // heads 2, 3 → group 1 → no state input
        else expect(y[h * P + p]).not.toBeCloseTo(skip, 6);
      }
    }
  });

  for (const T of [3, 8, 11]) {
    for (const withState of [false, true]) {
      const label = `${T < Q ? 'T < Q' : T % Q === 0 ? 'T = k·Q' : 'T not a multiple of Q'} (T = ${T}), ${withState ? 'non-zero' : 'zero'} initial state`;
      it(`chunked equals sequential: ${label}`, () => {
        const inputs = randomInputs(T, 100 + T);
        const rand = mulberry32(7);
        const s0 = Float64Array.from({ length: H * P * N }, () => (withState ? 2 * rand() - 1 : 0));
        const sSeq = s0.slice();
        const sChunk = s0.slice();
        const ySeq = ssdSequential(inputs, sSeq);
        const yChunk = ssdChunked(inputs, sChunk, Q);
        expect(maxDiff(ySeq, yChunk)).toBeLessThanOrEqual(1e-12 * maxAbs(ySeq));
        expect(maxDiff(sSeq, sChunk)).toBeLessThanOrEqual(1e-12 * maxAbs(sSeq));
        // the inputs are not trivial: the state moved and the outputs are of order 1
        expect(maxDiff(sSeq, s0)).toBeGreaterThan(0.1);
        expect(maxAbs(ySeq)).toBeGreaterThan(0.1);
      });
    }
  }

  it('chunked with Q = 1 and Q > T are the same scan', () => {
    const inputs = randomInputs(6, 9);
    const a = new Float64Array(H * P * N);
    const b = new Float64Array(H * P * N);
    const ya = ssdChunked(inputs, a, 1);
    const yb = ssdChunked(inputs, b, 16);
    expect(maxDiff(ya, yb)).toBeLessThanOrEqual(1e-12 * maxAbs(ya));
    expect(maxDiff(a, b)).toBeLessThanOrEqual(1e-12 * maxAbs(a));
  });
});
