// Fuzz: 1200 seeded random mutations of a GGUF header and 1200 of a safetensors header. Each
// mutated file goes through everything a load does (open, config, tokenizer, weight store,
// validation, reading every tensor); the only errors allowed are named EdgetronError subclasses,
// no read may ask for more bytes than the file has, and the whole run stays fast and small.

import { describe, expect, it } from 'vitest';
import { memorySource, type ByteSource } from '../../../engine/formats/bytes.js';
import { parseConfig } from '../../../engine/core/config.js';
import { EdgetronError } from '../../../engine/core/errors.js';
import { GGML_TYPE } from '../../../engine/formats/ggml-types.js';
import { GGUF_VALUE, openGguf } from '../../../engine/formats/gguf.js';
import { ggufConfigJson, ggufWeightStore } from '../../../engine/formats/gguf-names.js';
import { ggufTokenizer } from '../../../engine/formats/gguf-tokenizer.js';
import { openSafetensorsStore } from '../../../engine/formats/safetensors.js';
import { TextCodec } from '../../../engine/text/text.js';
import { validateWeights, type WeightStore } from '../../../engine/core/weights.js';
import { encodeGguf, kv } from '../../../weights-tools/gguf-writer.js';
import { Prng } from '../../../engine/decode/prng.js';
import { serializeSafetensors } from '../../../weights-tools/safetensors-writer.js';

const N = 1200;

