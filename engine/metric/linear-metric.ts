// docs/metric-learning.md: a learned metric as it is stored and applied. z = L·((x − μ) / σ),
// L (r, d); the z-score statistics μ, σ (d) come from the training rows. JSON form (L.json):
//   { "format": "edgetron-metric", "version": 1, "energy", "d", "r", "mean": [d], "std": [d],
//     "L": [[d] × r], "fit": { ... free-form facts about the fit ... } }

import { MetricFormatError } from '../core/errors.js';
import { project } from './distances.js';
import { applyZScore, type ZScore } from './zscore.js';

export const METRIC_FORMAT = 'edgetron-metric';
export const METRIC_VERSION = 1;

/** A learned linear metric with its input standardisation. */
export interface LinearMetric {
  readonly energy: string;
  readonly d: number;
  readonly r: number;
  readonly stats: ZScore;
  readonly l: Float64Array; // (r, d)
  readonly fit?: Readonly<Record<string, unknown>>;
}

/**
 * The metric as the JSON object of L.json.
 * @example
 * writeFileSync('L.json', JSON.stringify(metricToJson(metric)));
 */
export function metricToJson(m: LinearMetric): Record<string, unknown> {
  return {
    format: METRIC_FORMAT,
    version: METRIC_VERSION,
    energy: m.energy,
    d: m.d,
    r: m.r,
    mean: [...m.stats.mean],
    std: [...m.stats.std],
    L: Array.from({ length: m.r }, (_, a) => [...m.l.subarray(a * m.d, a * m.d + m.d)]),
    fit: m.fit ?? {},
  };
}

const isNumbers = (v: unknown, len: number): v is number[] => Array.isArray(v) && v.length === len && v.every((e) => typeof e === 'number' && Number.isFinite(e));

/**
 * Read a metric from its JSON object; every field is checked.
 * @example
 * const metric = metricFromJson(JSON.parse(readFileSync('L.json', 'utf8')), 'L.json');
 */
export function metricFromJson(json: unknown, source: string): LinearMetric {
  const o = json as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== METRIC_FORMAT) throw new MetricFormatError(source, `not an ${METRIC_FORMAT} file (format must be "${METRIC_FORMAT}")`);
  if (o.version !== METRIC_VERSION) throw new MetricFormatError(source, `version ${JSON.stringify(o.version)} is not supported; expected ${METRIC_VERSION}`);
  const { d, r } = o;
  if (!(Number.isInteger(d) && (d as number) > 0 && Number.isInteger(r) && (r as number) > 0)) throw new MetricFormatError(source, 'd and r must be positive integers');
  const dd = d as number;
  const rr = r as number;
  if (!isNumbers(o.mean, dd) || !isNumbers(o.std, dd) || !(o.std as number[]).every((s) => s > 0)) throw new MetricFormatError(source, `mean and std must be ${dd} finite numbers (std > 0)`);
  if (!Array.isArray(o.L) || o.L.length !== rr || !o.L.every((row) => isNumbers(row, dd))) throw new MetricFormatError(source, `L must be ${rr} rows of ${dd} finite numbers`);
  return {
    energy: typeof o.energy === 'string' ? o.energy : 'unknown',
    d: dd,
    r: rr,
    stats: { mean: Float64Array.from(o.mean as number[]), std: Float64Array.from(o.std as number[]) },
    l: Float64Array.from((o.L as number[][]).flat()),
    fit: typeof o.fit === 'object' && o.fit !== null ? (o.fit as Record<string, unknown>) : {},
  };
}

/**
 * Map raw rows X (n, d) into the metric space: Z = ((X − μ) / σ) Lᵀ (n, r).
 * @example
 * const z = applyMetric(metric, test.x, test.n);
 */
export function applyMetric(m: LinearMetric, x: Float64Array, n: number): Float64Array {
  if (x.length !== n * m.d) throw new MetricFormatError('input', `rows have ${x.length / n} features, the metric expects ${m.d}`);
  return project(applyZScore(x, n, m.stats), n, m.d, m.l, m.r);
}
