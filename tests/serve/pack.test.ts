import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../assembly/backend/index.js';
import simd from '../../build/edgetron-simd.wasm';
import { CorruptWeightsError } from '../../engine/core/errors.js';
import { ModelTooLargeError, ModelUnavailableError } from '../../serve/errors.js';
import { assetsPack, loadPack, r2Pack, type AssetsBinding } from '../../serve/pack.js';
import type { PackFiles } from '../../serve/pack-files.js';
import { chunkedStream } from '../helpers/chunked-stream.js';

const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors.index.json', 'model-00001-of-00001.safetensors'];
const assets = assetsPack((env as { ASSETS: AssetsBinding }).ASSETS, '/packs/default/');
const original = new Map<string, Uint8Array>();
for (const f of FILES) original.set(f, (await assets.read(f))!);
const options = { backend: createWasmBackend({ module: simd, simd: true }), maxContext: 256, concurrency: 1 };

/** The default pack in memory, with edits; records which files were read whole. */
function memoryPack(edit: (files: Map<string, Uint8Array>) => void = () => {}): PackFiles & { reads: string[] } {
  const files = new Map([...original].map(([k, v]) => [k, v.slice()]));
  edit(files);
  const reads: string[] = [];
  return { name: 'mem:/', reads, read: async (f) => (reads.push(f), files.get(f) ?? null) };
}

/** The default pack served as streams of `chunk`-byte pieces (as a binding delivers it); `opens` counts fetches. */
function streamedPack(chunk: number, edit: (files: Map<string, Uint8Array>) => void = () => {}): PackFiles & { reads: string[]; opens: string[] } {
  const pack = memoryPack(edit);
  const files = new Map([...original].map(([k, v]) => [k, v.slice()]));
  edit(files);
  const opens: string[] = [];
  const open = async (f: string) => {
    const bytes = files.get(f);
    if (!bytes) return null;
    opens.push(f);
    return { size: bytes.byteLength, body: chunkedStream(bytes, chunk) };
  };
  return { ...pack, opens, open };
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
    expect(fromAssets).toHaveLength(JSON.parse(new TextDecoder().decode(original.get('config.json')!)).vocab_size);
    expect(await logitsOf(memoryPack())).toEqual(fromAssets);
    const object = (bytes: Uint8Array) => ({ size: bytes.byteLength, body: new Blob([bytes.slice()]).stream(), arrayBuffer: async () => bytes.slice().buffer });
    const bucket = { get: async (key: string) => (original.has(key.replace('packs/default/', '')) ? object(original.get(key.replace('packs/default/', ''))!) : null) };
    expect(await logitsOf(r2Pack(bucket, 'packs/default/'))).toEqual(fromAssets);
  });

  it('streams every shard once, in chunks of any size, into the model without reading it whole', async () => {
    const fromAssets = await logitsOf(assets);
    for (const chunk of [61, 1 << 20]) {
      const pack = streamedPack(chunk);
      expect(await logitsOf(pack)).toEqual(fromAssets);
      expect(pack.opens).toEqual(['model-00001-of-00001.safetensors']);
      expect(pack.reads.filter((f) => f.endsWith('.safetensors'))).toEqual([]);
    }
  });

  it('rejects a streamed shard that is corrupt, short or long, and frees what it loaded', async () => {
    const shard = 'model-00001-of-00001.safetensors';
    const flipped = await loadPack(streamedPack(4096, (f) => (f.get(shard)![f.get(shard)!.byteLength - 3] ^= 1)), options).catch((e) => e);
    expect(flipped).toBeInstanceOf(CorruptWeightsError);
    expect(flipped.message).toMatch(/^mem:\/model-00001-of-00001\.safetensors: sha256 is [0-9a-f]{64} but mem:\/model\.safetensors\.index\.json says [0-9a-f]{64}$/);
    const short = await loadPack(streamedPack(4096, (f) => f.set(shard, f.get(shard)!.slice(0, -10))), options).catch((e) => e);
    expect(short.message).toMatch(/cannot open shard model-00001-of-00001\.safetensors: it is \d+ bytes but mem:\/model\.safetensors\.index\.json says \d+/);
  });

  it('rejects a shard whose sha256 differs from the index, naming the shard', async () => {
    const shard = 'model-00001-of-00001.safetensors';
    const pack = memoryPack((f) => (f.get(shard)![f.get(shard)!.byteLength - 5000] ^= 1));
    const err = await loadPack(pack, options).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptWeightsError);
    expect(err.message).toMatch(/^mem:\/model-00001-of-00001\.safetensors: sha256 is [0-9a-f]{64} but mem:\/model\.safetensors\.index\.json says [0-9a-f]{64}$/);
    // a flipped byte in the header is caught as it is parsed, before the hash is complete
    const header = await loadPack(memoryPack((f) => (f.get(shard)![5000] ^= 1)), options).catch((e) => e);
    expect(header).toBeInstanceOf(CorruptWeightsError);
    expect(header.message).toMatch(/^mem:\/model-00001-of-00001\.safetensors: /);
  });

  it('refuses a model that cannot fit the isolate before fetching any shard', async () => {
    const pack = memoryPack();
    const err = await loadPack(pack, { ...options, limitBytes: 8 * 2 ** 20 }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelTooLargeError);
    expect(err.message).toMatch(/^mem:\/: the model needs about \d+\.\d MiB \(WASM weights .* but a Worker isolate has 8 MiB/);
    expect(pack.reads.some((f) => f.endsWith('.safetensors'))).toBe(false);
  });

  it('names a missing or malformed pack file', async () => {
    await expect(loadPack(memoryPack((f) => f.delete('model.safetensors.index.json')), options)).rejects.toThrow(new ModelUnavailableError('mem:/model.safetensors.index.json is missing'));
    await expect(loadPack(memoryPack((f) => f.set('config.json', new TextEncoder().encode('{'))), options)).rejects.toThrow(/^mem:\/config\.json: malformed JSON/);
    await expect(loadPack(memoryPack((f) => f.delete('model-00001-of-00001.safetensors')), options)).rejects.toThrow(/cannot open shard model-00001-of-00001\.safetensors/);
  });

  it('reads config.json as Hugging Face writes it (bare Infinity, {"__float__": …}); other bare words name line and column', async () => {
    /** The pack with `time_step_limit` spelled `limit` (text spliced in before the closing brace). */
    const withLimit = (limit: string) =>
      memoryPack((f) => {
        const text = new TextDecoder().decode(f.get('config.json')!);
        const at = text.lastIndexOf('}');
        f.set('config.json', new TextEncoder().encode(`${text.slice(0, at).trimEnd()},\n  "time_step_limit": [\n    0.0,\n    ${limit}\n  ]\n}\n`));
      });
    for (const limit of ['Infinity', '{"__float__": "Infinity"}']) {
      const session = await loadPack(withLimit(limit), options);
      expect(session.model.config.mamba!.timeStepLimit).toEqual([0, Infinity]);
      session.dispose();
    }
    await expect(loadPack(withLimit('Infinityx'), options)).rejects.toThrow(/^mem:\/config\.json: malformed JSON: line \d+, column 5: unknown token "Infinityx"/);
  });
});
