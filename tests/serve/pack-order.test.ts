// A load streams each shard of a pack exactly once, front to back, whatever
// order the pack's tensors were written in (the WASM loader reads in storage order). The default
// pack is rewritten here with its tensors reversed and dealt round-robin over three shards, so
// every shard's order differs from the loader's and 4-bit weights have sidecars in other shards.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../assembly/backend/index.js';
import simd from '../../build/edgetron-simd.wasm';
import { assetsPack, loadPack, type AssetsBinding } from '../../serve/pack.js';
import type { PackFiles } from '../../serve/pack-files.js';
import { chunkedStream } from '../helpers/chunked-stream.js';

const SHARD = 'model-00001-of-00001.safetensors';
const INDEX = 'model.safetensors.index.json';
const assets = assetsPack((env as { ASSETS: AssetsBinding }).ASSETS, '/packs/default/');
const original = new Map<string, Uint8Array>();
for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', INDEX, SHARD]) original.set(f, (await assets.read(f))!);
const options = { backend: createWasmBackend({ module: simd, simd: true }), maxContext: 256, concurrency: 1 };

const hex = async (b: Uint8Array) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>))].map((x) => x.toString(16).padStart(2, '0')).join('');
type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };

/** A safetensors file of `tensors` in the given order, 16-byte aligned. */
function safetensors(tensors: [string, Entry, Uint8Array][]): Uint8Array {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, e, bytes] of tensors) {
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [at, at + bytes.byteLength] };
    at = Math.ceil((at + bytes.byteLength) / 16) * 16;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((16 - ((8 + json.length) % 16)) % 16);
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  for (const [name, , bytes] of tensors) out.set(bytes, 8 + json.length + (header[name] as Entry).data_offsets[0]);
  return out;
}

/** The default pack with its tensors reversed and dealt over `n` shards, as files in memory. */
async function reorderedPack(n: number): Promise<Map<string, Uint8Array>> {
  const shard = original.get(SHARD)!;
  const headerLen = Number(new DataView(shard.buffer, shard.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(shard.subarray(8, 8 + headerLen))) as Record<string, Entry>;
  const tensors = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, e]): [string, Entry, Uint8Array] => [name, e, shard.subarray(8 + headerLen + e.data_offsets[0], 8 + headerLen + e.data_offsets[1])])
    .reverse();
  const files = new Map([...original].filter(([f]) => f !== SHARD));
  const index = { metadata: JSON.parse(new TextDecoder().decode(original.get(INDEX)!)).metadata, weight_map: {} as Record<string, string>, shards: {} as Record<string, { sha256: string; size: number }> };
  for (let k = 0; k < n; k++) {
    const file = `model-0000${k + 1}-of-0000${n}.safetensors`;
    const mine = tensors.filter((_, i) => i % n === k);
    const bytes = safetensors(mine);
    for (const [name] of mine) index.weight_map[name] = file;
    index.shards[file] = { sha256: await hex(bytes), size: bytes.byteLength };
    files.set(file, bytes);
  }
  files.set(INDEX, new TextEncoder().encode(JSON.stringify(index)));
  return files;
}

/** `files` served as streams of 4 KiB chunks; `opens` counts fetches per shard. */
function streamed(files: Map<string, Uint8Array>): PackFiles & { opens: Map<string, number> } {
  const opens = new Map<string, number>();
  return {
    name: 'mem:/',
    opens,
    read: async (f) => files.get(f) ?? null,
    async open(f) {
      const bytes = files.get(f);
      if (!bytes) return null;
      opens.set(f, (opens.get(f) ?? 0) + 1);
      return { size: bytes.byteLength, body: chunkedStream(bytes, 4096) };
    },
  };
}

const logitsOf = async (files: PackFiles) => {
  const session = await loadPack(files, options);
  const row = session.model.forward(session.model.newSequence(4), Int32Array.of(10, 20, 30), 'last');
  session.dispose();
  return row;
};

describe('loadPack on a pack written in another order', () => {
  it('streams each shard exactly once and gives the same logits as the default pack', async () => {
    const expected = await logitsOf(assets);
    for (const n of [1, 3]) {
      const pack = streamed(await reorderedPack(n));
      expect(await logitsOf(pack)).toEqual(expected);
      expect([...pack.opens.entries()].sort()).toEqual(Array.from({ length: n }, (_, k) => [`model-0000${k + 1}-of-0000${n}.safetensors`, 1]));
    }
  });
});
