import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../assembly/backend/index.js';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { Model } from '../../engine/core/model.js';
import { linearWeight, validateWeights } from '../../engine/core/weights.js';
import { f32ToBf16Bits } from '../../engine/formats/dtype.js';
import { decodeNvfp4Row } from '../../engine/formats/nvfp4.js';
import { isLegalPositionCode } from '../../engine/formats/sparse24.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { openCheckpoint, type Checkpoint } from '../../weights-tools/checkpoint.js';
import { convertCheckpoint } from '../../weights-tools/convert.js';
import { RUNTIME_MIB } from '../../weights-tools/row-chunks.js';
import { quantizedLinears } from '../../weights-tools/quant-policy.js';
import { serializeSafetensors, type TensorData } from '../../weights-tools/safetensors-writer.js';
import { synthesize } from '../../weights-tools/synth.js';
import { expectNormwiseClose, tolPath } from '../conformance/harness.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { writeModelopt } from '../helpers/modelopt-checkpoint.js';

let dir: string;
/** Checkpoints opened by the tests, by path: each opened once, all closed at the end. */
const packs = new Map<string, Promise<Checkpoint>>();
const open = (path: string): Promise<Checkpoint> => {
  if (!packs.has(path)) packs.set(path, openCheckpoint(path));
  return packs.get(path)!;
};
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-convert-'));
  await synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'f32'), dtype: 'f32' });
});
afterAll(async () => {
  for (const ckpt of packs.values()) await (await ckpt).store.close();
  await rm(dir, { recursive: true, force: true });
});

async function bytesOf(ckpt: Checkpoint, name: string): Promise<Uint8Array> {
  const t = ckpt.store.get(name)!;
  const buf = new Uint8Array(t.byteLength);
  await t.readInto(buf);
  return buf;
}

describe('convert --quant nvfp4 (nano policy)', () => {
  let pack: Checkpoint;
  let report: Awaited<ReturnType<typeof convertCheckpoint>>['report'];
  beforeAll(async () => {
    ({ report } = await convertCheckpoint(join(dir, 'f32'), join(dir, 'nvfp4'), { quant: 'nvfp4', shardMb: 0.25 }));
    pack = await open(join(dir, 'nvfp4'));
  });

  it('writes an edge pack: ≤ shard-mb shards with sha256s, tokenizer files, quantization_config', () => {
    const files = readdirSync(join(dir, 'nvfp4'));
    expect(files).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors.index.json']));
    const shards = files.filter((f) => f.endsWith('.safetensors'));
    expect(shards.length).toBeGreaterThan(1);
    for (const s of shards) expect(statSync(join(dir, 'nvfp4', s)).size).toBeLessThanOrEqual(2 ** 18);
    const index = JSON.parse(readFileSync(join(dir, 'nvfp4', 'model.safetensors.index.json'), 'utf8'));
    expect(Object.keys(index.shards).sort()).toEqual(shards.sort());
    const config = JSON.parse(readFileSync(join(dir, 'nvfp4', 'config.json'), 'utf8'));
    expect(config.quantization_config).toMatchObject({ quant_algo: 'NVFP4', format: 'nvfp4', group_size: 16, policy: 'nano', sparsity: null });
    expect(config.quantization_config.exclude_modules).toContain('backbone.layers.2.mixer.q_proj');
    expect(config.quantization_config.exclude_modules).toContain('backbone.layers.1.mixer.gate');
  });

  it('quantises exactly the policy\'s linears, and reports each one', () => {
    const tensors = validateWeights(pack.config, pack.store, true);
    const policy = quantizedLinears(pack.config, { name: 'nano' });
    expect(report.map((r) => r.name).sort()).toEqual([...policy].sort());
    for (const name of policy) expect(linearWeight(tensors, name).format).toBe('nvfp4');
    expect(linearWeight(tensors, 'backbone.layers.2.mixer.q_proj.weight').format).toBe('f32');
    for (const r of report) {
      expect(r.relError).toBeGreaterThan(0.03);
      expect(r.relError).toBeLessThan(0.2);
    }
  });

  it('is byte for byte what synth --quant nvfp4 writes', async () => {
    await synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'synth-nvfp4'), dtype: 'f32', quant: 'nvfp4' });
    const synth = await open(join(dir, 'synth-nvfp4'));
    expect(synth.store.names().sort()).toEqual(pack.store.names().sort());
    for (const name of synth.store.names()) {
      const [a, b] = [synth.store.get(name)!, pack.store.get(name)!];
      expect([a.dtype, a.shape], name).toEqual([b.dtype, b.shape]);
      expect(Buffer.compare(await bytesOf(synth, name), await bytesOf(pack, name)), name).toBe(0);
    }
    expect(JSON.parse(readFileSync(join(dir, 'synth-nvfp4', 'config.json'), 'utf8')).quantization_config.format).toBe('nvfp4');
  });

  it('runs on the reference backend, close to the f32 model', async () => {
    const f32 = await open(join(dir, 'f32'));
    const tokens = Int32Array.of(3, 40, 41, 7);
    const run = async (c: Checkpoint) => {
      const model = new Model(await referenceBackend.load(c.config, validateWeights(c.config, c.store)));
      return model.forward(model.newSequence(4), tokens, 'last');
    };
    const [a, b] = [await run(f32), await run(pack)];
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i] - b[i]) ** 2;
      den += a[i] ** 2;
    }
    expect(b.every(Number.isFinite)).toBe(true);
    expect(Math.sqrt(num / den)).toBeLessThan(0.2);
    expect(Math.sqrt(num / den)).toBeGreaterThan(0);
  });

  it('runs on the wasm backend too (SIMD build: int16 activations), agreeing with the reference to f32 rounding', async () => {
    const backend = createWasmBackend({ build: 'simd' });
    const tokens = Int32Array.of(3, 40, 41, 7);
    const logits = async (b: typeof backend) => {
      const model = new Model(await b.load(pack.config, validateWeights(pack.config, pack.store)));
      return model.forward(model.newSequence(4), tokens, 'all');
    };
    const [wasm, ref] = [await logits(backend), await logits(referenceBackend)];
    let num = 0;
    let den = 0;
    for (let i = 0; i < ref.length; i++) {
      num += (wasm[i] - ref[i]) ** 2;
      den += ref[i] ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-4);
  });

  it('converts back to f32 exactly (values decoded, then rounded to f32)', async () => {
    await convertCheckpoint(join(dir, 'nvfp4'), join(dir, 'back'), { quant: 'f32' });
    const back = await open(join(dir, 'back'));
    const name = 'backbone.layers.1.mixer.experts.3.up_proj.weight';
    const w = linearWeight(validateWeights(pack.config, pack.store, true), name);
    const want = new Float64Array(w.cols);
    const codes = await bytesOf(pack, name);
    const scales = await bytesOf(pack, w.scale!.name);
    const scale2 = new Float32Array((await bytesOf(pack, w.scale2!.name)).buffer)[0];
    decodeNvfp4Row(codes, scales, scale2, 5, w.cols, want);
    const got = new Float32Array((await bytesOf(back, name)).buffer).subarray(5 * w.cols, 6 * w.cols);
    expect([...got]).toEqual([...Float32Array.from(want)]);
    expect(JSON.parse(readFileSync(join(dir, 'back', 'config.json'), 'utf8')).quantization_config).toBeUndefined();
  });
});

