import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../engine/core/errors.js';
import { Sampler, argmax, distribution, nucleus } from '../../../engine/decode/sample.js';

const logitsOf = (probs: number[]) => Float32Array.from(probs, Math.log);

/** Draw n ids and count how often each occurs. */
function frequencies(sampler: Sampler, logits: Float32Array, n: number): number[] {
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampler.sample(logits)]++;
  return counts;
}

/** |count − n·p| within 5 binomial standard deviations (false failure rate < 1e-6 per check). */
function expectBinomial(count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(count - n * p)).toBeLessThanOrEqual(5 * sd + 1e-9);
}

describe('argmax', () => {
  it('returns the index of the largest logit', () => {
    expect(argmax(Float32Array.of(0.1, 3, -2, 2.9))).toBe(1);
  });
  it('breaks ties toward the lowest id', () => {
    expect(argmax(Float32Array.of(1, 5, 5, 5))).toBe(1);
    expect(argmax(Float32Array.of(-1, -1))).toBe(0);
  });
  it('ignores NaN', () => {
    expect(argmax(Float32Array.of(NaN, 1, 2))).toBe(2);
  });
});

describe('nucleus (top-k, top-p)', () => {
  it('top-p 0.5 on [0.5, 0.3, 0.2] keeps only the first', () => {
    const d = nucleus(Float64Array.of(0.5, 0.3, 0.2), 0, 0.5);
    expect(Array.from(d.ids)).toEqual([0]);
    expect(Array.from(d.probs)).toEqual([1]);
  });
  it('top-p 0.6 on [0.2, 0.5, 0.3] keeps ids 1 and 2, renormalised', () => {
    const d = nucleus(Float64Array.of(0.2, 0.5, 0.3), 0, 0.6);
    expect(Array.from(d.ids)).toEqual([1, 2]);
    expect(d.probs[0]).toBeCloseTo(0.625, 12);
    expect(d.probs[1]).toBeCloseTo(0.375, 12);
  });
  it('tiny top-p keeps at least one token', () => {
    const d = nucleus(Float64Array.of(0.1, 0.1, 0.8), 0, 1e-9);
    expect(Array.from(d.ids)).toEqual([2]);
  });
  it('top-k keeps the k largest and breaks ties by lowest id', () => {
    expect(Array.from(nucleus(Float64Array.of(1, 4, 2, 3), 2, 1).ids)).toEqual([1, 3]);
    expect(Array.from(nucleus(Float64Array.of(1, 2, 2, 2), 2, 1).ids)).toEqual([1, 2]);
  });
  it('top-p applies to the mass top-k left', () => {
    // top-k 2 leaves [0.4, 0.3] → renormalised [4/7, 3/7]; top-p 0.5 then keeps only 0.4
    const d = nucleus(Float64Array.of(0.4, 0.3, 0.2, 0.1), 2, 0.5);
    expect(Array.from(d.ids)).toEqual([0]);
    // without top-k, top-p 0.5 needs 0.4 + 0.3
    expect(Array.from(nucleus(Float64Array.of(0.4, 0.3, 0.2, 0.1), 0, 0.5).ids)).toEqual([0, 1]);
  });
  it('off (k = 0, p = 1) keeps everything', () => {
    const d = nucleus(Float64Array.of(1, 1, 2), 0, 1);
    expect(Array.from(d.ids)).toEqual([0, 1, 2]);
    expect(Array.from(d.probs)).toEqual([0.25, 0.25, 0.5]);
  });
});

describe('distribution', () => {
  it('is the softmax of logits / T', () => {
    const d = distribution(Float32Array.of(0, Math.log(3)), { temperature: 1 });
    expect(d.probs[0]).toBeCloseTo(0.25, 6);
    expect(d.probs[1]).toBeCloseTo(0.75, 6);
    // T = 2 flattens: weights 1 and sqrt(3)
    const h = distribution(Float32Array.of(0, Math.log(3)), { temperature: 2 });
    expect(h.probs[1]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 6);
  });
  it('is stable for large logits', () => {
    const d = distribution(Float32Array.of(1000, 1000 + Math.log(3)), {});
    expect(d.probs[1]).toBeCloseTo(0.75, 3);
  });
  it('temperature 0 and top-k 1 are greedy', () => {
    expect(Array.from(distribution(Float32Array.of(1, 3, 3), { temperature: 0 }).ids)).toEqual([1]);
    expect(Array.from(distribution(Float32Array.of(1, 3, 2), { topK: 1, temperature: 5 }).ids)).toEqual([1]);
  });
});

describe('Sampler', () => {
  it('greedy ignores the seed', () => {
    const logits = Float32Array.of(0.1, 0.7, 0.2);
    for (const seed of [0, 1, 99]) expect(new Sampler({ temperature: 0, seed }).sample(logits)).toBe(1);
  });
  it('same seed gives the same sequence of draws', () => {
    const logits = logitsOf([0.25, 0.25, 0.25, 0.25]);
    const draw = (seed: number) => {
      const s = new Sampler({ seed });
      return Array.from({ length: 32 }, () => s.sample(logits));
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });
  it('draw frequencies follow the distribution within binomial bounds', () => {
    const p = [0.5, 0.3, 0.15, 0.05];
    const n = 20000;
    const counts = frequencies(new Sampler({ seed: 3 }), logitsOf(p), n);
    p.forEach((pi, i) => expectBinomial(counts[i], n, pi));
  });
  it('top-p never draws outside the nucleus and keeps its proportions', () => {
    const n = 20000;
    // top-p 0.7 over [0.5, 0.3, 0.2] keeps {0, 1} with probabilities 5/8 and 3/8
    const counts = frequencies(new Sampler({ seed: 11, topP: 0.7 }), logitsOf([0.5, 0.3, 0.2]), n);
    expect(counts[2]).toBe(0);
    expectBinomial(counts[0], n, 5 / 8);
  });
  it('top-k never draws outside the k best', () => {
    const counts = frequencies(new Sampler({ seed: 2, topK: 2 }), logitsOf([0.1, 0.4, 0.2, 0.3]), 5000);
    expect(counts[0]).toBe(0);
    expect(counts[2]).toBe(0);
    expectBinomial(counts[1], 5000, 4 / 7);
  });
  it('rejects out-of-range options with the field name', () => {
    expect(() => new Sampler({ temperature: -1 })).toThrow(InvalidOptionError);
    expect(() => new Sampler({ topP: 0 })).toThrow(/topP/);
    expect(() => new Sampler({ topP: 1.5 })).toThrow(/topP/);
    expect(() => new Sampler({ topK: 1.5 })).toThrow(/topK/);
    expect(() => new Sampler({ seed: 0.5 })).toThrow(/seed/);
  });
});
