import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, CorruptWeightsError, MissingTensorError, TensorShapeError, UnsupportedDTypeError } from '../../engine/core/errors.js';
import { validateWeights, type WeightStore } from '../../engine/core/weights.js';
import { packageRoot } from '../../runtime/paths.js';
import { openCheckpoint, resolveModelPath } from '../../weights-tools/checkpoint.js';
import { CheckpointError } from '../../weights-tools/errors.js';
import { serializeSafetensors, type TensorData } from '../../weights-tools/safetensors-writer.js';
import { FIXTURES } from '../helpers/fixtures.js';

const hf = (kind: string) => join(FIXTURES, kind, 'hf');

let dir: string;
const stores: WeightStore[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-ckpt-'));
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function open(path: string) {
  const ckpt = await openCheckpoint(path);
  stores.push(ckpt.store);
  return ckpt;
}

/** Every tensor of the moe fixture, bytes included. */
async function fixtureTensors(): Promise<TensorData[]> {
  const { store } = await open(hf('moe'));
  const out: TensorData[] = [];
  for (const name of store.names()) {
    const t = store.get(name)!;
    const data = new Uint8Array(t.byteLength);
    await t.readInto(data);
    out.push({ name, dtype: t.dtype, shape: t.shape, data });
  }
  return out;
}

/** A folder with the moe fixture's config and tokenizer files and the given weight files. */
async function folder(name: string, weights: Record<string, Uint8Array | string>): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await copyFile(join(hf('moe'), f), join(path, f));
  for (const [f, data] of Object.entries(weights)) await writeFile(join(path, f), data);
  return path;
}

describe('openCheckpoint on the HF fixtures', () => {
  const patterns: Record<string, string> = { moe: 'MEM*EM*E', dense: 'M-M*-M*-', latent: 'ME*MEM*E' };
  it.each(Object.keys(patterns))('%s: parses the config, adds <|im_end|> as a stop id, and validates every tensor', async (kind) => {
    const ckpt = await open(hf(kind));
    const raw = JSON.parse(readFileSync(join(hf(kind), 'config.json'), 'utf8'));
    expect(ckpt.config.layerKinds.join('')).toBe(patterns[kind]);
    expect(ckpt.config.dModel).toBe(raw.hidden_size);
    expect(ckpt.config.eosTokenIds).toEqual([2, 4]);
    const tensors = validateWeights(ckpt.config, ckpt.store);
    expect(tensors.size).toBe(ckpt.store.names().length);
    expect(ckpt.store.source).toBe(join(hf(kind), 'model.safetensors'));
    expect((ckpt.tokenizerJson as { model: { type: string } }).model.type).toBe('BPE');
    expect(typeof ckpt.tokenizerConfig!.chat_template).toBe('string');
  });

  it('latent: the LatentMoE projections have the latent width', async () => {
    const ckpt = await open(hf('latent'));
    expect(ckpt.config.moe!.latentDim).toBe(64);
    expect(ckpt.store.get('backbone.layers.1.mixer.fc1_latent_proj.weight')!.shape).toEqual([64, 256]);
  });
});

