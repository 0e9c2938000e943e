// cli/memory-plan.ts: the memory plan before loading. Unit tests on synthetic tensor lists (nothing is
// read: every entry's readInto throws), then the CLI: a sparse 7.4 GiB BF16 Nano 4B checkpoint
// is refused in well under a second with the numbers, and a normal run prints the plan.

import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadForCli } from '../../cli/load.js';
import { main } from '../../cli/main.js';
import { assertPlanFits, formatPlan, planMemory, SHARD_WEIGHT_BYTES, WASM_LIMIT_BYTES } from '../../cli/memory-plan.js';
import { parseConfig, type ModelConfig } from '../../engine/core/config.js';
import { PREFILL_CHUNK } from '../../engine/core/model.js';
import { DTYPE_BYTES, expectedTensors, type DType, type TensorEntry } from '../../engine/core/weights.js';
import { fp8AsBf16 } from '../../engine/formats/fp8.js';
import { planSafetensors } from '../../weights-tools/safetensors-writer.js';
import { presetConfig } from '../../weights-tools/presets.js';

const GiB = 2 ** 30;

function entry(name: string, dtype: DType, shape: readonly number[]): TensorEntry {
  return {
    name,
    dtype,
    shape,
    byteLength: shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype],
    readInto: () => Promise.reject(new Error(`${name} was read`)),
  };
}

/** Every tensor of `config` in `dtype` (an HF BF16 checkpoint stores all of them in bf16). */
function allIn(config: ModelConfig, dtype: DType): Map<string, TensorEntry> {
  return new Map(expectedTensors(config).map((t) => [t.name, entry(t.name, dtype, t.shape)]));
}

const nano4b = parseConfig(presetConfig('nano-4b'));
const tiny = parseConfig(presetConfig('tiny'));

