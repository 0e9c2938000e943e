// Test helper for the trainer: a preset's seeded random weights as a TensorMap (f32, MTP
// included), the reference backend over the same weights, and the reference output of one layer's
// mixer for a batch of B independent sequences (each from a fresh sequence state).

import type { ModelConfig } from '../../../engine/core/config.js';
import { parseConfig } from '../../../engine/core/config.js';
import { Prng } from '../../../engine/decode/prng.js';
import { referenceBackend, type ReferenceModel } from '../../../engine/reference/index.js';
import type { TensorMap } from '../../../lab/train/block.js';
import { presetConfig, type PresetName } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';
import { randomArray } from './grad-check.js';

export interface TinyModel {
  readonly config: ModelConfig;
  readonly params: TensorMap;
  readonly reference: ReferenceModel;
}

/** The preset with random f32 weights (seed), as trainer params and as a reference model. */
export async function tinyModel(preset: PresetName, seed: number): Promise<TinyModel> {
  const config = parseConfig(presetConfig(preset));
  const tensors = randomModelTensors(config, seed, { withMtp: true });
  const params: TensorMap = new Map(Object.entries(tensors).map(([name, t]) => [name, Float32Array.from(t.data as Float32Array)]));
  const reference = (await referenceBackend.load(config, memoryTensors(config, tensors))) as ReferenceModel;
  return { config, params, reference };
}

/** The parameters whose names start with `prefix` (one layer's block). */
export function blockParams(params: TensorMap, prefix: string): TensorMap {
  return new Map([...params].filter(([name]) => name.startsWith(prefix)));
}

/** Activations (B·T, d) of a normed scale, seeded. */
export function randomInput(rows: number, d: number, seed: number): Float32Array {
  return randomArray(rows * d, new Prng(seed, 'train-input'), 1.5);
}

/** The reference mixer of layer il on each of B sequences of T rows of u, concatenated. */
export function referenceMixer(m: TinyModel, il: number, u: Float32Array, B: number, T: number): Float32Array {
  const { reference, config } = m;
  const d = config.dModel;
  const out = new Float32Array(B * T * d);
  for (let b = 0; b < B; b++) {
    const seq = reference.newSequence(T);
    const x = reference.upload(u.slice(b * T * d, (b + 1) * T * d), T, d);
    const kind = config.layers[il].kind;
    const y = kind === 'M' ? reference.mamba2(il, x, seq) : kind === '*' ? reference.attention(il, x, seq) : kind === 'E' ? reference.moe(il, x) : reference.mlp(il, x);
    out.set(reference.download(y), b * T * d);
  }
  return out;
}

/** Worst |a − b| / max(|b|, floor) over the elements. */
export function worstRelative(a: Float32Array, b: Float32Array, floor = 1e-3): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return worst;
}
