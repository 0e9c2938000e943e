// The suite gates (describeWithGpu, describeWithChromium) must skip on a machine without the
// adapter or the browser. vitest's suite `skipIf`/`runIf` called on a chain (`describe.skip.skipIf(c)`,
// `describeWithGpu.skipIf(c)`) returns the plain `describe` when c is false, so the gated suite runs
// and fails ("webgpu: no adapter"). The gates' types leave those methods out, but test files are not
// type-checked: this scan keeps every test file free of the chained form.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TESTS = fileURLToPath(new URL('../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
/** A suite skipIf/runIf on a chained or gated describe. */
const CHAINED = /\b(?:describe\.(?:skip|only|concurrent|sequential|shuffle|todo)|describeWith\w+)\.(?:skipIf|runIf)\b/;

describe('suite gates', () => {
  it('recognises the chained forms and not the plain ones', () => {
    expect(['describeWithGpu.skipIf(!x)(', 'describe.skip.skipIf(a)(', 'describeWithChromium.runIf(b)('].filter((s) => CHAINED.test(s))).toHaveLength(3);
    expect(['describe.skipIf(!gpuInfo || !x)(', 'it.skip.skipIf(a)(', 'describeWithGpu.each(rows)('].filter((s) => CHAINED.test(s))).toEqual([]);
  });

  it('no test file chains skipIf/runIf onto a gated describe', () => {
    const files = readdirSync(TESTS, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.startsWith('fixtures'))
      .map((f) => join(TESTS, f))
      .filter((path) => path !== SELF);
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((path) => CHAINED.test(readFileSync(path, 'utf8')))).toEqual([]);
  });
});
