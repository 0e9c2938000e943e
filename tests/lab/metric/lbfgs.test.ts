import { describe, expect, it } from 'vitest';
import { lbfgs } from '../../../lab/metric/lbfgs.js';

describe('lbfgs', () => {
  it('minimises the Rosenbrock function to its minimum at (1, 1)', () => {
    const rosen = (x: Float64Array) => ({
      value: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2,
      grad: Float64Array.of(-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)),
    });
    const result = lbfgs(rosen, Float64Array.of(-1.2, 1), { maxIter: 200 });
    expect(result.x[0]).toBeCloseTo(1, 4);
    expect(result.x[1]).toBeCloseTo(1, 4);
    expect(result.value).toBeLessThan(1e-8);
  });

  it('solves a convex quadratic ½xᵀAx − bᵀx (A = [[3,1],[1,2]], b = [1,1]) → x = A⁻¹b = (0.2, 0.4)', () => {
    const f = (x: Float64Array) => ({
      value: 0.5 * (3 * x[0] ** 2 + 2 * x[0] * x[1] + 2 * x[1] ** 2) - x[0] - x[1],
      grad: Float64Array.of(3 * x[0] + x[1] - 1, x[0] + 2 * x[1] - 1),
    });
    const { x, iterations } = lbfgs(f, Float64Array.of(5, -5));
    expect(x[0]).toBeCloseTo(0.2, 6);
    expect(x[1]).toBeCloseTo(0.4, 6);
    expect(iterations).toBeLessThan(20);
  });

  it('stops at once at a stationary point and after maxIter otherwise', () => {
    const bowl = (x: Float64Array) => ({ value: x[0] ** 2, grad: Float64Array.of(2 * x[0]) });
    expect(lbfgs(bowl, Float64Array.of(0)).iterations).toBe(0);
    expect(lbfgs(bowl, Float64Array.of(3), { maxIter: 1 }).iterations).toBe(1);
  });
});
