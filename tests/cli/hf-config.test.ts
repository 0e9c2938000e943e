// Inspect, run and convert on a checkpoint whose config.json is written as
// Hugging Face writes it: Python's bare `Infinity` (`"time_step_limit": [0.0, Infinity]`),
// transformers 5's `{"__float__": "Infinity"}`, NaN / -Infinity in keys the engine does not read.
// The checkpoint is the tiny preset (every layer kind; the Nano 4B at full width is 7.4 GiB, and
// even one layer with its 131072 × 3136 embedding and head is 1.6 GiB), its config.json text
// rewritten here by hand, independently of edgetron's writer.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const cli = (...argv: string[]) => runCli(argv);

let tmp: string;
let base: string;

/** A copy of the tiny synth whose config.json is the plain JSON text with `tail` spliced in before the closing brace. */
function variant(name: string, tail: string): string {
  const dir = join(tmp, name);
  cpSync(base, dir, { recursive: true });
  const plain = JSON.stringify(JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')), null, 2);
  writeFileSync(join(dir, 'config.json'), `${plain.slice(0, plain.lastIndexOf('}')).trimEnd()},\n${tail}\n}\n`);
  return dir;
}

// json.dumps({"time_step_limit": (0.0, float("inf"))}, indent=2) body, and NaN / -inf in unused keys
const PYTHON = '  "time_step_limit": [\n    0.0,\n    Infinity\n  ],\n  "unused_nan": NaN,\n  "unused_floor": -Infinity';
const TRANSFORMERS5 = '  "time_step_limit": [\n    0.0,\n    {\n      "__float__": "Infinity"\n    }\n  ]';

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'edgetron-hf-config-'));
  base = join(tmp, 'tiny');
  expect((await cli('synth', '--preset', 'tiny', '--seed', '4', '--out', base)).code).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a config.json as Hugging Face writes it', () => {
  it('Python json (bare Infinity, NaN, -Infinity): inspect, run, convert --quant nvfp4, run the pack', async () => {
    const dir = variant('python', PYTHON);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toContain('    0.0,\n    Infinity\n');

    const info = await cli('inspect', dir);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/time_step_limit \[0, Infinity\] \(Δ not clamped, spec §6\.4\)/);

    const run = await cli('run', '--model', dir, '--prompt', 'Once upon a time', '--max-tokens', '4', '--temperature', '0', '--backend', 'reference', '--stats');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stderr.trimEnd().split('\n').at(-1)!).completion_tokens).toBe(4);

    const pack = join(tmp, 'python-nvfp4');
    const convert = await cli('convert', dir, pack, '--quant', 'nvfp4');
    expect(convert.code).toBe(0);
    // the pack keeps the values, written back as Python writes them
    const packed = readFileSync(join(pack, 'config.json'), 'utf8');
    expect(packed).toMatch(/"time_step_limit": \[\n {4}0,\n {4}Infinity\n {2}\]/);
    expect(packed).toContain('"unused_nan": NaN');
    expect(packed).toContain('"unused_floor": -Infinity');
    expect(packed).toContain('"quant_algo": "NVFP4"');

    const again = await cli('run', '--model', pack, '--prompt', 'Once upon a time', '--max-tokens', '3', '--temperature', '0', '--backend', 'reference', '--stats');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stderr.trimEnd().split('\n').at(-1)!).completion_tokens).toBe(3);
  });

  it('transformers 5 ({"__float__": "Infinity"}): inspect reads the number', async () => {
    const r = await cli('inspect', variant('transformers5', TRANSFORMERS5));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/time_step_limit \[0, Infinity\]/);
  });

  it.each([
    ['Infinityx', '    Infinityx', /line \d+, column 5: unknown token "Infinityx"/],
    ['+Infinity', '    +Infinity', /line \d+, column 5: unexpected "\+"; expected a value/],
    ['infinity', '    infinity', /line \d+, column 5: unknown token "infinity"/],
  ])('%s: one error line naming the file, line and column', async (_, token, reason) => {
    const dir = variant(`bad-${token.trim()}`, `  "time_step_limit": [\n    0.0,\n${token}\n  ]`);
    const r = await cli('inspect', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${join(dir, 'config.json')}: malformed JSON: `);
    expect(lines[0]).toMatch(reason);
    const line = Number(/line (\d+)/.exec(lines[0])![1]);
    expect(readFileSync(join(dir, 'config.json'), 'utf8').split('\n')[line - 1]).toBe(token);
  });

  it('a bare token inside a string stays a string (and so is a type error where a number belongs)', async () => {
    const ok = await cli('inspect', variant('quoted-note', '  "note": "Infinity NaN"'));
    expect(ok.code).toBe(0);
    const r = await cli('inspect', variant('quoted', '  "time_step_limit": [0.0, "Infinity"]'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.json: time_step_limit: must be \[lo, hi\]/);
  });
});
