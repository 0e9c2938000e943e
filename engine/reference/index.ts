// DESIGN §2: the `reference` backend, the executable spec every other backend is tested against.
// Plain TypeScript loops in f64 over the raw weights (f32/f16/bf16, nvfp4, nvfp4-s24; decoded
// exactly on use), one file per block:
// matmul.ts (Y = X·Wᵀ), norm.ts (§5, §6.7), mamba2.ts + ssd.ts (§6), attention.ts (§7),
// moe.ts (§8), mlp.ts (§9), state.ts (the per-sequence state). Weights are read lazily on first
// use where the store can read synchronously (tensors.ts), and never copied twice.

import type { Act, Backend, LoadedModel, SequenceState, StatePart } from '../core/backend.js';
import type { ModelConfig } from '../core/config.js';
import { OpArgumentError, SequenceStateError, TokenOutOfRangeError } from '../core/errors.js';
import { headTensorName, type TensorEntry } from '../core/weights.js';
import { RefAct } from './act.js';
import { attention } from './attention.js';
import { mamba2 } from './mamba2.js';
import { decodeWeightRow, matmul } from './matmul.js';
import { relu2Mlp } from './mlp.js';
import { moe } from './moe.js';
import { rmsnorm } from './norm.js';
import { RefSequenceState } from './state.js';
import { TensorCache } from './tensors.js';

function refAct(x: Act, op: string): RefAct {
  if (!(x instanceof RefAct)) throw new OpArgumentError(op, 'the activation does not belong to the reference backend');
  return x;
}

function refState(s: SequenceState): RefSequenceState {
  if (!(s instanceof RefSequenceState)) throw new SequenceStateError('the sequence was not created by the reference backend');
  return s;
}

/**
 * The reference backend's `LoadedModel`: every op in f64 over the lazily read raw weights.
 * @example const y = (await referenceBackend.load(config, tensors)).matmul(x, 'lm_head.weight');
 */
export class ReferenceModel implements LoadedModel {
  readonly backend = 'reference';

  constructor(
    readonly config: ModelConfig,
    readonly tensors: TensorCache,
  ) {}

  newSequence(maxTokens: number, part: StatePart = 'trunk'): RefSequenceState {
    return new RefSequenceState(this.config, maxTokens, part);
  }

  upload(data: Float32Array, rows: number, cols: number): RefAct {
    if (data.length !== rows * cols) throw new OpArgumentError('upload', `${data.length} values for a (${rows}, ${cols}) matrix`);
    return new RefAct(Float64Array.from(data), rows, cols);
  }

  download(x: Act): Float32Array {
    return Float32Array.from(refAct(x, 'download').data);
  }

  free(x: Act): void {
    refAct(x, 'free'); // garbage-collected; nothing to release
  }

  sliceRows(x: Act, start: number, count: number): RefAct {
    const a = refAct(x, 'sliceRows');
    if (start < 0 || count < 0 || start + count > a.rows) throw new OpArgumentError('sliceRows', `rows [${start}, ${start + count}) of ${a.rows}`);
    return new RefAct(a.data.slice(start * a.cols, (start + count) * a.cols), count, a.cols);
  }

  concatCols(a: Act, b: Act): RefAct {
    const x = refAct(a, 'concatCols');
    const y = refAct(b, 'concatCols');
    if (x.rows !== y.rows) throw new OpArgumentError('concatCols', `(${x.rows}, ${x.cols}) beside (${y.rows}, ${y.cols})`);
    // (T, n) ‖ (T, m) → (T, n + m), row by row
    const out = RefAct.zeros(x.rows, x.cols + y.cols);
    for (let t = 0; t < x.rows; t++) {
      out.data.set(x.data.subarray(t * x.cols, (t + 1) * x.cols), t * out.cols);
      out.data.set(y.data.subarray(t * y.cols, (t + 1) * y.cols), t * out.cols + x.cols);
    }
    return out;
  }

  embed(tokens: Int32Array): RefAct {
    const { vocabSize: V, dModel: d } = this.config;
    for (const t of tokens) if (!(t >= 0 && t < V)) throw new TokenOutOfRangeError(t, V);
    // one decoded row of Emb per token: (T) → (T, d)
    const emb = this.tensors.linear('backbone.embeddings.weight');
    const x = RefAct.zeros(tokens.length, d);
    tokens.forEach((tok, t) => decodeWeightRow(emb, tok, x.data, t * d));
    return x;
  }

  rmsnorm(x: Act, weight: string): RefAct {
    return rmsnorm(refAct(x, 'rmsnorm'), this.tensors.vector(weight), this.config.normEps);
  }

  addInPlace(x: Act, y: Act): void {
    const a = refAct(x, 'addInPlace');
    const b = refAct(y, 'addInPlace');
    if (a.rows !== b.rows || a.cols !== b.cols) throw new OpArgumentError('addInPlace', `(${a.rows}, ${a.cols}) + (${b.rows}, ${b.cols})`);
    for (let i = 0; i < a.data.length; i++) a.data[i] += b.data[i];
  }

  mamba2(il: number, u: Act, state: SequenceState): RefAct {
    return mamba2(this.config, this.tensors, il, refAct(u, 'mamba2'), refState(state).mambaLayer(il));
  }

  attention(il: number, u: Act, state: SequenceState): RefAct {
    const s = refState(state);
    return attention(this.config, this.tensors, il, refAct(u, 'attention'), s.kvLayer(il), s.position, s.maxTokens);
  }

  moe(il: number, u: Act): RefAct {
    return moe(this.config, this.tensors, il, refAct(u, 'moe'));
  }

  mlp(il: number, u: Act): RefAct {
    const pre = `${this.config.layers[il].prefix}mixer.`;
    return relu2Mlp(refAct(u, 'mlp'), this.tensors.linear(`${pre}up_proj.weight`), this.tensors.linear(`${pre}down_proj.weight`), this.tensors.tap);
  }

  matmul(x: Act, weight: string): RefAct {
    return matmul(refAct(x, 'matmul'), this.tensors.linear(weight), this.tensors.tap);
  }

  head(h: Act): Float32Array {
    return Float32Array.from(matmul(refAct(h, 'head'), this.tensors.linear(headTensorName(this.config)), this.tensors.tap).data);
  }

  weightBytes(): number {
    return this.tensors.residentBytes();
  }

  dispose(): void {
    this.tensors.clear();
  }
}

/**
 * The reference backend. `load` keeps the tensor entries and reads each tensor on first use
 * (entries without a synchronous read are read now, once).
 * @example
 * const model = await referenceBackend.load(config, validateWeights(config, store));
 * const logits = new Model(model).forward(model.newSequence(64), new Int32Array([1, 2, 3]));
 */
export const referenceBackend: Backend = {
  name: 'reference',
  async load(config, tensors: ReadonlyMap<string, TensorEntry>, onProgress) {
    const cache = new TensorCache(tensors);
    await cache.readUnsyncable(onProgress);
    return new ReferenceModel(config, cache);
  },
};
