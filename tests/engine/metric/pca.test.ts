import { describe, expect, it } from 'vitest';
import { identity } from '../../../engine/metric/distances.js';
import { pcaMap, startingMap } from '../../../engine/metric/pca.js';

describe('pcaMap', () => {
  it('finds the axes of an ellipse-shaped cloud, largest first, orthonormal', () => {
    // points spread 10 along (1, 1)/√2 and 1 along (1, −1)/√2, plus a constant third feature
    const rows: number[] = [];
    for (let i = -5; i <= 5; i++) for (const s of [-1, 1]) rows.push((10 * i + s) / Math.SQRT2, (10 * i - s) / Math.SQRT2, 7);
    const n = rows.length / 3;
    const l = pcaMap(Float64Array.from(rows), n, 3, 2);
    expect(Math.abs(l[0] * Math.SQRT1_2 + l[1] * Math.SQRT1_2)).toBeCloseTo(1, 9);
    expect(Math.abs(l[3] * Math.SQRT1_2 - l[4] * Math.SQRT1_2)).toBeCloseTo(1, 9);
    expect(l[0] * l[3] + l[1] * l[4] + l[2] * l[5]).toBeCloseTo(0, 12);
    expect(Math.abs(l[2]) + Math.abs(l[5])).toBeLessThan(1e-9);
  });

  it('startingMap is the identity when r = d', () => {
    expect(startingMap(Float64Array.of(1, 2, 3, 4), 2, 2, 2)).toEqual(identity(2));
  });
});
