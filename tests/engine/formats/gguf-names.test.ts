// engine/formats/gguf-names.ts on the llama.cpp fixtures: the config rebuilt from GGUF metadata equals
// the one parsed from the HF twin's config.json, and every tensor of the HF twin comes out of the
// f32 GGUF under its HF name with the same shape and bytes (A_log within 1 ulp: the GGUF holds
// −exp(A_log)). Quantised files expose the right dtypes; malformed files get named errors.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ModelConfig } from '../../../engine/core/config.js';
import { CorruptWeightsError, MissingTensorError, UnsupportedArchitectureError } from '../../../engine/core/errors.js';
import { validateWeights, type TensorEntry, type WeightStore } from '../../../engine/core/weights.js';
import { memorySource } from '../../../engine/formats/bytes.js';
import { openGguf, type GgufFile, type GgufKV } from '../../../engine/formats/gguf.js';
import { ggufConfigJson, ggufTensorName, ggufWeightStore, hfTensorName } from '../../../engine/formats/gguf-names.js';
import { openSafetensorsStore } from '../../../engine/formats/safetensors.js';
import { encodeGguf, kv } from '../../../weights-tools/gguf-writer.js';
import { FIXTURES } from '../../helpers/fixtures.js';

const open = async (path: string) => openGguf(memorySource(path, new Uint8Array(readFileSync(path))));
const configOf = (c: ModelConfig) => ({ ...c, raw: undefined });

async function bytesOf(t: TensorEntry): Promise<Uint8Array> {
  const b = new Uint8Array(t.byteLength);
  await t.readInto(b);
  return b;
}

/** The fixture re-encoded with changes: metadata set or removed, tensors dropped. */
async function reencode(g: GgufFile, meta: Record<string, GgufKV | null>, drop: string[] = []): Promise<Uint8Array> {
  const m = new Map(g.metadata);
  for (const [k, v] of Object.entries(meta)) v ? m.set(k, v) : m.delete(k);
  const tensors = [];
  for (const t of g.tensors.filter((t) => !drop.includes(t.name))) {
    const data = new Uint8Array(t.byteLength);
    await g.source.readInto(data, t.offset);
    tensors.push({ name: t.name, type: t.type.id, dims: t.dims, data });
  }
  return encodeGguf(m, tensors);
}