describe('openCheckpoint errors', () => {
  it('a missing config.json names the file', async () => {
    const path = join(dir, 'no-config');
    await mkdir(path);
    await expect(openCheckpoint(path)).rejects.toThrow(new CheckpointError(join(path, 'config.json'), 'missing (an HF checkpoint folder needs it)'));
  });

  it('a malformed config.json names the file and the parse error', async () => {
    const path = await folder('bad-config', {});
    await writeFile(join(path, 'config.json'), '{"hidden_size": 64,');
    const err = await openCheckpoint(path).catch((e: Error) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(new RegExp(`^${join(path, 'config.json')}: malformed JSON: .+`));
  });

  it('a config that parses but is invalid → ConfigError naming the key', async () => {
    const path = await folder('bad-key', {});
    const raw = JSON.parse(await readFile(join(path, 'config.json'), 'utf8'));
    await writeFile(join(path, 'config.json'), JSON.stringify({ ...raw, hidden_size: -1 }));
    await expect(openCheckpoint(path)).rejects.toThrow(ConfigError);
    await expect(openCheckpoint(path)).rejects.toThrow(/hidden_size/);
  });

  it("ModelOpt's hf_quant_config.json is folded into quantization_config; a malformed one or another quant_algo is named", async () => {
    const path = await folder('hf-quant', {});
    await copyFile(join(hf('moe'), 'model.safetensors'), join(path, 'model.safetensors'));
    const raw = JSON.parse(await readFile(join(path, 'config.json'), 'utf8'));
    await writeFile(join(path, 'config.json'), JSON.stringify({ ...raw, quantization_config: { quant_method: 'modelopt', quant_algo: 'FP8', ignore: ['lm_head'] } }));
    await writeFile(join(path, 'hf_quant_config.json'), JSON.stringify({ producer: { name: 'modelopt' }, quantization: { quant_algo: 'FP8', exclude_modules: ['*.q_proj'] } }));
    expect((await open(path)).config.raw.quantization_config).toEqual({ quant_method: 'modelopt', quant_algo: 'FP8', ignore: ['lm_head'], exclude_modules: ['*.q_proj'] });
    await writeFile(join(path, 'hf_quant_config.json'), '{"quantization": ');
    await expect(openCheckpoint(path)).rejects.toThrow(CheckpointError);
    await expect(openCheckpoint(path)).rejects.toThrow(/hf_quant_config\.json: malformed JSON/);
    await writeFile(join(path, 'hf_quant_config.json'), JSON.stringify({ quantization: { quant_algo: 'NVFP4' } }));
    await expect(openCheckpoint(path)).rejects.toThrow(/quant_algo: config\.json says FP8 but hf_quant_config\.json says NVFP4/);
  });

  it('a folder without weights, a missing path, and a plain file', async () => {
    const path = await folder('no-weights', {});
    await expect(openCheckpoint(path)).rejects.toThrow(`${path}: no weights file (expected model.safetensors or model.safetensors.index.json)`);
    await expect(openCheckpoint(join(dir, 'nope'))).rejects.toThrow(`${join(dir, 'nope')}: no such file or folder`);
    await expect(openCheckpoint(join(path, 'config.json'))).rejects.toThrow(/not an HF checkpoint folder/);
  });

  it('a missing tensor → MissingTensorError; a wrong shape → TensorShapeError; a wrong dtype → UnsupportedDTypeError', async () => {
    const all = await fixtureTensors();
    const target = 'backbone.layers.3.mixer.k_proj.weight';
    const without = await open(await folder('missing', { 'model.safetensors': serializeSafetensors(all.filter((t) => t.name !== target)) }));
    expect(() => validateWeights(without.config, without.store)).toThrow(new MissingTensorError(target, join(dir, 'missing', 'model.safetensors')));

    const inProj = 'backbone.layers.0.mixer.in_proj.weight'; // [776, 256]
    const reshaped = all.map((t) => (t.name === inProj ? { ...t, shape: [256, 776] } : t));
    const shaped = await open(await folder('shape', { 'model.safetensors': serializeSafetensors(reshaped) }));
    expect(() => validateWeights(shaped.config, shaped.store)).toThrow(new TensorShapeError(inProj, [776, 256], [256, 776]));
    expect(() => validateWeights(shaped.config, shaped.store)).toThrow(`tensor ${inProj} has shape [256, 776], expected [776, 256]`);

    const retyped = all.map((t) => (t.name === target ? { ...t, dtype: 'i32' as const } : t));
    const typed = await open(await folder('dtype', { 'model.safetensors': serializeSafetensors(retyped) }));
    expect(() => validateWeights(typed.config, typed.store)).toThrow(UnsupportedDTypeError);
    expect(() => validateWeights(typed.config, typed.store)).toThrow(`tensor ${target} has dtype i32`);
  });

  it('a sharded folder opens through its index, and a corrupted shard is named', async () => {
    const all = await fixtureTensors();
    const half = Math.floor(all.length / 2);
    const s1 = serializeSafetensors(all.slice(0, half));
    const s2 = serializeSafetensors(all.slice(half));
    const { createHash } = await import('node:crypto');
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const index = {
      metadata: { total_size: all.reduce((s, t) => s + t.data.byteLength, 0) },
      weight_map: Object.fromEntries(all.map((t, i) => [t.name, names[i < half ? 0 : 1]])),
      shards: { [names[0]]: { sha256: sha(s1), size: s1.byteLength }, [names[1]]: { sha256: sha(s2), size: s2.byteLength } },
    };
    const path = await folder('sharded', { [names[0]]: s1, [names[1]]: s2, 'model.safetensors.index.json': JSON.stringify(index) });
    const ckpt = await open(path);
    expect(validateWeights(ckpt.config, ckpt.store).size).toBe(all.length);
    expect(ckpt.store.get(all[all.length - 1].name)!.file).toBe(join(path, names[1]));

    const corrupt = s2.slice();
    corrupt[corrupt.length - 1] ^= 1;
    await writeFile(join(path, names[1]), corrupt);
    const err = await openCheckpoint(path).catch((e: Error) => e);
    expect(err).toBeInstanceOf(CorruptWeightsError);
    expect((err as Error).message).toMatch(new RegExp(`^${join(path, names[1])}: sha256 is [0-9a-f]{64} but .*model\\.safetensors\\.index\\.json says ${sha(s2)}$`));
  });
});

describe('resolveModelPath', () => {
  it('returns any explicit path unchanged', () => {
    expect(resolveModelPath('./some/model')).toBe('./some/model');
  });

  it('finds the package root by its package.json', () => {
    const root = packageRoot();
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name).toBe('edgetron');
    expect(root).toBe(fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, ''));
  });

  it('maps "default" and undefined to the committed edge pack assets/packs/default', () => {
    const dflt = join(packageRoot(), 'assets', 'packs', 'default');
    expect(existsSync(join(dflt, 'model.safetensors.index.json'))).toBe(true);
    expect(resolveModelPath(undefined)).toBe(dflt);
    expect(resolveModelPath('default')).toBe(dflt);
  });
});