/** A tiny nemotron_h_moe GGUF (pattern "M*E", d = 64) with F32, F16, Q8_0, Q4_0 and NVFP4 tensors. */
function tinyGguf(): Uint8Array {
  const d = 64;
  const tokens = ['<unk>', '<s>', '</s>', '<|im_end|>', ...'abcdefghijkl'.split(''), 'Ġa', 'ab'];
  const V = tokens.length; // 18
  const a = 'nemotron_h_moe';
  const meta = new Map([
    ['general.architecture', kv.str(a)],
    [`${a}.block_count`, kv.u32(3)],
    [`${a}.embedding_length`, kv.u32(d)],
    [`${a}.attention.head_count`, kv.u32(4)],
    [`${a}.attention.head_count_kv`, kv.array(GGUF_VALUE.INT32, [0, 2, 0])],
    [`${a}.feed_forward_length`, kv.array(GGUF_VALUE.INT32, [0, 0, 32])],
    [`${a}.attention.key_length`, kv.u32(16)],
    [`${a}.attention.layer_norm_rms_epsilon`, kv.f32(1e-5)],
    [`${a}.ssm.conv_kernel`, kv.u32(4)],
    [`${a}.ssm.state_size`, kv.u32(16)],
    [`${a}.ssm.group_count`, kv.u32(2)],
    [`${a}.ssm.inner_size`, kv.u32(64)],
    [`${a}.ssm.time_step_rank`, kv.u32(4)],
    [`${a}.expert_count`, kv.u32(2)],
    [`${a}.expert_used_count`, kv.u32(1)],
    [`${a}.expert_feed_forward_length`, kv.u32(32)],
    [`${a}.expert_shared_feed_forward_length`, kv.u32(64)],
    [`${a}.expert_weights_scale`, kv.f32(2.5)],
    ['tokenizer.ggml.model', kv.str('gpt2')],
    ['tokenizer.ggml.tokens', kv.array(GGUF_VALUE.STRING, tokens)],
    ['tokenizer.ggml.token_type', kv.array(GGUF_VALUE.INT32, tokens.map((_, i) => (i < 4 ? 3 : 1)))],
    ['tokenizer.ggml.merges', kv.array(GGUF_VALUE.STRING, ['Ġ a', 'a b'])],
    ['tokenizer.ggml.bos_token_id', kv.u32(1)],
    ['tokenizer.ggml.eos_token_id', kv.u32(2)],
  ]);
  const bytesFor = (type: number, n: number) => ({ [GGML_TYPE.F32]: 4 * n, [GGML_TYPE.F16]: 2 * n, [GGML_TYPE.Q8_0]: (n / 32) * 34, [GGML_TYPE.Q4_0]: (n / 32) * 18, [GGML_TYPE.NVFP4]: (n / 64) * 36 })[type]!;
  const rng = new Prng(5, 'tiny');
  const t = (name: string, type: number, dims: number[]) => {
    const data = new Uint8Array(bytesFor(type, dims.reduce((x, y) => x * y, 1)));
    for (let i = 0; i < data.length; i++) data[i] = type === GGML_TYPE.F32 ? [0, 0, 0x80, 0x3f][i % 4] : rng.nextU32() & 0x3b; // f32 1.0; small scales
    return { name, type, dims, data };
  };
  const inProj = 2 * 64 + 2 * 2 * 16 + 4;
  const tensors = [
    t('token_embd.weight', GGML_TYPE.Q8_0, [d, V]),
    t('output_norm.weight', GGML_TYPE.F32, [d]),
    t('output.weight', GGML_TYPE.F16, [d, V]),
    t('blk.0.attn_norm.weight', GGML_TYPE.F32, [d]),
    t('blk.0.ssm_in.weight', GGML_TYPE.Q4_0, [d, inProj]),
    t('blk.0.ssm_conv1d.weight', GGML_TYPE.F32, [4, 128]),
    t('blk.0.ssm_conv1d.bias', GGML_TYPE.F32, [128]),
    t('blk.0.ssm_dt.bias', GGML_TYPE.F32, [4]),
    { ...t('blk.0.ssm_a', GGML_TYPE.F32, [1, 4]), data: new Uint8Array(Float32Array.of(-1, -2, -0.5, -3).buffer) },
    t('blk.0.ssm_d', GGML_TYPE.F32, [1, 4]),
    t('blk.0.ssm_norm.weight', GGML_TYPE.F32, [32, 2]),
    t('blk.0.ssm_out.weight', GGML_TYPE.NVFP4, [64, d]),
    t('blk.0.ssm_out.scale', GGML_TYPE.F32, [1]),
    t('blk.1.attn_norm.weight', GGML_TYPE.F32, [d]),
    t('blk.1.attn_q.weight', GGML_TYPE.F32, [d, 64]),
    t('blk.1.attn_k.weight', GGML_TYPE.F32, [d, 32]),
    t('blk.1.attn_v.weight', GGML_TYPE.F32, [d, 32]),
    t('blk.1.attn_output.weight', GGML_TYPE.F32, [64, d]),
    t('blk.2.attn_norm.weight', GGML_TYPE.F32, [d]),
    t('blk.2.ffn_gate_inp.weight', GGML_TYPE.F32, [d, 2]),
    t('blk.2.exp_probs_b.bias', GGML_TYPE.F32, [2]),
    t('blk.2.ffn_up_exps.weight', GGML_TYPE.NVFP4, [d, 32, 2]),
    t('blk.2.ffn_up_exps.scale', GGML_TYPE.F32, [2]),
    t('blk.2.ffn_down_exps.weight', GGML_TYPE.Q8_0, [32, d, 2]),
    t('blk.2.ffn_up_shexp.weight', GGML_TYPE.F32, [d, 64]),
    t('blk.2.ffn_down_shexp.weight', GGML_TYPE.F32, [64, d]),
  ];
  return encodeGguf(meta, tensors);
}

/** A ByteSource that records the largest read it was asked for. */
function watched(name: string, bytes: Uint8Array): ByteSource & { largest: number } {
  const inner = memorySource(name, bytes);
  const src = {
    ...inner,
    largest: 0,
    readInto: (dst: Uint8Array, offset: number) => {
      src.largest = Math.max(src.largest, dst.byteLength);
      return inner.readInto(dst, offset);
    },
    readIntoSync: (dst: Uint8Array, offset: number) => {
      src.largest = Math.max(src.largest, dst.byteLength);
      inner.readIntoSync!(dst, offset);
    },
  };
  return src;
}