describe('GGUF → HF mapping on the fixtures', () => {
  for (const folder of ['moe', 'dense', 'latent']) {
    it(`${folder}: config and every tensor equal the HF twin's`, async () => {
      const g = await open(`${FIXTURES}${folder}/model-f32.gguf`);
      const config = parseConfig(ggufConfigJson(g));
      const hfConfig = parseConfig(JSON.parse(readFileSync(`${FIXTURES}${folder}/hf/config.json`, 'utf8')));
      expect(configOf(config)).toEqual(configOf(hfConfig));

      const hfStore = await openSafetensorsStore([memorySource('hf', new Uint8Array(readFileSync(`${FIXTURES}${folder}/hf/model.safetensors`)))]);
      const store = await ggufWeightStore(g);
      const want = validateWeights(hfConfig, hfStore);
      const got = validateWeights(config, store);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      let maxUlps = 0;
      for (const [name, w] of want) {
        const t = got.get(name)!;
        expect(t.dtype, name).toBe('f32');
        expect(t.shape, name).toEqual(name.endsWith('conv1d.weight') ? [w.shape[0], w.shape[2]] : w.shape);
        const [a, b] = [await bytesOf(t), await bytesOf(w)];
        if (!name.endsWith('A_log')) {
          expect(Buffer.compare(a, b), name).toBe(0);
          continue;
        }
        const [ai, bi] = [new Int32Array(a.buffer), new Int32Array(b.buffer)];
        for (let i = 0; i < ai.length; i++) maxUlps = Math.max(maxUlps, Math.abs(ai[i] - bi[i]));
      }
      expect(maxUlps, `A_log ulps`).toBeLessThanOrEqual(1);
    });
  }

  it('names map both ways for every fixture tensor', async () => {
    const g = await open(`${FIXTURES}latent/model-f32.gguf`);
    for (const t of g.tensors) {
      const hf = hfTensorName(t.name)!;
      expect(hf, t.name).toMatch(/^(backbone|lm_head)/);
      expect(ggufTensorName(hf.replace('{e}', '3')), hf).toBe(t.name);
    }
    expect(hfTensorName('blk.1.ffn_up_exps.weight')).toBe('backbone.layers.1.mixer.experts.{e}.up_proj.weight');
    expect(hfTensorName('rope_freqs.weight')).toBeUndefined();
  });

  it('f16 passes through; q8_0 matrices keep their blocks (f32 on request); nvfp4 becomes the nvfp4 triplet (or f32 on request)', async () => {
    const f16 = await ggufWeightStore(await open(`${FIXTURES}moe/model-f16.gguf`));
    expect(f16.get('backbone.layers.0.mixer.in_proj.weight')).toMatchObject({ dtype: 'f16', shape: [776, 256], byteLength: 776 * 256 * 2 });
    const q8 = await ggufWeightStore(await open(`${FIXTURES}moe/model-q8_0.gguf`));
    expect(q8.get('backbone.layers.1.mixer.experts.7.down_proj.weight')).toMatchObject({ dtype: 'q8_0', shape: [256, 128], byteLength: 256 * 4 * 34 });
    const q8f = await ggufWeightStore(await open(`${FIXTURES}moe/model-q8_0.gguf`), { blocks: 'dequant' });
    expect(q8f.get('backbone.layers.1.mixer.experts.7.down_proj.weight')).toMatchObject({ dtype: 'f32', shape: [256, 128], byteLength: 256 * 128 * 4 });

    const nvGguf = await open(`${FIXTURES}moe/model-nvfp4.gguf`);
    const nv = await ggufWeightStore(nvGguf);
    const name = 'backbone.layers.1.mixer.experts.5.up_proj';
    expect(nv.get(`${name}.weight`)).toMatchObject({ dtype: 'u8', shape: [128, 128] });
    expect(nv.get(`${name}.weight_scale`)).toMatchObject({ dtype: 'f8_e4m3', shape: [128, 16] });
    const s2 = new Float32Array((await bytesOf(nv.get(`${name}.weight_scale_2`)!)).buffer);
    const exps = nvGguf.tensorsByName.get('blk.1.ffn_up_exps.scale')!;
    const raw = new Uint8Array(exps.byteLength);
    await nvGguf.source.readInto(raw, exps.offset);
    expect(s2[0]).toBe(new Float32Array(raw.buffer)[5]); // expert 5's own scale
    const config = parseConfig(ggufConfigJson(nvGguf));
    expect(() => validateWeights(config, nv)).not.toThrow();
    const deq = await ggufWeightStore(nvGguf, { nvfp4: 'dequant' });
    expect(deq.get(`${name}.weight`)).toMatchObject({ dtype: 'f32', shape: [128, 256] });
    expect(deq.get(`${name}.weight_scale`)).toBeUndefined();
  });

  it('an unknown architecture, missing metadata and a missing tensor get named errors', async () => {
    const g = await open(`${FIXTURES}dense/model-f32.gguf`);
    const llama = await openGguf(memorySource('llama.gguf', await reencode(g, { 'general.architecture': kv.str('llama') })));
    const err = (() => {
      try {
        ggufConfigJson(llama);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(UnsupportedArchitectureError);
    expect(err!.message).toBe('llama.gguf: architecture "llama" is not supported; expected one of: nemotron_h, nemotron_h_moe');

    const noKv = await openGguf(memorySource('nokv.gguf', await reencode(g, { 'nemotron_h.attention.head_count_kv': null })));
    expect(() => ggufConfigJson(noKv)).toThrow(new CorruptWeightsError('nokv.gguf', 'metadata nemotron_h.attention.head_count_kv: is required but missing'));
    const shortKv = await openGguf(memorySource('kv.gguf', await reencode(g, { 'nemotron_h.attention.head_count_kv': kv.array(5, [0, 2]) })));
    expect(() => ggufConfigJson(shortKv)).toThrow(/kv\.gguf: metadata nemotron_h\.attention\.head_count_kv: has 2 entries for 8 layers/);

    const missing = await openGguf(memorySource('m.gguf', await reencode(g, {}, ['blk.3.attn_k.weight'])));
    const store: WeightStore = await ggufWeightStore(missing);
    expect(() => validateWeights(parseConfig(ggufConfigJson(missing)), store)).toThrow(
      new MissingTensorError('backbone.layers.3.mixer.k_proj.weight', 'm.gguf'),
    );
  });

  it('no output tensor means tied embeddings', async () => {
    const g = await open(`${FIXTURES}dense/model-f32.gguf`);
    const tied = await openGguf(memorySource('tied.gguf', await reencode(g, {}, ['output.weight'])));
    const config = parseConfig(ggufConfigJson(tied));
    expect(config.tieEmbeddings).toBe(true);
    expect(validateWeights(config, await ggufWeightStore(tied)).has('lm_head.weight')).toBe(false);
  });
});
