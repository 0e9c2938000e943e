import { describe, expect, it } from 'vitest';
import { detExp, detExpm1, detLn } from '../../weights-tools/detmath.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('detmath', () => {
  it('detLn agrees with Math.log to 1e-14 relative over [1e-6, 1e6] and is exact at powers of two', () => {
    for (let x = 1e-6; x < 1e6; x *= 1.37) expect(Math.abs(detLn(x) - Math.log(x))).toBeLessThan(1e-14 * Math.max(1, Math.abs(Math.log(x))));
    expect(detLn(1)).toBe(0);
    expect(detLn(8)).toBe(3 * 0.6931471805599453);
  });

  it('detExp agrees with Math.exp to 1e-14 relative over [-20, 20] and gives exp(0) = 1', () => {
    for (let x = -20; x <= 20; x += 0.173) expect(rel(detExp(x), Math.exp(x))).toBeLessThan(1e-14);
    expect(detExp(0)).toBe(1);
  });

  it('detExpm1 keeps full relative accuracy for tiny x', () => {
    for (const x of [1e-12, -3e-9, 1e-3, 0.1, -0.5, 0.5]) expect(rel(detExpm1(x), Math.expm1(x))).toBeLessThan(1e-15);
  });

  it('rejects arguments outside their domain', () => {
    expect(() => detLn(0)).toThrow(RangeError);
    expect(() => detLn(-1)).toThrow(RangeError);
    expect(() => detExpm1(0.6)).toThrow(RangeError);
    expect(() => detExp(800)).toThrow(RangeError);
  });
});
