import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { Model } from '../../engine/core/model.js';
import { validateWeights, type WeightStore } from '../../engine/core/weights.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { openCheckpoint, type Checkpoint } from '../../weights-tools/checkpoint.js';
import { UnknownPresetError } from '../../weights-tools/errors.js';
import { synthesize } from '../../weights-tools/synth.js';
import { writeModelopt } from '../helpers/modelopt-checkpoint.js';

/** sha256 of `synth --preset tiny --seed 1` model.safetensors in f32: any change to the PRNG, the
 * init rules, the tensor list or the writer changes it (update deliberately, never casually). */
const TINY_SEED1_F32_SHA256 = '1e34730410d56b6cdc6a7ab9049cc15f525c9561dfc1f3847212c9dae22fc10d';

let dir: string;
const opened: WeightStore[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-synth-'));
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function open(path: string): Promise<Checkpoint> {
  const ckpt = await openCheckpoint(path);
  opened.push(ckpt.store);
  return ckpt;
}

/** The raw bytes of a tensor, after checking its storage dtype. */
async function readRaw(ckpt: Checkpoint, name: string, dtype: 'f32' | 'bf16'): Promise<ArrayBuffer> {
  const t = ckpt.store.get(name)!;
  expect(t.dtype).toBe(dtype);
  const buf = new Uint8Array(t.byteLength);
  await t.readInto(buf);
  return buf.buffer;
}
const readF32 = async (ckpt: Checkpoint, name: string) => new Float32Array(await readRaw(ckpt, name, 'f32'));
const readBits16 = async (ckpt: Checkpoint, name: string) => new Uint16Array(await readRaw(ckpt, name, 'bf16'));

const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
const softplus = (x: number) => Math.log1p(Math.exp(x));

describe('synthesize tiny', () => {
  let tiny: Checkpoint;
  let sha: string | null;
  beforeAll(async () => {
    const res = await synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'tiny'), dtype: 'f32' });
    sha = res.sha256;
    expect(res.skipped).toBe(false);
    tiny = await open(join(dir, 'tiny'));
  });

  it('loads through openCheckpoint and validates against its config', () => {
    expect(tiny.config.layerKinds.join('')).toBe('ME*M-E*E');
    expect(tiny.config.mamba!.chunkSize).toBe(8);
    expect(tiny.config.eosTokenIds).toEqual([2, 4]);
    const tensors = validateWeights(tiny.config, tiny.store, true);
    expect(tensors.size).toBe(tiny.store.names().length);
  });

  it('writes the same bytes for the same seed on every machine (fixed sha256)', async () => {
    expect(sha).toBe(TINY_SEED1_F32_SHA256);
    const onDisk = createHash('sha256').update(await readFile(join(dir, 'tiny', 'model.safetensors'))).digest('hex');
    expect(onDisk).toBe(sha);
    const again = await synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'tiny-again'), dtype: 'f32' });
    expect(again.sha256).toBe(sha);
    const other = await synthesize({ preset: 'tiny', seed: 2, out: join(dir, 'tiny-seed2'), dtype: 'f32' });
    expect(other.sha256).not.toBe(sha);
  });

  it('keeps activations in range: logits through the reference backend have rms ≈ 1', async () => {
    const loaded = await referenceBackend.load(tiny.config, validateWeights(tiny.config, tiny.store));
    const tokens = Int32Array.from({ length: 20 }, (_, i) => (i * 37 + 11) % 512);
    const logits = new Model(loaded).forward(loaded.newSequence(32), tokens, 'all');
    const rms = Math.sqrt(logits.reduce((s, v) => s + v * v, 0) / logits.length);
    expect(rms).toBeGreaterThan(0.5);
    expect(rms).toBeLessThan(2);
    loaded.dispose();
  });

  it('skips an existing model with ifMissing', async () => {
    const res = await synthesize({ preset: 'tiny', seed: 7, out: join(dir, 'tiny'), dtype: 'f32', ifMissing: true });
    expect(res.skipped).toBe(true);
    expect(res.sha256).toBeNull();
  });

  it('draws weights at the documented scales', async () => {
    const aLog = await readF32(tiny, 'backbone.layers.0.mixer.A_log');
    for (const v of aLog) expect(v >= 0 && v <= Math.log(16)).toBe(true);
    const dtBias = await readF32(tiny, 'backbone.layers.0.mixer.dt_bias');
    for (const v of dtBias) expect(softplus(v)).toBeGreaterThanOrEqual(0.001 * (1 - 1e-6));
    for (const v of dtBias) expect(softplus(v)).toBeLessThanOrEqual(0.1 * (1 + 1e-6));
    const norm = await readF32(tiny, 'backbone.layers.0.norm.weight');
    for (const v of norm) expect(Math.abs(v - 1)).toBeLessThanOrEqual(0.1);
    const inProj = await readF32(tiny, 'backbone.layers.0.mixer.in_proj.weight'); // fan_in 64
    expect(std(inProj)).toBeCloseTo(1 / 8, 2);
    const outProj = await readF32(tiny, 'backbone.layers.0.mixer.out_proj.weight'); // fan_in 64, 8 layers
    expect(std(outProj)).toBeCloseTo(1 / 8 / 4, 2);
    const emb = await readF32(tiny, 'backbone.embeddings.weight');
    expect(std(emb)).toBeCloseTo(1, 1);
  });

  it('writes bf16 as the round-to-nearest-even of the f32 draw, keeping the router bias in f32', async () => {
    await synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'tiny-bf16'), dtype: 'bf16' });
    const bf = await open(join(dir, 'tiny-bf16'));
    validateWeights(bf.config, bf.store);
    const name = 'backbone.layers.1.mixer.experts.3.up_proj.weight';
    const f32 = new Uint32Array((await readF32(tiny, name)).buffer);
    const b16 = await readBits16(bf, name);
    for (let i = 0; i < f32.length; i++) {
      const lower = f32[i] & 0xffff;
      const up = f32[i] >>> 16;
      const expected = lower > 0x8000 || (lower === 0x8000 && (up & 1) === 1) ? up + 1 : up;
      expect(b16[i]).toBe(expected);
    }
    const bias = 'backbone.layers.1.mixer.gate.e_score_correction_bias';
    expect(await readF32(bf, bias)).toEqual(await readF32(tiny, bias));
  });

  it('writes a tokenizer that round-trips text and a ChatML template with system turn and thinking switch', async () => {
    const tok = new Tokenizer(tiny.tokenizerJson as never, tiny.tokenizerConfig as never);
    for (const text of ['Once upon a time', 'The brave men, living and dead — 42!\n']) {
      expect(tok.decode(tok.encode(text).ids)).toBe(text);
    }
    const tpl = new Template(tiny.tokenizerConfig!.chat_template as string);
    const user = [{ role: 'user', content: 'Hi' }];
    expect(tpl.render({ messages: user, add_generation_prompt: true })).toBe(
      '<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n',
    );
    expect(tpl.render({ messages: user, add_generation_prompt: true, enable_thinking: false })).toBe(
      '<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think></think>',
    );
    const chat = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Why?' },
      { role: 'assistant', content: 'Because.', reasoning_content: 'thinking' },
    ];
    expect(tpl.render({ messages: chat, add_generation_prompt: false })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' +
        '<|im_start|>assistant\n<think></think>Hello.<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n' +
        '<|im_start|>assistant\n<think>\nthinking\n</think>\nBecause.<|im_end|>\n',
    );
  });

  it('rejects an unknown preset and a bad dtype, naming the choices', async () => {
    await expect(synthesize({ preset: 'huge', seed: 1, out: join(dir, 'x'), dtype: 'f32' })).rejects.toThrow(UnknownPresetError);
    await expect(synthesize({ preset: 'huge', seed: 1, out: join(dir, 'x'), dtype: 'f32' })).rejects.toThrow(/tiny, tiny-latent/);
    await expect(synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'x'), dtype: 'f8' as never })).rejects.toThrow(InvalidOptionError);
  });
});

