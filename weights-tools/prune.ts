// docs/sparsity.md (Mishra et al. 2021, arXiv 2104.08378): one-shot 2:4 pruning of a linear weight
// W [out, in] along K. In every group of 4 consecutive elements of a row keep the 2 with the
// highest score:
//   magnitude:  s_ij = |W_ij|
//   Wanda:      s_ij = |W_ij| · ‖X_j‖₂   (X the layer's calibration inputs, column j over all tokens)
// Ties go to the lower index (apex `m4n2_1d` picks the first pattern in enumeration order).
// The calibration statistics come from one instrumented pass of the reference backend: its
// `TensorCache.tap` sees the input X (T, K) of every projection (routed experts see only their
// tokens). Wanda needs the column norms ‖X_j‖₂; per-layer recovery (recover.ts,
// docs/sparsity.md) needs the Gram matrix H = XᵀX (K, K), H_ij = Σ_t X[t, i] X[t, j], whose
// diagonal is ‖X_j‖².

import type { LoadedModel } from '../engine/core/backend.js';
import { InvalidOptionError } from '../engine/core/errors.js';
import { Model } from '../engine/core/model.js';
import type { RefAct } from '../engine/reference/act.js';
import { ReferenceModel } from '../engine/reference/index.js';

export type PruneScore = 'magnitude' | 'wanda';
export const PRUNE_SCORES: readonly PruneScore[] = ['magnitude', 'wanda'];

/**
 * Zero all but the 2 highest-scoring elements of each group of 4 in `row` (cols, a multiple of 4),
 * in place. `importance` (cols) multiplies |w| (Wanda's ‖X_j‖₂); null scores by magnitude.
 * @example
 * const row = Float64Array.of(0.1, -3, 2, 0.5); prune24Row(row, null); // [0, -3, 2, 0]
 */
export function prune24Row(row: Float64Array, importance: Float64Array | null): void {
  const score = (j: number) => Math.abs(row[j]) * (importance ? importance[j] : 1);
  for (let base = 0; base < row.length; base += 4) {
    // the best and second best of the group, ties to the lower index
    let a = base;
    let b = base + 1;
    if (score(b) > score(a)) [a, b] = [b, a];
    for (let j = base + 2; j < base + 4; j++) {
      const s = score(j);
      if (s > score(a)) [a, b] = [j, a];
      else if (s > score(b)) b = j;
    }
    for (let j = base; j < base + 4; j++) if (j !== a && j !== b) row[j] = 0;
  }
}

/**
 * The 2:4 mask `prune24Row` keeps for `row` (cols) into mask[at, at + cols): 1 kept, 0 pruned
 * (a kept zero counts as kept, so every group keeps exactly 2). `scratch` (cols) is overwritten.
 * @example mask24Row(Float64Array.of(0.1, -3, 2, 0.5), null, mask, 0, scratch); // mask [0, 1, 1, 0]
 */
export function mask24Row(row: ArrayLike<number>, importance: Float64Array | null, mask: Uint8Array, at: number, scratch: Float64Array): void {
  for (let j = 0; j < scratch.length; j++) scratch[j] = row[j] === 0 ? Number.MIN_VALUE : row[j];
  prune24Row(scratch, importance);
  for (let j = 0; j < scratch.length; j++) mask[at + j] = scratch[j] === 0 ? 0 : 1;
}

/** Run `prompts` through the model on the reference backend; `onInput` sees the input of every projection in `names`. */
function tapInputs(loaded: LoadedModel, prompts: readonly Int32Array[], names: ReadonlySet<string>, onInput: (weight: string, x: RefAct) => void): void {
  if (!(loaded instanceof ReferenceModel)) throw new InvalidOptionError('backend', loaded.backend, 'reference (calibration taps its projections)');
  loaded.tensors.tap = (weight, x) => {
    if (names.has(weight)) onInput(weight, x);
  };
  try {
    const model = new Model(loaded);
    for (const tokens of prompts) {
      const seq = model.newSequence(tokens.length);
      model.forward(seq, tokens, 'last');
      seq.free();
    }
  } finally {
    loaded.tensors.tap = null;
  }
}

/**
 * Wanda calibration: run `prompts` through the model on the reference backend and return, for
 * every linear weight in `names`, ‖X_j‖₂ over all the rows its projection saw (cols). Weights
 * that saw no rows (an expert no token was routed to) are absent: prune those by magnitude.
 * The model must be loaded on the reference backend (it keeps its weights as stored).
 * @example
 * const norms = collectInputNorms(loaded, [Int32Array.of(1, 2, 3)], new Set(['backbone.layers.0.mixer.in_proj.weight']));
 */
export function collectInputNorms(loaded: LoadedModel, prompts: readonly Int32Array[], names: ReadonlySet<string>): Map<string, Float64Array> {
  const sums = new Map<string, Float64Array>(); // Σ_t X[t, j]² per weight, (cols)
  tapInputs(loaded, prompts, names, (weight, x) => {
    let acc = sums.get(weight);
    if (!acc) sums.set(weight, (acc = new Float64Array(x.cols)));
    for (let i = 0; i < x.data.length; i++) acc[i % x.cols] += x.data[i] * x.data[i];
  });
  for (const acc of sums.values()) for (let j = 0; j < acc.length; j++) acc[j] = Math.sqrt(acc[j]);
  return sums;
}

/** The calibration inputs of one linear map, as their Gram matrix. */
export interface InputGram {
  readonly gram: Float64Array; // (K, K) H = XᵀX, symmetric
  readonly cols: number; // K
  /** Rows of X (tokens) accumulated. */
  readonly tokens: number;
}

/**
 * Per-layer recovery calibration: like `collectInputNorms`, but the whole Gram matrix H = XᵀX
 * (K, K) of every weight in `names` over all the rows its projection saw; absent for a weight
 * that saw none. sqrt(diag H) is Wanda's ‖X_j‖₂.
 * @example
 * const { gram, tokens } = collectInputGrams(loaded, prompts, names).get('backbone.layers.1.mixer.experts.0.up_proj.weight')!;
 */
export function collectInputGrams(loaded: LoadedModel, prompts: readonly Int32Array[], names: ReadonlySet<string>): Map<string, InputGram> {
  const grams = new Map<string, { gram: Float64Array; cols: number; tokens: number }>();
  tapInputs(loaded, prompts, names, (weight, x) => {
    const K = x.cols;
    let acc = grams.get(weight);
    if (!acc) grams.set(weight, (acc = { gram: new Float64Array(K * K), cols: K, tokens: 0 }));
    const H = acc.gram;
    for (let t = 0; t < x.rows; t++) {
      const row = x.data.subarray(t * K, (t + 1) * K); // (K) X[t, :]
      for (let i = 0; i < K; i++) {
        const xi = row[i];
        if (xi === 0) continue;
        for (let j = i; j < K; j++) H[i * K + j] += xi * row[j]; // upper triangle
      }
    }
    acc.tokens += x.rows;
  });
  for (const { gram: H, cols: K } of grams.values()) for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) H[i * K + j] = H[j * K + i];
  return grams;
}
