import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import type { CliIO } from '../../cli/io.js';
import { TextCodec } from '../../engine/text/text.js';
import { FIXTURES } from '../helpers/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MOE = join(FIXTURES, 'moe/hf');
const V = 512;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `edgetron ...argv` in-process, capturing both streams. */
async function cli(...argv: string[]): Promise<Result> {
  return cliWithEnv({}, ...argv);
}

async function cliWithEnv(env: Record<string, string>, ...argv: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** A failure: non-zero status and exactly one stderr line `edgetron: ...` matching `pattern`. */
function expectOneLineError(r: Result, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^edgetron: /);
  expect(lines[0]).toMatch(pattern);
}

let tmp: string;
let synthDir: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'edgetron-cli-'));
  synthDir = join(tmp, 'tiny');
  const r = await cli('synth', '--preset', 'tiny', '--seed', '1', '--out', synthDir);
  expect(r.code).toBe(0);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('edgetron tokenize', () => {
  it('prints the fixture ids for each fixture text (no BOS)', async () => {
    const cases: { text: string; ids: number[] }[] = JSON.parse(readFileSync(join(FIXTURES, 'tokenize.json'), 'utf8'));
    for (const c of cases.slice(0, 3)) {
      const r = await cli('tokenize', '--model', MOE, '--text', c.text);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(c.ids);
    }
  });
});

describe('edgetron logits', () => {
  it.each(['reference', 'wasm', 'wasm-scalar'])('prints {"backend","tokens","logits"} with one V-row per position, matching llama.cpp (%s)', async (backend) => {
    const tokens = JSON.parse(readFileSync(join(FIXTURES, 'fixture.json'), 'utf8')).tokens.slice(0, 4) as number[];
    const r = await cli('logits', '--model', MOE, '--tokens', tokens.join(','), '--backend', backend);
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('}\n')).toBe(true);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['backend', 'tokens', 'logits']);
    expect(out.backend).toBe(backend);
    expect(out.tokens).toEqual(tokens);
    expect(out.logits).toHaveLength(tokens.length);
    const llama = new Float32Array(readFileSync(join(MOE, '../llamacpp-f32.f32')).buffer.slice(0)); // (64, V)
    let maxAbs = 0;
    out.logits.forEach((row: number[], t: number) => {
      expect(row).toHaveLength(V);
      row.forEach((v, i) => (maxAbs = Math.max(maxAbs, Math.abs(v - llama[t * V + i]))));
    });
    expect(maxAbs).toBeLessThanOrEqual(2e-3); // fixtures/README: f32 engines match to 2e-3
  });
  it('accepts spaces after commas', async () => {
    const r = await cli('logits', '--model', MOE, '--tokens', '1, 2', '--backend', 'reference');
    expect(JSON.parse(r.stdout).tokens).toEqual([1, 2]);
  });
});

describe('edgetron inspect', () => {
  it('reports the layer pattern and tensors', async () => {
    const r = await cli('inspect', MOE);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('MEM*EM*E');
    expect(r.stdout).toContain('backbone.layers.0.mixer.in_proj.weight');
  });
});

describe('edgetron synth', () => {
  it('wrote a loadable checkpoint with a progress line on stderr', async () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(join(synthDir, f))).toBe(true);
    }
    const r = await cli('inspect', synthDir);
    expect(r.stdout).toContain('ME*M-E*E');
  });
  it('--if-missing leaves an existing model alone', async () => {
    const before = statSync(join(synthDir, 'model.safetensors')).mtimeMs;
    const r = await cli('synth', '--preset', 'tiny', '--seed', '2', '--out', synthDir, '--if-missing');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/nothing written/);
    expect(statSync(join(synthDir, 'model.safetensors')).mtimeMs).toBe(before);
  });
  it('the same seed gives the same bytes', async () => {
    const again = join(tmp, 'tiny-again');
    const r = await cli('synth', '--preset', 'tiny', '--seed', '1', '--out', again);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^synth tiny: wrote .* sha256 [0-9a-f]{64}\)\n$/);
    expect(readFileSync(join(again, 'model.safetensors')).equals(readFileSync(join(synthDir, 'model.safetensors')))).toBe(true);
  });
});

