import { describe, expect, it } from 'vitest';
import { errorRate, knnPredict, nearest, rowDistances, vote } from '../../../engine/metric/knn.js';

describe('nearest', () => {
  it('returns the k smallest, nearest first, ties in index order, skipping one index', () => {
    const dist = Float64Array.of(5, 1, 3, 1, 0, 9);
    expect([...nearest(dist, 3)]).toEqual([4, 1, 3]);
    expect([...nearest(dist, 3, 4)]).toEqual([1, 3, 2]);
    expect([...nearest(dist, 10)]).toEqual([4, 1, 3, 2, 0, 5]);
  });
});

describe('vote', () => {
  const labels = Int32Array.of(0, 1, 2, 1, 0);
  it('takes the majority', () => expect(vote(Int32Array.of(1, 0, 3), labels)).toBe(1));
  it('breaks a tie by the nearest neighbour among the tied labels', () => {
    // 3-way tie (0, 1, 2): the nearest is row 2 → label 2
    expect(vote(Int32Array.of(2, 0, 1), labels)).toBe(2);
    // labels 1,0,0,1 → tie between 1 and 0: nearest is row 1 → 1
    expect(vote(Int32Array.of(1, 0, 4, 3), labels)).toBe(1);
    // 4 neighbours 2,1,0,1 → 1 has two votes, beats the nearer 2
    expect(vote(Int32Array.of(2, 1, 0, 3), labels)).toBe(1);
  });
});

describe('knnPredict', () => {
  it('classifies hand-placed points by their 3 nearest training rows', () => {
    const train = Float64Array.of(0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10); // (6, 2)
    const trainY = Int32Array.of(0, 0, 0, 1, 1, 1);
    const query = Float64Array.of(0.4, 0.4, 9, 9); // (2, 2)
    expect(rowDistances(query, 0, train, 6, 2)[0]).toBeCloseTo(0.32, 12);
    const predicted = knnPredict(train, trainY, query, 2, 2, 3);
    expect([...predicted]).toEqual([0, 1]);
    expect(errorRate(predicted, Int32Array.of(0, 0))).toBe(0.5);
  });
});
