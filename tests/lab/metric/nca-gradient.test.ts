import { describe, expect, it } from 'vitest';
import { Prng } from '../../../engine/decode/prng.js';
import { identity, pairwiseSquared, project } from '../../../engine/metric/distances.js';
import { ncaEnergy } from '../../../engine/metric/energies.js';
import { fitGradientNca, ncaObjective } from '../../../lab/metric/nca-gradient.js';

const n = 14;
const d = 4;
const rng = new Prng(5, 'nca-grad');
const x = Float64Array.from({ length: n * d }, () => rng.uniform(-1.5, 1.5));
const y = Int32Array.from({ length: n }, (_, i) => i % 3);

describe('ncaObjective', () => {
  it.each([4, 2])('its gradient matches central finite differences (r = %i)', (r) => {
    const l = Float64Array.from({ length: r * d }, () => rng.uniform(-1, 1));
    const { value, grad } = ncaObjective(x, y, d, l, r);
    expect(value).toBeCloseTo(ncaEnergy(pairwiseSquared(project(x, n, d, l, r), n, r), y), 14);
    const h = 1e-6;
    for (let k = 0; k < r * d; k++) {
      const up = Float64Array.from(l);
      const down = Float64Array.from(l);
      up[k] += h;
      down[k] -= h;
      const fd = (ncaObjective(x, y, d, up, r).value - ncaObjective(x, y, d, down, r).value) / (2 * h);
      expect(Math.abs(grad[k] - fd)).toBeLessThan(1e-7);
    }
  });
});

describe('fitGradientNca', () => {
  it('lowers the NCA energy from the identity and is deterministic', () => {
    const start = ncaObjective(x, y, d, identity(d), d).value;
    const fit = fitGradientNca(x, y, d, { maxIter: 30 });
    expect(fit.energy).toBeLessThan(start - 0.05);
    expect(fitGradientNca(x, y, d, { maxIter: 30 }).l).toEqual(fit.l);
  });
});