describe('edgetron run', () => {
  const STATS_KEYS = ['backend', 'shards', 'prompt_tokens', 'completion_tokens', 'load_ms', 'prefill_tok_s', 'decode_tok_s', 'peak_rss_mb'];

  it('streams text and ends stderr with the --stats JSON line', async () => {
    const r = await cli('run', '--model', synthDir, '--prompt', 'Once upon a time', '--max-tokens', '6', '--temperature', '0', '--backend', 'reference', '--stats');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    const stats = JSON.parse(last);
    expect(Object.keys(stats)).toEqual(STATS_KEYS);
    expect(stats.backend).toBe('reference');
    expect(stats.shards).toBe(1);
    expect(stats.prompt_tokens).toBeGreaterThan(0);
    expect(stats.completion_tokens).toBeGreaterThan(0);
    expect(stats.completion_tokens).toBeLessThanOrEqual(6);
    for (const k of STATS_KEYS.slice(3)) expect(stats[k]).toBeGreaterThan(0);
  });
  it('is reproducible for a seed, and --chat wraps the prompt in the template', async () => {
    const args = ['run', '--model', synthDir, '--prompt', 'Hi', '--max-tokens', '8', '--seed', '5', '--backend', 'reference', '--stats'];
    const a = await cli(...args);
    const b = await cli(...args);
    expect(a.stdout).toBe(b.stdout);
    const chat = await cli(...args, '--chat');
    const noThink = await cli(...args, '--chat', '--no-think');
    const promptTokens = (r: Result) => JSON.parse(r.stderr.trimEnd().split('\n').at(-1)!).prompt_tokens;
    const readJson = (f: string) => JSON.parse(readFileSync(join(synthDir, f), 'utf8'));
    const text = TextCodec.fromJson(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
    const user = [{ role: 'user', content: 'Hi' }];
    expect(text.renderChat(user)).not.toBe(text.renderChat(user, { enableThinking: false }));
    expect(promptTokens(a)).toBe(text.encode('Hi').length);
    expect(promptTokens(chat)).toBe(text.encodeChat(user).length);
    expect(promptTokens(noThink)).toBe(text.encodeChat(user, { enableThinking: false }).length);
    expect(chat.code + noThink.code).toBe(0);
  });
});

describe('errors: one line, non-zero status', () => {
  it('unknown backend names the choices', async () => {
    expectOneLineError(await cli('run', '--model', synthDir, '--prompt', 'x', '--backend', 'webgl'), 1, /unknown backend "webgl".*reference/);
  });
  it('missing model dir names the path', async () => {
    const missing = join(tmp, 'no-such-model');
    expectOneLineError(await cli('logits', '--model', missing, '--tokens', '1', '--backend', 'reference'), 1, new RegExp(missing));
  });
  it('malformed config.json names the file', async () => {
    const bad = join(tmp, 'bad-config');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'config.json'), '{"vocab_size": 512,');
    expectOneLineError(await cli('tokenize', '--model', bad, '--text', 'x'), 1, /config\.json/);
  });
  it('a config.json with a bad key names the key', async () => {
    const bad = join(tmp, 'bad-key');
    mkdirSync(bad, { recursive: true });
    const config = JSON.parse(readFileSync(join(synthDir, 'config.json'), 'utf8'));
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...config, hidden_size: -4 }));
    expectOneLineError(await cli('logits', '--model', bad, '--tokens', '1', '--backend', 'reference'), 1, /hidden_size/);
  });
  it('unknown command lists the commands (exit 2)', async () => {
    expectOneLineError(await cli('frobnicate'), 2, /unknown command "frobnicate".*run, logits, synth, inspect, tokenize/);
  });
  it('bad --tokens is a usage error (exit 2)', async () => {
    expectOneLineError(await cli('logits', '--model', MOE, '--tokens', '1,x,3'), 2, /--tokens/);
    expectOneLineError(await cli('logits', '--model', MOE, '--tokens', ''), 2, /--tokens/);
  });
  it('a token id outside the vocabulary names the id', async () => {
    expectOneLineError(await cli('logits', '--model', MOE, '--tokens', '1,512', '--backend', 'reference'), 1, /token id 512/);
  });
  it('unknown options, bad numbers and missing values are usage errors (exit 2)', async () => {
    expectOneLineError(await cli('run', '--prompt', 'x', '--bogus'), 2, /--bogus/);
    expectOneLineError(await cli('run', '--prompt', 'x', '--max-tokens', 'ten'), 2, /--max-tokens/);
    expectOneLineError(await cli('run'), 2, /--prompt/);
    expectOneLineError(await cli('synth', '--preset', 'tiny', '--out', tmp), 2, /--seed/);
    expectOneLineError(await cli('inspect'), 2, /PATH/);
  });
  it('an out-of-range sampling option names the option', async () => {
    expectOneLineError(await cli('run', '--model', synthDir, '--prompt', 'x', '--top-p', '2', '--backend', 'reference'), 1, /topP/);
  });
  it('EDGETRON_DEBUG=1 adds the stack after the message line', async () => {
    const r = await cliWithEnv({ EDGETRON_DEBUG: '1' }, 'inspect', join(tmp, 'nowhere'));
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^edgetron: .*nowhere/);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(2).every((l) => /^\s+at /.test(l))).toBe(true);
  });
  it('unknown preset names the choices', async () => {
    expectOneLineError(await cli('synth', '--preset', 'huge', '--seed', '1', '--out', join(tmp, 'h')), 1, /unknown preset "huge".*tiny/);
  });
});

