// spec §11, the MTP block (engine/decode/mtp.ts) and the op it adds (concatCols): the step formula
// z = eh_proj·[enorm(Emb(x)), hnorm(h)], ĥ = final_layernorm(z), logits = lm_head(ĥ) against a
// hand computation from the raw tensors; its own KV cache (R rows at once = R single steps);
// the rewind point of a draft; wasm against the reference backend.
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import type { Backend, LoadedModel } from '../../../engine/core/backend.js';
import { InvalidOptionError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { validateWeights } from '../../../engine/core/weights.js';
import { Mtp } from '../../../engine/decode/mtp.js';
import { argmax } from '../../../engine/decode/sample.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { expectNormwiseClose, randomRows, tolPath } from '../../conformance/harness.js';
import { memoryStore, memoryTensors, randomModelTensors, type MemoryTensor } from '../../helpers/memory-store.js';
import { mtpTensors, tinyLatentConfig } from './mtp-models.js';

const config = tinyLatentConfig();
const d = config.dModel;
const V = config.vocabSize;
const load = async (backend: Backend, tensors: Record<string, MemoryTensor>) => new Model(await backend.load(config, validateWeights(config, memoryStore(tensors), true)));
const f32 = (t: MemoryTensor) => t.data as Float32Array;
const zeros = (shape: number[]): MemoryTensor => ({ dtype: 'f32', shape, data: new Float32Array(shape[0] * shape[1]) });

describe.each([
  ['reference', referenceBackend],
  ['wasm', wasmBackend],
] as const)('concatCols on %s', (_name, backend) => {
  it('puts each row of A before the same row of B', async () => {
    const ops: LoadedModel = await backend.load(config, memoryTensors(config, randomModelTensors(config, 1)));
    const a = ops.upload(Float32Array.of(1, 2, 3, 4, 5, 6), 3, 2);
    const b = ops.upload(Float32Array.of(10, 20, 30, 40, 50, 60, 70, 80, 90), 3, 3);
    const y = ops.concatCols(a, b);
    expect([y.rows, y.cols]).toEqual([3, 5]);
    expect([...ops.download(y)]).toEqual([1, 2, 10, 20, 30, 3, 4, 40, 50, 60, 5, 6, 70, 80, 90]);
    expect(() => ops.concatCols(a, ops.upload(new Float32Array(4), 2, 2))).toThrow(/concatCols/);
    ops.dispose();
  });
});

describe('the MTP step (spec §11)', () => {
  it('is lm_head(final_layernorm(eh_proj · [enorm(Emb(x)), hnorm(h)])) when both sub-layers add 0', async () => {
    // silence the sub-layers: attention o_proj = 0; MoE routed fc2_latent_proj = 0 and shared down_proj = 0
    const tensors = mtpTensors(config, 5, {
      'mtp.layers.0.mixer.o_proj.weight': zeros([d, config.attention!.nHeads * config.attention!.headDim]),
      'mtp.layers.1.mixer.fc2_latent_proj.weight': zeros([d, config.moe!.latentDim!]),
      'mtp.layers.1.mixer.shared_experts.down_proj.weight': zeros([d, config.moe!.sharedDim]),
    });
    const model = await load(referenceBackend, tensors);
    const mtp = new Mtp(model);
    const hRows = randomRows(2, d, 9); // (2, d): h_t of two positions
    const next = Int32Array.of(17, 300);
    const h = model.ops.upload(hRows, 2, d);
    const step = mtp.step(mtp.newSequence(8), h, next);
    // by hand, in f64, for the last row
    const rms = (x: ArrayLike<number>, w: Float32Array) => {
      let ss = 0;
      for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
      const r = 1 / Math.sqrt(ss / x.length + config.normEps);
      return Array.from(x, (v, i) => w[i] * v * r);
    };
    const emb = f32(tensors['backbone.embeddings.weight']).subarray(300 * d, 301 * d);
    const cat = [...rms(emb, f32(tensors['mtp.layers.0.enorm.weight'])), ...rms(hRows.subarray(d), f32(tensors['mtp.layers.0.hnorm.weight']))];
    const eh = f32(tensors['mtp.layers.0.eh_proj.weight']); // [d, 2d]
    const z = Array.from({ length: d }, (_, o) => cat.reduce((s, c, i) => s + eh[o * 2 * d + i] * c, 0));
    const hHat = rms(z, f32(tensors['mtp.layers.1.final_layernorm.weight']));
    const lm = f32(tensors['lm_head.weight']); // [V, d]
    const want = Float32Array.from({ length: V }, (_, v) => hHat.reduce((s, x, i) => s + lm[v * d + i] * x, 0));
    expectNormwiseClose([step.logits], [want], 1e-6);
    expectNormwiseClose([model.ops.download(step.hidden)], [Float32Array.from(hHat)], 1e-6);
  });

  it('needs a model with an MTP block', async () => {
    const plain = tinyLatentConfig();
    const noMtp = { ...plain, mtp: null, layers: plain.layers.slice(0, plain.nTrunkLayers) };
    const ops = await referenceBackend.load(noMtp, memoryTensors(noMtp, randomModelTensors(noMtp, 1)));
    expect(() => new Mtp(new Model(ops))).toThrow(InvalidOptionError);
  });
});

describe.each([
  ['reference', referenceBackend],
  ['wasm', wasmBackend],
] as const)('the MTP block on %s', (name, backend) => {
  const tensors = mtpTensors(config, 11);
  const R = 5;
  const hRows = randomRows(R, d, 3); // (R, d)
  const next = Int32Array.of(3, 77, 410, 9, 256);

  it('keeps its own KV cache: R rows in one step give the logits of R single-row steps, and not those of the last row alone', async () => {
    const model = await load(backend, tensors);
    const mtp = new Mtp(model);
    const h = model.ops.upload(hRows, R, d);
    const seq = mtp.newSequence(16);
    const all = mtp.step(seq, h, next);
    expect(seq.position).toBe(R);
    const one = mtp.newSequence(16);
    let last!: Float32Array;
    for (let t = 0; t < R; t++) {
      const row = model.ops.sliceRows(h, t, 1);
      last = mtp.step(one, row, next.subarray(t, t + 1)).logits;
    }
    const tol = name === 'reference' ? 1e-12 : tolPath(4 * d + 2 * d);
    expectNormwiseClose([last], [all.logits], tol);
    const alone = mtp.step(mtp.newSequence(16), model.ops.sliceRows(h, R - 1, 1), next.subarray(R - 1)).logits;
    expect(Math.max(...alone.map((x, i) => Math.abs(x - all.logits[i])))).toBeGreaterThan(1e-3);
  });

  it('rewinds a draft to just after its first step', async () => {
    const model = await load(backend, tensors);
    const mtp = new Mtp(model);
    const h = model.ops.upload(hRows, R, d);
    const seq = mtp.newSequence(16);
    const { drafts, rewind } = mtp.draft(seq, h, next, 3, argmax);
    expect(drafts.length).toBe(3);
    expect(seq.position).toBe(R + 2);
    seq.restore(rewind!);
    rewind!.free();
    expect(seq.position).toBe(R);
    // the first draft is the argmax of the first step; after the rewind the cache holds only that step
    const fresh = mtp.newSequence(16);
    const first = mtp.step(fresh, h, next);
    expect(drafts[0]).toBe(argmax(first.logits));
    const probe = Int32Array.of(42);
    const a = mtp.step(seq, first.hidden, probe).logits;
    const b = mtp.step(fresh, first.hidden, probe).logits;
    expectNormwiseClose([a], [b], name === 'reference' ? 0 : tolPath(4 * d));
  });

  it.runIf(name === 'wasm')('matches the reference backend', async () => {
    const run = async (b: Backend) => {
      const model = await load(b, tensors);
      const mtp = new Mtp(model);
      const seq = mtp.newSequence(16);
      const first = mtp.step(seq, model.ops.upload(hRows, R, d), next);
      const second = mtp.step(seq, first.hidden, Int32Array.of(7));
      return [first.logits, second.logits];
    };
    expectNormwiseClose(await run(wasmBackend), await run(referenceBackend), tolPath(2 * d + 4 * d + 2 * d + d));
  });
});
