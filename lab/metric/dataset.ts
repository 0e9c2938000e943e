// The UCI comparison (docs/metric-learning.md): labelled data for metric learning. A data set is
// n rows of d numeric features, X (n, d) row-major, and one integer label per row, y (n).
// Text form: one row per line, the d features then the label, comma-separated; the UCI files
// add one header line `n_samples,n_features,class names...`. Splits are stratified and seeded.

import { Prng } from '../../engine/decode/prng.js';
import { DatasetError } from '../../engine/core/errors.js';

/** n labelled rows: X (n, d) row-major, y (n). */
export interface LabelledData {
  readonly n: number;
  readonly d: number;
  readonly x: Float64Array; // (n, d)
  readonly y: Int32Array; // (n)
}

/** Parse data lines (already split) starting at 1-based line number `firstLine`. */
function parseRows(lines: readonly string[], firstLine: number, source: string): LabelledData {
  const rows: number[][] = [];
  let d = -1;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const cells = line.split(',').map((c) => c.trim());
    const values = cells.map(Number);
    const lineNo = firstLine + i;
    if (cells.length < 2) throw new DatasetError(source, lineNo, `expected features then a label, got ${cells.length} cell(s)`);
    const bad = cells.findIndex((c, j) => c === '' || !Number.isFinite(values[j]));
    if (bad >= 0) throw new DatasetError(source, lineNo, `cell ${bad + 1} is not a finite number: "${cells[bad]}"`);
    if (!Number.isInteger(values[values.length - 1]) || values[values.length - 1] < 0) {
      throw new DatasetError(source, lineNo, `the label (last cell) must be a non-negative integer, got "${cells[cells.length - 1]}"`);
    }
    if (d >= 0 && values.length - 1 !== d) throw new DatasetError(source, lineNo, `${values.length - 1} features, earlier rows have ${d}`);
    d = values.length - 1;
    rows.push(values);
  });
  if (rows.length === 0) throw new DatasetError(source, 0, 'no data rows');
  const n = rows.length;
  const x = new Float64Array(n * d);
  const y = new Int32Array(n);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) x[i * d + j] = r[j];
    y[i] = r[d];
  });
  return { n, d, x, y };
}

/**
 * Parse a headerless CSV: each line is d numbers then an integer label.
 * @example
 * parseLabelledCsv('1,2,0\n3,4,1\n', 'train.csv'); // { n: 2, d: 2, x: [1,2,3,4], y: [0,1] }
 */
export function parseLabelledCsv(text: string, source: string): LabelledData {
  return parseRows(text.split(/\r?\n/), 1, source);
}

/**
 * Parse a UCI file as scikit-learn ships it: a header `n,d,class names...`, then the rows;
 * the header's n and d must match the rows.
 * @example
 * const iris = parseUciCsv(readFileSync('iris.csv', 'utf8'), 'iris.csv'); // n 150, d 4
 */
export function parseUciCsv(text: string, source: string): LabelledData {
  const [header, ...lines] = text.split(/\r?\n/);
  const [nText, dText] = header.split(',');
  const data = parseRows(lines, 2, source);
  if (Number(nText) !== data.n || Number(dText) !== data.d) {
    throw new DatasetError(source, 1, `header says ${nText} rows of ${dText} features, the file has ${data.n} rows of ${data.d}`);
  }
  return data;
}

/**
 * The rows `idx` of `data`, in that order.
 * @example
 * const train = subset(iris, split.train);
 */
export function subset(data: LabelledData, idx: ArrayLike<number>): LabelledData {
  const { d } = data;
  const x = new Float64Array(idx.length * d);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    x.set(data.x.subarray(idx[i] * d, idx[i] * d + d), i * d);
    y[i] = data.y[idx[i]];
  }
  return { n: idx.length, d, x, y };
}

/** Row indices of a train/test split. */
export interface Split {
  readonly train: Int32Array;
  readonly test: Int32Array;
}

/**
 * A stratified split: each class contributes round(testFraction · its size) rows to `test`,
 * chosen by a seeded Fisher–Yates shuffle of that class (same seed, same split). Indices are
 * sorted ascending within each part.
 * @example
 * const { train, test } = stratifiedSplit(iris.y, 0.3, 0); // 105 / 45 rows, 15 test rows per class
 */
export function stratifiedSplit(y: Int32Array, testFraction: number, seed: number): Split {
  const rng = new Prng(seed, 'stratified-split');
  const classes = [...new Set(y)].sort((a, b) => a - b);
  const train: number[] = [];
  const test: number[] = [];
  for (const c of classes) {
    const members: number[] = [];
    y.forEach((label, i) => label === c && members.push(i));
    for (let i = members.length - 1; i > 0; i--) {
      const j = rng.nextU32() % (i + 1);
      [members[i], members[j]] = [members[j], members[i]];
    }
    const nTest = Math.round(testFraction * members.length);
    test.push(...members.slice(0, nTest));
    train.push(...members.slice(nTest));
  }
  const sorted = (a: number[]) => Int32Array.from(a.sort((p, q) => p - q));
  return { train: sorted(train), test: sorted(test) };
}