/** Mutate `base` within its first `headerBytes`: random bytes, extreme u32/u64 words, or a truncation. */
function mutate(base: Uint8Array, headerBytes: number, rng: Prng): Uint8Array {
  const out = base.slice();
  const view = new DataView(out.buffer);
  const pick = (n: number) => rng.nextU32() % n;
  const edits = 1 + pick(4);
  for (let e = 0; e < edits; e++) {
    const at = pick(headerBytes);
    switch (pick(5)) {
      case 0:
        out[at] = pick(256);
        break;
      case 1:
        out[at] ^= 1 << pick(8);
        break;
      case 2:
        if (at + 4 <= out.length) view.setUint32(at, [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 64, 4096][pick(7)], true);
        break;
      case 3:
        if (at + 8 <= out.length) view.setBigUint64(at, [0n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 32n, 2n ** 53n + 1n][pick(5)], true);
        break;
      default:
        return out.subarray(0, pick(out.length));
    }
  }
  return out;
}

async function readAll(store: WeightStore): Promise<void> {
  for (const name of store.names()) {
    const t = store.get(name)!;
    await t.readInto(new Uint8Array(t.byteLength));
  }
}

/** Run `load` on N mutations; every throw must be a named EdgetronError. Returns the outcome counts. */
async function fuzz(base: Uint8Array, headerBytes: number, seed: string, load: (src: ByteSource) => Promise<void>) {
  const rng = new Prng(2026, seed);
  const outcomes = new Map<string, number>();
  let largest = 0;
  for (let i = 0; i < N; i++) {
    const bytes = mutate(base, headerBytes, rng);
    const src = watched(`case-${i}`, bytes);
    let outcome = 'loaded';
    try {
      await load(src);
    } catch (e) {
      if (!(e instanceof EdgetronError)) throw new Error(`case ${i}: unnamed error ${String(e)}\n${(e as Error).stack}`);
      outcome = e.name;
    }
    expect(src.largest, `case ${i}: a read larger than the file`).toBeLessThanOrEqual(bytes.byteLength);
    largest = Math.max(largest, src.largest);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  return { outcomes, largest };
}

describe('fuzzed headers only ever raise named errors', () => {
  it(`${N} mutated GGUF headers`, async () => {
    const base = tinyGguf();
    const probe = await openGguf(memorySource('base.gguf', base));
    const before = process.memoryUsage().rss;
    const { outcomes } = await fuzz(base, probe.dataOffset, 'gguf', async (src) => {
      const gguf = await openGguf(src);
      const tok = ggufTokenizer(gguf);
      if (tok) TextCodec.fromJson(tok.tokenizerJson, tok.tokenizerConfig).encode('ab a<|im_end|>');
      const config = parseConfig(ggufConfigJson(gguf));
      const store = await ggufWeightStore(gguf);
      validateWeights(config, store);
      await readAll(store);
    });
    expect(outcomes.size, [...outcomes.keys()].join(', ')).toBeGreaterThanOrEqual(5); // errors from every stage of the load
    expect(outcomes.get('loaded')).toBeGreaterThan(0); // the base itself is a valid model, some mutations keep it so
    expect(outcomes.get('CorruptWeightsError')).toBeGreaterThan(N / 4);
    expect(process.memoryUsage().rss - before).toBeLessThan(512 << 20);
  }, 60_000);

  it(`${N} mutated safetensors headers`, async () => {
    const f32 = (n: number) => new Uint8Array(new Float32Array(n).fill(0.5).buffer);
    const base = serializeSafetensors(
      [
        { name: 'backbone.embeddings.weight', dtype: 'f32', shape: [8, 4], data: f32(32) },
        { name: 'lm_head.weight', dtype: 'bf16', shape: [8, 4], data: new Uint8Array(64) },
        { name: 'x.weight', dtype: 'u8', shape: [4, 2], data: new Uint8Array(8) },
        { name: 'x.weight_scale', dtype: 'f8_e4m3', shape: [4, 1], data: new Uint8Array(4) },
      ],
      { format: 'pt' },
    );
    const headerBytes = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));
    const before = process.memoryUsage().rss;
    const { outcomes } = await fuzz(base, headerBytes, 'safetensors', async (src) => {
      await readAll(await openSafetensorsStore([src]));
    });
    expect(outcomes.get('loaded')).toBeGreaterThan(0);
    expect(outcomes.get('CorruptWeightsError')).toBeGreaterThan(N / 4);
    expect(process.memoryUsage().rss - before).toBeLessThan(512 << 20);
  }, 60_000);
});
