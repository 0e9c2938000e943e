import { describe, expect, it } from 'vitest';
import { MetricFormatError } from '../../../engine/core/errors.js';
import { applyMetric, metricFromJson, metricToJson, type LinearMetric } from '../../../engine/metric/linear-metric.js';

const metric: LinearMetric = { energy: 'nca', d: 2, r: 1, stats: { mean: Float64Array.of(1, 2), std: Float64Array.of(2, 4) }, l: Float64Array.of(3, -1) };

describe('linear metric', () => {
  it('round-trips through JSON and maps z = L((x − μ)/σ) (worked by hand)', () => {
    const json = JSON.parse(JSON.stringify(metricToJson(metric)));
    expect(json).toMatchObject({ format: 'edgetron-metric', version: 1, d: 2, r: 1, L: [[3, -1]] });
    const back = metricFromJson(json, 'L.json');
    // x = (5, 10): ((5 − 1)/2, (10 − 2)/4) = (2, 2) → 3·2 − 1·2 = 4
    expect([...applyMetric(back, Float64Array.of(5, 10), 1)]).toEqual([4]);
  });

  it.each([
    [{ format: 'other' }, /not an edgetron-metric file/],
    [{ ...metricToJson(metric), version: 2 }, /version 2 is not supported; expected 1/],
    [{ ...metricToJson(metric), r: 0 }, /d and r must be positive integers/],
    [{ ...metricToJson(metric), std: [1, 0] }, /mean and std must be 2 finite numbers \(std > 0\)/],
    [{ ...metricToJson(metric), L: [[1, null]] }, /L must be 1 rows of 2 finite numbers/],
  ])('rejects %j with a MetricFormatError naming the file', (json, message) => {
    expect(() => metricFromJson(json, 'L.json')).toThrow(MetricFormatError);
    expect(() => metricFromJson(json, 'L.json')).toThrow(message);
  });

  it('refuses rows of the wrong width', () => {
    expect(() => applyMetric(metric, Float64Array.of(1, 2, 3), 1)).toThrow(/rows have 3 features, the metric expects 2/);
  });
});
