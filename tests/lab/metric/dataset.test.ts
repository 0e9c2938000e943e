import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLabelledCsv, parseUciCsv, stratifiedSplit, subset } from '../../../lab/metric/dataset.js';
import { DatasetError } from '../../../engine/core/errors.js';

import { UCI } from '../../helpers/fixtures.js';

describe('parseLabelledCsv', () => {
  it('reads features then an integer label per line, skipping blank lines', () => {
    const data = parseLabelledCsv('1.5,-2,0\n\n3,4e-1,2\r\n', 't.csv');
    expect([data.n, data.d]).toEqual([2, 2]);
    expect([...data.x]).toEqual([1.5, -2, 3, 0.4]);
    expect([...data.y]).toEqual([0, 2]);
  });

  it.each([
    ['1,2,0\n3,0\n', 't.csv:2: 1 features, earlier rows have 2'],
    ['1,x,0\n', 't.csv:1: cell 2 is not a finite number: "x"'],
    ['1,2,0.5\n', 't.csv:1: the label (last cell) must be a non-negative integer, got "0.5"'],
    ['1,2,-1\n', 't.csv:1: the label (last cell) must be a non-negative integer, got "-1"'],
    ['7\n', 't.csv:1: expected features then a label, got 1 cell(s)'],
    ['\n\n', 't.csv: no data rows'],
  ])('rejects %j with a DatasetError naming the line', (text, message) => {
    expect(() => parseLabelledCsv(text, 't.csv')).toThrow(DatasetError);
    expect(() => parseLabelledCsv(text, 't.csv')).toThrow(message);
  });
});

describe('parseUciCsv', () => {
  it('reads the shared UCI files with the sizes their README gives', () => {
    for (const [file, n, d, classes] of [['iris.csv', 150, 4, 3], ['wine_data.csv', 178, 13, 3], ['breast_cancer.csv', 569, 30, 2]] as const) {
      const data = parseUciCsv(readFileSync(`${UCI}${file}`, 'utf8'), file);
      expect([data.n, data.d, new Set(data.y).size]).toEqual([n, d, classes]);
    }
  });

  it('checks the header against the rows', () => {
    expect(() => parseUciCsv('3,2,a,b\n1,2,0\n3,4,1\n', 'h.csv')).toThrow('h.csv:1: header says 3 rows of 2 features, the file has 2 rows of 2');
  });
});

describe('stratifiedSplit / subset', () => {
  const y = Int32Array.from({ length: 150 }, (_, i) => Math.floor(i / 50));

  it('puts round(0.3 · class size) of each class in test, disjoint and covering', () => {
    const { train, test } = stratifiedSplit(y, 0.3, 0);
    expect(test.length).toBe(45);
    expect([0, 1, 2].map((c) => [...test].filter((i) => y[i] === c).length)).toEqual([15, 15, 15]);
    expect(new Set([...train, ...test]).size).toBe(150);
  });

  it('is seeded: same seed same split, another seed another split', () => {
    expect(stratifiedSplit(y, 0.3, 4)).toEqual(stratifiedSplit(y, 0.3, 4));
    expect([...stratifiedSplit(y, 0.3, 5).test]).not.toEqual([...stratifiedSplit(y, 0.3, 4).test]);
  });

  it('subset copies rows in the given order', () => {
    const data = parseLabelledCsv('1,2,0\n3,4,1\n5,6,2\n', 't');
    const s = subset(data, [2, 0]);
    expect([...s.x]).toEqual([5, 6, 1, 2]);
    expect([...s.y]).toEqual([2, 0]);
  });
});