describe('convert, other modes', () => {
  it('--quant bf16 rounds every float tensor to bf16 (the router bias stays f32)', async () => {
    await convertCheckpoint(join(dir, 'f32'), join(dir, 'bf16'), { quant: 'bf16' });
    const [src, out] = [await open(join(dir, 'f32')), await open(join(dir, 'bf16'))];
    const name = 'backbone.layers.0.mixer.in_proj.weight';
    const f32 = new Float32Array((await bytesOf(src, name)).buffer);
    const bf16 = new Uint16Array((await bytesOf(out, name)).buffer);
    expect(out.store.get(name)!.dtype).toBe('bf16');
    expect([...bf16]).toEqual(Array.from(f32, f32ToBf16Bits));
    expect(out.store.get('backbone.layers.1.mixer.gate.e_score_correction_bias')!.dtype).toBe('f32');
    expect(JSON.parse(readFileSync(join(dir, 'bf16', 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
  });

  it('--sparse 2:4 writes nvfp4-s24 with legal position codes and ≤ 2 non-zeros per group', async () => {
    const { report } = await convertCheckpoint(join(dir, 'f32'), join(dir, 's24'), { quant: 'nvfp4', sparse: true, score: 'wanda', policy: 'all-linear', calibText: 'The quick brown fox jumps over the lazy dog. '.repeat(3) });
    const pack = await open(join(dir, 's24'));
    const tensors = validateWeights(pack.config, pack.store, true);
    const name = 'backbone.layers.2.mixer.q_proj.weight';
    const w = linearWeight(tensors, name);
    expect(w.format).toBe('nvfp4-s24');
    const pos = await bytesOf(pack, w.positions!.name);
    for (const b of pos) expect(isLegalPositionCode(b & 15) && isLegalPositionCode(b >> 4)).toBe(true);
    expect(report.every((r) => r.format === 'nvfp4-s24' && r.relOutputError !== null)).toBe(true);
    const config = JSON.parse(readFileSync(join(dir, 's24', 'config.json'), 'utf8'));
    expect(config.quantization_config).toMatchObject({ format: 'nvfp4-s24', sparsity: { pattern: '2:4', score: 'wanda' }, policy: 'all-linear' });
  });

  it('names bad settings', async () => {
    await expect(convertCheckpoint(join(dir, 'f32'), join(dir, 'x'), { quant: 'bf16', sparse: true })).rejects.toThrow(InvalidOptionError);
    await expect(convertCheckpoint(join(dir, 'f32'), join(dir, 'x'), { quant: 'int3' as 'f32' })).rejects.toThrow(/quant = "int3" is invalid/);
  });
});

describe('convert from GGUF', () => {
  it("re-quantises llama.cpp's NVFP4 fixture losslessly (same element, scale and block rules)", async () => {
    const { report } = await convertCheckpoint(join(FIXTURES, 'moe/model-nvfp4.gguf'), join(dir, 'from-gguf'), { quant: 'nvfp4', policy: 'all-linear' });
    expect(report.length).toBeGreaterThan(10);
    for (const r of report) expect(r.relError, r.name).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'from-gguf', 'config.json'), 'utf8'));
    expect(config.quantization_config.format).toBe('nvfp4');
    expect(existsSync(join(dir, 'from-gguf', 'tokenizer.json'))).toBe(true);
  });
});

describe('convert a ModelOpt FP8 checkpoint (NVIDIA names, engine/formats/fp8.ts) to nvfp4', () => {
  const TOKENS = new Int32Array([1, 17, 300, 4, 4, 99, 511, 0, 42]);
  beforeAll(async () => {
    await synthesize({ preset: 'tiny', seed: 4, out: join(dir, 'fp8-src'), dtype: 'bf16' });
    await writeModelopt(join(dir, 'fp8-src'), join(dir, 'fp8'), {
      algo: 'FP8',
      excluded: (m) => /\.mixer\.[qkvo]_proj$/.test(m) || m === 'lm_head',
      ignore: ['*.mixer.q_proj', '*.mixer.k_proj', '*.mixer.v_proj', '*.mixer.o_proj'],
      hfExclude: ['lm_head'],
    });
    // the same weights as a plain bf16 checkpoint: every tensor as validateWeights reads it
    const ckpt = await openCheckpoint(join(dir, 'fp8'));
    const tensors = validateWeights(ckpt.config, ckpt.store);
    const files: TensorData[] = [];
    for (const [name, t] of tensors) files.push({ name, dtype: t.dtype, shape: t.shape, data: await bytesOf({ ...ckpt, store: { ...ckpt.store, get: () => t } }, name) });
    await ckpt.store.close();
    mkdirSync(join(dir, 'fp8-as-bf16'), { recursive: true });
    writeFileSync(join(dir, 'fp8-as-bf16', 'model.safetensors'), serializeSafetensors(files, { format: 'pt' }));
    const raw = JSON.parse(readFileSync(join(dir, 'fp8', 'config.json'), 'utf8'));
    delete raw.quantization_config;
    writeFileSync(join(dir, 'fp8-as-bf16', 'config.json'), JSON.stringify(raw));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(dir, 'fp8', f), join(dir, 'fp8-as-bf16', f));
  });

  it('streams (by byte ranges, a chunk of rows at a time under a cap of 64 KiB of data) the bytes that converting its bf16 reading gives, and the pack runs', async () => {
    const options = { quant: 'nvfp4' as const, shardMb: 0.25, maxMemoryMb: RUNTIME_MIB + 1 / 16 };
    const { report } = await convertCheckpoint(join(dir, 'fp8'), join(dir, 'fp8-nvfp4'), options);
    await convertCheckpoint(join(dir, 'fp8-as-bf16'), join(dir, 'bf16-nvfp4'), options);
    const shards = readdirSync(join(dir, 'fp8-nvfp4')).sort();
    expect(readdirSync(join(dir, 'bf16-nvfp4')).sort()).toEqual(shards);
    for (const f of shards) expect([f, readFileSync(join(dir, 'fp8-nvfp4', f))]).toEqual([f, readFileSync(join(dir, 'bf16-nvfp4', f))]);
    // each quantised linear within NVFP4's usual error of the FP8 weights it was made from
    expect(report.length).toBeGreaterThan(10);
    for (const r of report) expect([r.name, r.relError < 0.2]).toEqual([r.name, true]);

    const pack = await open(join(dir, 'fp8-nvfp4'));
    expect(pack.config.raw.quantization_config).toMatchObject({ quant_algo: 'NVFP4', format: 'nvfp4', producer: { name: 'edgetron convert' } });
    const tensors = validateWeights(pack.config, pack.store);
    const quantized = quantizedLinears(pack.config, { name: 'nano' });
    for (const name of quantized) expect([name, linearWeight(tensors, name).format]).toEqual([name, 'nvfp4']);
    expect(linearWeight(tensors, 'backbone.layers.2.mixer.q_proj.weight').format).toBe('bf16'); // was excluded (BF16), kept by the nano policy
    const ref = new Model(await referenceBackend.load(pack.config, tensors));
    const wasm = new Model(await createWasmBackend({ build: 'simd' }, 'wasm-simd').load(pack.config, tensors));
    const want = ref.forward(ref.newSequence(16), TOKENS, 'all');
    expectNormwiseClose([wasm.forward(wasm.newSequence(16), TOKENS, 'all')], [want], tolPath(8 * (64 + 4 + 24 + 32 + 64) + 64));
  });
});
