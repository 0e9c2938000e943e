import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../assembly/backend/index.js';
import simd from '../../build/edgetron-simd.wasm';
import { CorruptWeightsError } from '../../engine/errors.js';
import { ModelTooLargeError, ModelUnavailableError } from '../../worker/errors.js';
import { assetsPack, loadPack, r2Pack, type AssetsBinding, type PackFiles } from '../../worker/pack.js';

const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors.index.json', 'model-00001-of-00001.safetensors'];
const assets = assetsPack((env as { ASSETS: AssetsBinding }).ASSETS, '/packs/default/');
const original = new Map<string, Uint8Array>();
for (const f of FILES) original.set(f, (await assets.read(f))!);
const options = { backend: createWasmBackend({ module: simd, simd: true }), maxContext: 256, concurrency: 1 };

/** The default pack in memory, with edits; records which files were read. */
function memoryPack(edit: (files: Map<string, Uint8Array>) => void = () => {}): PackFiles & { reads: string[] } {
  const files = new Map([...original].map(([k, v]) => [k, v.slice()]));
  edit(files);
  const reads: string[] = [];
  return { name: 'mem:/', reads, read: async (f) => (reads.push(f), files.get(f) ?? null) };
}

const logitsOf = async (files: PackFiles) => {
  const session = await loadPack(files, options);
  const row = session.model.forward(session.model.newSequence(4), Int32Array.of(10, 20, 30), 'last');
  session.dispose();
  return row;
};

describe('loadPack', () => {
  it('loads the default pack from ASSETS, from memory and from an R2 bucket to the same logits', async () => {
    const fromAssets = await logitsOf(assets);
    expect(fromAssets).toHaveLength(512);
    expect(await logitsOf(memoryPack())).toEqual(fromAssets);
    const bucket = { get: async (key: string) => (original.has(key.replace('packs/default/', '')) ? { arrayBuffer: async () => original.get(key.replace('packs/default/', ''))!.slice().buffer } : null) };
    expect(await logitsOf(r2Pack(bucket, 'packs/default/'))).toEqual(fromAssets);
  });

  it('rejects a shard whose sha256 differs from the index, naming the shard', async () => {
    const pack = memoryPack((f) => (f.get('model-00001-of-00001.safetensors')![5000] ^= 1));
    const err = await loadPack(pack, options).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptWeightsError);
    expect(err.message).toMatch(/^mem:\/model-00001-of-00001\.safetensors: sha256 is [0-9a-f]{64} but mem:\/model\.safetensors\.index\.json says [0-9a-f]{64}$/);
  });

  it('refuses a model that cannot fit the isolate before fetching any shard', async () => {
    const pack = memoryPack();
    const err = await loadPack(pack, { ...options, limitBytes: 8 * 2 ** 20 }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelTooLargeError);
    expect(err.message).toMatch(/^mem:\/: the model needs about 18\.\d MiB .* but a Worker isolate has 8 MiB/);
    expect(pack.reads.some((f) => f.endsWith('.safetensors'))).toBe(false);
  });

  it('names a missing or malformed pack file', async () => {
    await expect(loadPack(memoryPack((f) => f.delete('model.safetensors.index.json')), options)).rejects.toThrow(new ModelUnavailableError('mem:/model.safetensors.index.json is missing'));
    await expect(loadPack(memoryPack((f) => f.set('config.json', new TextEncoder().encode('{'))), options)).rejects.toThrow(/^mem:\/config\.json: malformed JSON/);
    await expect(loadPack(memoryPack((f) => f.delete('model-00001-of-00001.safetensors')), options)).rejects.toThrow(/cannot open shard model-00001-of-00001\.safetensors/);
  });
});
