import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES } from '../../helpers/fixtures.js';

const FIXTURE = `${FIXTURES}moe/hf/`;
const TEXT = 'The whale, the whale!\n';

const cli = (...argv: string[]) => runCli(argv);

/** A failure: the exit status and one stderr line `edgetron: …` matching `pattern`. */
async function expectError(argv: string[], code: number, pattern: RegExp) {
  const r = await cli(...argv);
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')[0]).toMatch(/^edgetron: /);
  expect(r.stderr).toMatch(pattern);
}

let dir: string;
let textFile: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgetron-cli-eval-'));
  textFile = join(dir, 'text.txt');
  writeFileSync(textFile, TEXT);
  writeFileSync(join(dir, 'empty.txt'), '');
  writeFileSync(join(dir, 'train.txt'), 'The whale swam. The whale dived. The ship sailed on the sea.\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edgetron eval --model', () => {
  it('prints the NLL that `logits` gives for BOS + the tokens of the file, as bits per byte and perplexity', async () => {
    const ids = JSON.parse((await cli('tokenize', '--model', FIXTURE, '--text', TEXT)).stdout) as number[];
    const s = [1, ...ids]; // BOS = bos_token_id of the fixture
    const logits = JSON.parse((await cli('logits', '--model', FIXTURE, '--backend', 'reference', '--tokens', s.slice(0, -1).join(','))).stdout).logits as number[][];
    let nll = 0;
    logits.forEach((row, t) => {
      const m = Math.max(...row);
      nll += m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0)) - row[s[t + 1]];
    });
    const r = await cli('eval', '--model', FIXTURE, '--text', textFile, '--backend', 'reference');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['tokens', 'bytes', 'bits_per_byte', 'perplexity']);
    expect(out.tokens).toBe(ids.length);
    expect(out.bytes).toBe(TEXT.length);
    expect(out.bits_per_byte).toBeCloseTo(nll / Math.LN2 / TEXT.length, 4);
    expect(out.perplexity).toBeCloseTo(Math.exp(nll / ids.length), 3);
  });

  it('names a missing or empty file, a bad --context, and a missing --text', async () => {
    await expectError(['eval', '--model', FIXTURE, '--text', join(dir, 'nope.txt')], 1, /nope\.txt: cannot read the text \(ENOENT\)/);
    await expectError(['eval', '--model', FIXTURE, '--text', join(dir, 'empty.txt')], 1, /empty\.txt: the text is empty/);
    await expectError(['eval', '--model', FIXTURE, '--text', textFile, '--context', '0'], 2, /--context must be an integer/);
    await expectError(['eval', '--model', FIXTURE, '--text', textFile, '--context', '5000', '--backend', 'reference'], 1, /context = 5000 is invalid; expected an integer in 1\.\.4096/);
    await expectError(['eval', '--model', FIXTURE], 2, /--text is required/);
  });
});

describe('edgetron eval --trigram', () => {
  it('prints the trigram baseline with the same keys, bytes as tokens', async () => {
    const r = await cli('eval', '--trigram', join(dir, 'train.txt'), '--text', textFile);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tokens).toBe(TEXT.length);
    expect(out.bytes).toBe(TEXT.length);
    expect(out.bits_per_byte).toBeGreaterThan(0);
    expect(out.bits_per_byte).toBeLessThan(8);
    expect(out.perplexity).toBeCloseTo(2 ** out.bits_per_byte, 9);
  });

  it('refuses model options with --trigram and names an unreadable train file', async () => {
    await expectError(['eval', '--trigram', join(dir, 'train.txt'), '--text', textFile, '--model', FIXTURE], 2, /--model does not apply/);
    await expectError(['eval', '--trigram', join(dir, 'none.txt'), '--text', textFile], 1, /none\.txt: cannot read the text/);
  });
});
