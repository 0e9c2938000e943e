// seed-methods A.4–A.5, A.8: one-shot 2:4 pruning of a linear weight W [out, in] along K.
// In every group of 4 consecutive elements of a row keep the 2 with the highest score:
//   magnitude:  s_ij = |W_ij|
//   Wanda:      s_ij = |W_ij| · ‖X_j‖₂   (X the layer's calibration inputs, column j over all tokens)
// Ties go to the lower index (apex `m4n2_1d` picks the first pattern in enumeration order).
// The calibration norms come from one instrumented pass of the reference backend: its
// `TensorCache.tap` sees the input of every projection (routed experts see only their tokens).

import type { LoadedModel } from '../engine/backend.js';
import { InvalidOptionError } from '../engine/errors.js';
import { Model } from '../engine/model.js';
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
 * Wanda calibration: run `prompts` through the model on the reference backend and return, for
 * every linear weight in `names`, ‖X_j‖₂ over all the rows its projection saw (cols). Weights
 * that saw no rows (an expert no token was routed to) are absent: prune those by magnitude.
 * The model must be loaded on the reference backend (it keeps its weights as stored).
 * @example
 * const norms = collectInputNorms(loaded, [Int32Array.of(1, 2, 3)], new Set(['backbone.layers.0.mixer.in_proj.weight']));
 */
export function collectInputNorms(loaded: LoadedModel, prompts: readonly Int32Array[], names: ReadonlySet<string>): Map<string, Float64Array> {
  if (!(loaded instanceof ReferenceModel)) throw new InvalidOptionError('backend', loaded.backend, 'reference (Wanda calibration taps its projections)');
  const sums = new Map<string, Float64Array>(); // Σ_t X[t, j]² per weight, (cols)
  loaded.tensors.tap = (weight, x) => {
    if (!names.has(weight)) return;
    let acc = sums.get(weight);
    if (!acc) sums.set(weight, (acc = new Float64Array(x.cols)));
    for (let i = 0; i < x.data.length; i++) acc[i % x.cols] += x.data[i] * x.data[i];
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
  for (const acc of sums.values()) for (let j = 0; j < acc.length; j++) acc[j] = Math.sqrt(acc[j]);
  return sums;
}