describe('synthesize tiny-latent', () => {
  it('writes LatentMoE and MTP tensors that validate with MTP', async () => {
    await synthesize({ preset: 'tiny-latent', seed: 3, out: join(dir, 'latent'), dtype: 'f32' });
    const ckpt = await open(join(dir, 'latent'));
    expect(ckpt.config.moe!.latentDim).toBe(32);
    expect(ckpt.config.mtp).toEqual({ nPredict: 1, kinds: ['*', 'E'] });
    validateWeights(ckpt.config, ckpt.store, true);
    expect(ckpt.store.get('mtp.layers.1.mixer.fc1_latent_proj.weight')!.shape).toEqual([32, 64]);
    expect(ckpt.store.get('mtp.layers.0.mixer.q_proj.weight')!.shape).toEqual([64, 64]);
    const cfg = JSON.parse(await readFile(join(dir, 'latent', 'config.json'), 'utf8'));
    expect(cfg.mtp_hybrid_override_pattern).toBe('*E');
  });
});

describe('synthesize --quant fp8 (ModelOpt FP8, as NVIDIA ships it)', () => {
  it("stores the Mamba, expert and MLP projections as E4M3 of the bf16 synth's weights over amax/448, with ModelOpt's config", async () => {
    await synthesize({ preset: 'tiny-latent', seed: 8, out: join(dir, 'fp8'), dtype: 'bf16', quant: 'fp8' });
    await synthesize({ preset: 'tiny-latent', seed: 8, out: join(dir, 'fp8-src'), dtype: 'bf16' });
    // the test helper's FP8 of the same weights, its kept set written out by hand (spec §14.3)
    const kept = (m: string) => /\.mixer\.([qkvo]_proj|fc[12]_latent_proj)$/.test(m) || m.startsWith('mtp.') || m === 'lm_head';
    const quantized = await writeModelopt(join(dir, 'fp8-src'), join(dir, 'fp8-helper'), { algo: 'FP8', excluded: kept });
    const [a, b] = [await open(join(dir, 'fp8')), await open(join(dir, 'fp8-helper'))];
    expect(quantized.length).toBeGreaterThan(10);
    for (const m of quantized) {
      for (const part of ['weight', 'weight_scale']) {
        const [x, y] = [a.store.get(`${m}.${part}`)!, b.store.get(`${m}.${part}`)!];
        expect([`${m}.${part}`, x.dtype, x.shape]).toEqual([`${m}.${part}`, y.dtype, y.shape]);
        const [bx, by] = [new Uint8Array(x.byteLength), new Uint8Array(y.byteLength)];
        await x.readInto(bx);
        await y.readInto(by);
        expect(bx).toEqual(by);
      }
      expect(a.store.get(`${m}.input_scale`)).toMatchObject({ dtype: 'f32', shape: [] });
    }
    const fp8Names = a.store.names().filter((n) => a.store.get(n)!.dtype === 'f8_e4m3');
    expect(fp8Names.sort()).toEqual(quantized.map((m) => `${m}.weight`).sort());
    expect(a.config.raw.quantization_config).toMatchObject({ quant_method: 'modelopt', quant_algo: 'FP8', kv_cache_quant_algo: 'FP8' });
    const excluded = (a.config.raw.quantization_config as { exclude_modules: string[] }).exclude_modules;
    expect(excluded).toContain('lm_head');
    expect(excluded).toContain('backbone.layers.2.mixer.q_proj');
    expect(excluded.every((m) => kept(m))).toBe(true);
    expect(JSON.parse(await readFile(join(dir, 'fp8', 'hf_quant_config.json'), 'utf8')).quantization).toMatchObject({ quant_algo: 'FP8', exclude_modules: excluded });
    // it loads, with its MTP block, and runs
    const tensors = validateWeights(a.config, a.store, true);
    const model = new Model(await referenceBackend.load(a.config, tensors));
    expect(model.forward(model.newSequence(4), Int32Array.of(3, 40, 41), 'last').every(Number.isFinite)).toBe(true);
  });

  it('refuses another quant, naming the choices', async () => {
    await expect(synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'never'), dtype: 'bf16', quant: 'int4' as 'fp8' })).rejects.toThrow(/quant = "int4" is invalid; expected nvfp4 or fp8/);
  });
});
