import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES } from '../../helpers/fixtures.js';

const cli = (...argv: string[]) => runCli(argv);

let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'edgetron-cli-convert-'));
  expect((await cli('synth', '--preset', 'tiny', '--seed', '2', '--out', join(tmp, 'f32'))).code).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('edgetron convert', () => {
  it('writes an nvfp4-s24 pack with progress and the per-layer report on stderr', async () => {
    writeFileSync(join(tmp, 'calib.txt'), 'A short calibration text for the tiny model, twice. A short calibration text.');
    const r = await cli('convert', join(tmp, 'f32'), join(tmp, 's24'), '--quant', 'nvfp4', '--sparse', '2:4', '--score', 'wanda', '--calib', join(tmp, 'calib.txt'), '--mse');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/convert: 100% \([\d.]+ MiB of [\d.]+ MiB, ETA 0 s\)/);
    expect(r.stderr).toMatch(/per-layer relative error/);
    expect(r.stderr).toMatch(/backbone\.layers\.1\.mixer\.experts\.0\.up_proj\.weight\s+nvfp4-s24\s+[\d.]+%\s+[\d.]+%/);
    expect(r.stderr).toMatch(/mean weight error [\d.]+% over \d+ layers/);
    expect(r.stderr).toMatch(/convert: wrote .*s24 \(1 shards, [\d.]+ MiB\)/);
    const config = JSON.parse(readFileSync(join(tmp, 's24', 'config.json'), 'utf8'));
    expect(config.quantization_config).toMatchObject({ format: 'nvfp4-s24', block_scale_search: 'mse', sparsity: { score: 'wanda' } });
    // the pack runs
    const logits = await cli('logits', '--model', join(tmp, 's24'), '--tokens', '1,2,3', '--backend', 'reference');
    expect(logits.code).toBe(0);
    expect(JSON.parse(logits.stdout).logits).toHaveLength(3);
  });

  it('synth --quant nvfp4 writes a model that loads', async () => {
    expect((await cli('synth', '--preset', 'tiny', '--seed', '2', '--out', join(tmp, 'q'), '--quant', 'nvfp4')).code).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp, 'q', 'config.json'), 'utf8')).quantization_config.format).toBe('nvfp4');
    expect((await cli('logits', '--model', join(tmp, 'q'), '--tokens', '5', '--backend', 'reference')).code).toBe(0);
    const bad = await cli('synth', '--preset', 'tiny', '--seed', '2', '--out', join(tmp, 'q2'), '--quant', 'q4_0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^edgetron: .*--quant must be nvfp4 or fp8, got "q4_0"/);
  });

  it('names bad options in one line with usage status', async () => {
    for (const [args, pattern] of [
      [['--quant', 'int4'], /--quant must be one of f32, bf16, nvfp4, got "int4"/],
      [['--sparse', '4:8'], /--sparse must be one of 2:4, got "4:8"/],
      [['--quant', 'bf16', '--sparse', '2:4'], /--sparse 2:4 needs --quant nvfp4/],
      [['--policy', 'most'], /--policy must be one of nano, all-linear/],
      [['--score', 'random'], /--score must be one of magnitude, wanda/],
      [['--max-memory', '64'], /--max-memory must be an integer in \[97, 16777216\], got "64"/],
    ] as const) {
      const r = await cli('convert', join(tmp, 'f32'), join(tmp, 'never'), ...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
    expect((await cli('convert', join(tmp, 'f32'))).stderr).toMatch(/IN and OUT are required/);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });

  it('converts within a --max-memory cap that leaves 1 MiB for tensor data', async () => {
    const r = await cli('convert', join(tmp, 'f32'), join(tmp, 'capped'), '--quant', 'bf16', '--max-memory', '97');
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp, 'capped', 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
  });

  it('fails with one line naming a missing input', async () => {
    const r = await cli('convert', join(tmp, 'nope'), join(tmp, 'out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^edgetron: .*nope: no such file or folder\n$/);
  });
});

describe('edgetron convert to GGUF', () => {
  const HF = `${FIXTURES}moe/hf`;
  const logitsOf = async (model: string): Promise<number[][]> => {
    const r = await cli('logits', '--model', model, '--tokens', '1,40,300,7,99', '--backend', 'reference');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout).logits;
  };

  it('writes an f32 GGUF (OUT.gguf) whose logits equal the source checkpoint', async () => {
    const out = join(tmp, 'moe.gguf');
    const r = await cli('convert', HF, out);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/convert: 100% .*\nconvert: wrote .*moe\.gguf \(f32\)\n$/);
    expect(readFileSync(out).subarray(0, 4).toString('latin1')).toBe('GGUF');
    const [a, b] = [await logitsOf(HF), await logitsOf(out)];
    let maxAbs = 0;
    for (let t = 0; t < a.length; t++) for (let v = 0; v < a[t].length; v++) maxAbs = Math.max(maxAbs, Math.abs(a[t][v] - b[t][v]));
    // the same f32 weights; only A_log takes a round trip through ssm_a = −exp(A_log) (≤ 1 ulp)
    expect(maxAbs).toBeLessThanOrEqual(1e-5);
    expect((await cli('convert', HF, join(tmp, 'moe-q8.gguf'), '--quant', 'q8_0', '--max-memory', '97')).code).toBe(0);
  });

  it('refuses what a GGUF cannot hold, edge-pack options and unknown GGUF types', async () => {
    // the tiny preset mixes dense '-' and MoE 'E' layers; llama.cpp would read '-' back as 'E'
    const mixed = await cli('convert', join(tmp, 'f32'), join(tmp, 'tiny.gguf'));
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/hybrid_override_pattern: mixes dense '-' and MoE 'E' layers/);
    const sparse = await cli('convert', join(tmp, 'f32'), join(tmp, 'x.gguf'), '--quant', 'nvfp4', '--sparse', '2:4');
    expect(sparse.code).toBe(2);
    expect(sparse.stderr).toMatch(/--sparse applies to edge packs, not to a GGUF output/);
    const bad = await cli('convert', join(tmp, 'f32'), join(tmp, 'x.gguf'), '--quant', 'q3_k');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--quant must be one of f32, f16, bf16, q8_0, q4_0, nvfp4, q4_k, q5_k, q6_k, q4_k_m, q4_1, q5_0, q5_1, got "q3_k"/);
  });
});