describe('planMemory', () => {
  it('nano-4b in BF16: ~7.4 GiB of weights, planned as 3 wasm shards of whole layers, each within its memory', () => {
    const plan = planMemory({ backend: 'wasm', config: nano4b, tensors: allIn(nano4b, 'bf16'), availableBytes: 64 * GiB });
    const stored = plan.byDtype.reduce((n, b) => n + b.stored, 0);
    expect(stored).toBe(3_973_556_832 * 2); // the published parameter count, 2 bytes each (7.40 GiB)
    // bf16 linear weights stay bf16 on wasm; only the vectors widen to f32 (a few MiB)
    expect(plan.weightBytes).toBeGreaterThan(stored);
    expect(plan.weightBytes - stored).toBeLessThan(8 * 2 ** 20);
    // state: 4 '*' layers × K+V × 8 KV heads × 128 × f32; per 'M' layer conv (3 × 9728) + SSM (96 × 80 × 128), f32
    const layers = 'M-M-M-MM-M-M*-M-M*-M-M-M*-M-M-MM*-MMM-M-M-';
    expect(plan.kvBytesPerToken).toBe(4 * 2 * 8 * 128 * 4);
    const mamba = [...layers].filter((c) => c === 'M').length;
    expect(plan.fixedStateBytes).toBe(mamba * (3 * 9728 + 96 * 80 * 128) * 4);
    expect(plan.limitBytes).toBe(4 * GiB - 65536);
    // 7.4 GiB at most 3 GiB a shard: 3 shards, contiguous, covering all 42 layers, near-equal
    expect(plan.shards.map((sh) => sh.index)).toEqual([0, 1, 2]);
    expect(plan.shards[0].from).toBe(0);
    plan.shards.forEach((sh, i) => i > 0 && expect(sh.from).toBe(plan.shards[i - 1].to));
    expect(plan.shards.at(-1)!.to).toBe(42);
    expect(plan.shards.reduce((n, sh) => n + sh.bytes, 0)).toBe(plan.weightBytes);
    for (const sh of plan.shards) {
      expect(sh.bytes).toBeLessThanOrEqual(SHARD_WEIGHT_BYTES);
      expect(sh.bytes).toBeGreaterThan(plan.weightBytes / 3 - 0.35 * GiB);
      expect(sh.neededBytes).toBeLessThan(plan.limitBytes!);
    }
    expect(plan.shards[0].names).toEqual(expect.arrayContaining(['backbone.embeddings.weight', 'lm_head.weight', 'backbone.norm_f.weight']));
    // each shard's state is its own layers'; together the model's
    expect(plan.shards.reduce((n, sh) => n + sh.fixedStateBytes, 0)).toBe(plan.fixedStateBytes);
    expect(plan.shards.reduce((n, sh) => n + sh.kvBytesPerToken, 0)).toBe(plan.kvBytesPerToken);
    // the longest context: what the tightest shard's memory holds (a prefill of it at once)
    expect(plan.maxContext).toBe(Math.min(...plan.shards.map((sh) => sh.maxContext)));
    expect(plan.maxContext).toBeGreaterThan(8192);
    expect(() => assertPlanFits('nano-4b', plan)).not.toThrow();
    expect(formatPlan(plan, true)).toMatch(/; 3 shards, one WASM memory and thread each: embedding, head \+ layers 0-\d+ 2\.\d\d GiB; layers \d+-\d+ 2\.\d\d GiB; layers \d+-41 2\.\d\d GiB; state/);
  });

  it('nano-4b in BF16 on wasm: refused with the numbers when the machine cannot hold the shards, or one shard its context', () => {
    const small = planMemory({ backend: 'wasm', config: nano4b, tensors: allIn(nano4b, 'bf16'), availableBytes: 6 * GiB });
    expect(small.maxContext).toBe(0);
    expect(() => assertPlanFits('nano-4b', small)).toThrow(/^nano-4b: needs 7\.\d\d GiB on wasm in 3 shards \(weights 7\.\d\d GiB, 1 tokens of context\) but this machine has available 6\.00 GiB \(available 6\.00 GiB, limit 4\.00 GiB\); quantise it .* or free memory$/);
    // 2M tokens of KV do not fit the memory of the shard holding the attention layers
    const long = planMemory({ backend: 'wasm', config: nano4b, tensors: allIn(nano4b, 'bf16'), availableBytes: 1024 * GiB, requestedContext: 2_000_000 });
    expect(() => assertPlanFits('nano-4b', long)).toThrow(/needs [\d.]+ GiB on wasm in one shard .* but one WASM memory holds at most 4\.00 GiB .*at most \d+ tokens fit/);
  });

  it('a shard budget splits even a small model, by whole layers; a layer larger than the budget is refused by name', () => {
    const tensors = allIn(tiny, 'f32');
    const whole = planMemory({ backend: 'wasm', config: tiny, tensors, availableBytes: GiB });
    expect(whole.shards).toHaveLength(1);
    const split = planMemory({ backend: 'wasm', config: tiny, tensors, availableBytes: GiB, shardBudgetBytes: whole.weightBytes / 2 });
    expect(split.shards.length).toBeGreaterThanOrEqual(2);
    expect(split.shards.reduce((n, sh) => n + sh.bytes, 0)).toBe(whole.weightBytes);
    expect(() => planMemory({ backend: 'wasm', config: tiny, tensors, availableBytes: GiB, shardBudgetBytes: 1000 })).toThrow(/needs \d+ bytes, more than one shard's budget of 1000 bytes/);
    // other backends are never split
    expect(planMemory({ backend: 'reference', config: tiny, tensors, availableBytes: GiB, shardBudgetBytes: 1000 }).shards).toHaveLength(1);
  });

  it('nano-4b in BF16 on the reference backend: no WASM limit, refused only by available memory', () => {
    const tensors = allIn(nano4b, 'bf16');
    const big = planMemory({ backend: 'reference', config: nano4b, tensors, availableBytes: 64 * GiB });
    expect(big.limitBytes).toBeNull();
    expect(big.weightBytes).toBe(big.byDtype[0].stored); // kept as stored
    expect(big.kvBytesPerToken).toBe(2 * 4 * 2 * 8 * 128 * 4); // f64
    expect(() => assertPlanFits('m', big)).not.toThrow();
    const small = planMemory({ backend: 'reference', config: nano4b, tensors, availableBytes: 6 * GiB });
    expect(() => assertPlanFits('m', small)).toThrow(/this machine has available 6\.00 GiB \(available 6\.00 GiB\); quantise it .* or free memory/);
  });

  it('tiny: planned, fits, the longest context is capped at max_position_embeddings', () => {
    const plan = assertPlanFits('tiny', planMemory({ backend: 'wasm', config: tiny, tensors: allIn(tiny, 'f32'), availableBytes: 8 * GiB }));
    expect(plan.maxContext).toBe(tiny.maxPositionEmbeddings);
    expect(plan.loadTransientBytes).toBe(0);
  });

  it('the longest context is what the room left after weights, fixed state and one prefill pass holds', () => {
    const tensors = allIn(tiny, 'f32');
    const probe = planMemory({ backend: 'wasm', config: tiny, tensors, availableBytes: 0 });
    // a prompt goes through in passes of at most PREFILL_CHUNK tokens: their activations are paid once, KV per token
    const fixed = probe.weightBytes + probe.fixedStateBytes + probe.headBytes + PREFILL_CHUNK * probe.activationBytesPerToken;
    const kv = probe.kvBytesPerToken;
    const plan = planMemory({ backend: 'wasm', config: tiny, tensors, availableBytes: fixed + 1000 * kv + kv - 1, requestedContext: 1001 });
    expect(plan.maxContext).toBe(1000);
    expect(() => assertPlanFits('tiny', plan)).toThrow(/at most 1000 tokens fit/);
    expect(() => assertPlanFits('tiny', { ...plan, requestedContext: 1000, neededBytes: fixed + 1000 * kv })).not.toThrow();
  });

  it('bf16 attention caches (--kv-dtype bf16) halve the KV bytes per token on wasm, and only there', () => {
    const tensors = allIn(tiny, 'f32');
    const f32 = planMemory({ backend: 'wasm', config: tiny, tensors, availableBytes: 8 * GiB });
    const bf16 = planMemory({ backend: 'wasm', config: tiny, tensors, availableBytes: 8 * GiB, kvDtype: 'bf16' });
    expect(f32.kvBytesPerToken).toBeGreaterThan(0);
    expect(bf16.kvBytesPerToken).toBe(f32.kvBytesPerToken / 2);
    expect(bf16.fixedStateBytes).toBe(f32.fixedStateBytes);
    const ref = planMemory({ backend: 'reference', config: tiny, tensors, availableBytes: 8 * GiB, kvDtype: 'bf16' });
    expect(ref.kvBytesPerToken).toBe(planMemory({ backend: 'reference', config: tiny, tensors, availableBytes: 8 * GiB }).kvBytesPerToken);
  });

  it('counts wasm residency by dtype: f16 widened ×2, 4-bit codes + scales kept packed, vectors as f32 in 16-byte blocks', () => {
    const tensors = new Map<string, TensorEntry>([
      ['a.weight', entry('a.weight', 'u8', [64, 32])], // nvfp4 [64, 64]: 2048 bytes of codes
      ['a.weight_scale', entry('a.weight_scale', 'f8_e4m3', [64, 4])], // 256
      ['a.weight_scale_2', entry('a.weight_scale_2', 'f32', [])], // 4, becomes a number
      ['b.weight', entry('b.weight', 'f16', [10, 10])], // 200 → 400 as f32
      ['n.weight', entry('n.weight', 'bf16', [10])], // 20 → 40 as f32 → 48 aligned
    ]);
    const plan = planMemory({ backend: 'wasm', config: tiny, tensors, availableBytes: GiB });
    expect(plan.byDtype).toEqual([
      { dtype: 'nvfp4', stored: 2308, resident: 2304 },
      { dtype: 'f16', stored: 200, resident: 400 },
      { dtype: 'bf16', stored: 20, resident: 48 },
    ]);
    expect(plan.weightBytes).toBe(2752);
    expect(plan.loadTransientBytes).toBe(2304); // the rows4 repack beside the ModelOpt copy
    expect(formatPlan(plan, true)).toMatch(/^memory plan \(wasm\): weights .* \[nvfp4 2\.3 KiB, f16 0\.4 KiB \(0\.2 KiB on disk\), bf16 0\.0 KiB\] \+ 2\.3 KiB while loading; .*longest context that fits \d+ tokens\n$/);
  });

  it('an FP8 (ModelOpt) weight is resident as bf16 and listed with its E4M3 bytes as stored', () => {
    const weight = entry('c.weight', 'f8_e4m3', [10, 16]); // 160 bytes of codes
    const fp8 = fp8AsBf16({ weight, scale: entry('c.weight_scale', 'f32', []), inputScale: entry('c.input_scale', 'f32', []) });
    const tensors = new Map<string, TensorEntry>([['c.weight', fp8 as TensorEntry]]);
    for (const backend of ['wasm', 'reference']) {
      const plan = planMemory({ backend, config: tiny, tensors, availableBytes: GiB });
      expect(plan.byDtype).toEqual([{ dtype: 'bf16 (fp8)', stored: 168, resident: 320 }]); // 160 + 4 + 4 on disk; 10·16 bf16
    }
  });

  it('the WASM limit is one memory of 65536 pages less the reserved page', () => {
    expect(WASM_LIMIT_BYTES).toBe(4294967296 - 65536);
  });
});

describe('edgetron run with the plan', () => {
  let tmp: string;
  let big: string;
  let huge: string;
  let tinyDir: string;

  async function cli(tty: boolean, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
    let stdout = '';
    let stderr = '';
    const start = performance.now();
    const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: tty }, env: {} });
    return { code, stdout, stderr, ms: performance.now() - start };
  }

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'edgetron-plan-'));
    // a BF16 Nano 4B checkpoint: the real header, a sparse data section (no disk blocks)
    big = join(tmp, 'nano-4b');
    mkdirSync(big);
    writeFileSync(join(big, 'config.json'), JSON.stringify(presetConfig('nano-4b')).replace('"time_step_limit":[0,null]', '"time_step_limit":[0.0,Infinity]'));
    const layout = planSafetensors(expectedTensors(nano4b).map((t) => ({ name: t.name, dtype: 'bf16' as const, shape: t.shape })));
    const file = join(big, 'model.safetensors');
    writeFileSync(file, layout.header);
    truncateSync(file, layout.fileSize);
    // a BF16 Nano 30B-A3B: 63 GB of weights, more than this machine's memory (the plan checks)
    huge = join(tmp, 'nano-30b');
    mkdirSync(huge);
    const nano = parseConfig(presetConfig('nano'));
    writeFileSync(join(huge, 'config.json'), JSON.stringify(presetConfig('nano')));
    const hugeLayout = planSafetensors(expectedTensors(nano).map((t) => ({ name: t.name, dtype: 'bf16' as const, shape: t.shape })));
    writeFileSync(join(huge, 'model.safetensors'), hugeLayout.header);
    truncateSync(join(huge, 'model.safetensors'), hugeLayout.fileSize);
    tinyDir = join(tmp, 'tiny');
    expect((await cli(false, 'synth', '--preset', 'tiny', '--seed', '1', '--out', tinyDir)).code).toBe(0);
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('refuses a model this machine cannot hold on wasm before reading a weight, with the numbers', async () => {
    const r = await cli(false, 'run', '--model', huge, '--prompt', 'Hello', '--backend', 'wasm');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^edgetron: .*nano-30b: needs \d+\.\d\d GiB on wasm in \d+ shards \(weights \d+\.\d\d GiB, 129 tokens of context\) but this machine has available [\d.]+ GiB/);
    expect(lines[0]).toMatch(/; quantise it \(edgetron convert --quant nvfp4 .*\) or free memory$/);
    expect(r.ms).toBeLessThan(3000);
  });

  it('a normal run prints the plan: a block on a TTY (then the load progress), one line with --stats, nothing otherwise', async () => {
    const tty = await cli(true, 'run', '--model', tinyDir, '--prompt', 'Hello', '--max-tokens', '2', '--backend', 'wasm');
    expect(tty.code).toBe(0);
    expect(tty.stderr).toMatch(/^memory plan \(wasm\): weights [\d.]+ [KM]iB \[f32 [\d.]+ [KM]iB\]\n {2}state [\d.]+ [KM]iB \+ [\d.]+ KiB KV per token; .*\n {2}limit 4\.00 GiB per WASM memory; available [\d.]+ GiB; longest context that fits 4096 tokens\n(\rload: \d+% \([\d.]+ MiB of [\d.]+ MiB, ETA \d+ s\))*\rload: 100% \(1\.0 MiB of 1\.0 MiB, ETA 0 s\)\n$/);
    const stats = await cli(false, 'run', '--model', tinyDir, '--prompt', 'Hello', '--max-tokens', '2', '--backend', 'reference', '--stats');
    expect(stats.code).toBe(0);
    const lines = stats.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^memory plan \(reference\): .*; no memory limit; available .*; longest context that fits 4096 tokens$/);
    const quiet = await cli(false, 'run', '--model', tinyDir, '--prompt', 'Hello', '--max-tokens', '2', '--backend', 'reference');
    expect(quiet.stderr).toBe('');
  });
});

describe('the plan against a real wasm load', () => {
  it('the embedded default (nvfp4): planned weight bytes are the heap bytes the load holds, exactly', async () => {
    const loaded = await loadForCli(undefined, 'wasm');
    try {
      const ops = loaded.session.model.ops as unknown as { usedBytes(): number };
      expect(loaded.plan.weightBytes).toBe(ops.usedBytes());
      expect(loaded.plan.byDtype.map((b) => b.dtype)).toContain('nvfp4');
    } finally {
      await loaded.close();
    }
  });
});