describe('help', () => {
  it('--help on each command prints its usage and exits 0', async () => {
    for (const name of ['run', 'logits', 'synth', 'inspect', 'tokenize']) {
      const r = await cli(name, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: edgetron ${name}`));
    }
  });
  it('no command prints the command list on stderr and exits 2', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: edgetron <command>/);
  });
});

/** Newest modification time under `dir` (recursively), for the dist staleness check. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

describe('bin/edgetron.js (spawned)', () => {
  beforeAll(() => {
    const built = join(ROOT, 'dist/cli/main.js');
    const sources = Math.max(...['cli', 'engine', 'weights-tools', 'lab', 'runtime', 'serve', 'assembly/backend'].map((d) => newestMtime(join(ROOT, d))));
    if (!existsSync(built) || statSync(built).mtimeMs < sources) {
      // tsc still emits when another file has a type error; the spawn below is what is tested
      spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT });
    }
  });

  const spawn = (...argv: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/edgetron.js'), ...argv], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, EDGETRON_DEBUG: '' } });

  it('run --stats exits 0 and its last stderr line is the stats JSON', () => {
    const r = spawn('run', '--model', synthDir, '--prompt', 'Hello', '--max-tokens', '4', '--backend', 'reference', '--stats');
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stderr.trimEnd().split('\n').at(-1)!);
    expect(stats.peak_rss_mb).toBeGreaterThan(10);
    expect(stats.completion_tokens).toBeGreaterThan(0);
  });
  it('run --stats on wasm names the kernel build: relaxed by default in a fresh Node 20 process, the SIMD build under EDGETRON_WASM_BUILD=simd', () => {
    const stats = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/edgetron.js'), 'run', '--model', synthDir, '--prompt', 'Hello', '--max-tokens', '2', '--backend', 'wasm', '--stats'], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, EDGETRON_DEBUG: '', ...env },
      });
      expect(r.status).toBe(0);
      return JSON.parse(r.stderr.trimEnd().split('\n').at(-1)!);
    };
    expect(stats({})).toMatchObject({ backend: 'wasm', wasm_build: 'relaxed' });
    expect(stats({ EDGETRON_WASM_BUILD: 'simd' })).toMatchObject({ backend: 'wasm', wasm_build: 'simd' });
  });
  it('an error exits 1 with one line and no stack', () => {
    const r = spawn('inspect', join(tmp, 'nowhere'));
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^edgetron: .*nowhere/)]);
  });
  it('a usage error exits 2', () => {
    expect(spawn('logits', '--tokens', 'a').status).toBe(2);
  });
});
