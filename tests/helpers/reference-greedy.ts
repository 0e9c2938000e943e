// Test oracle for logprobs, penalties and logit bias (node and workerd suites): greedy decoding
// by hand, one model.forward call per token, the log-softmax of each raw row computed here in
// f64, and OpenAI's penalty formula written out independently of engine/decode/penalties.ts.
import type { Model } from '../../engine/core/model.js';

/** log-softmax of a raw row in f64: l_i − (max + log Σ exp(l_j − max)). */
export function logSoftmax(row: Float32Array): Float64Array {
  const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
  const log = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
  return Float64Array.from(row, (v) => v - log);
}

/** The k most probable ids of a log-softmax row, ties lowest id first. */
export const topIds = (lp: Float64Array, k: number): number[] => [...lp.keys()].sort((a, b) => lp[b] - lp[a] || a - b).slice(0, k);

/** One greedy step: the chosen id and the log-softmax of the RAW row it was chosen from. */
export interface Step {
  readonly id: number;
  readonly logprobs: Float64Array;
}

/** Edits a copy of each row before the argmax, given the ids chosen so far. */
export type Adjust = (row: Float32Array, history: readonly number[]) => void;

/** OpenAI: l_j −= c_j · frequency + [c_j > 0] · presence, c_j = times j was chosen so far. */
export const openAiPenalties =
  (presence: number, frequency: number): Adjust =>
  (row, history) => {
    const c = new Map<number, number>();
    for (const id of history) c.set(id, (c.get(id) ?? 0) + 1);
    for (const [j, n] of c) row[j] -= n * frequency + (n > 0 ? presence : 0);
  };

/** Greedy decode of up to `steps` tokens after `prompt`; stops before an id in `stopIds`. */
export function referenceGreedy(model: Model, prompt: readonly number[], steps: number, adjust?: Adjust, stopIds: readonly number[] = []): Step[] {
  const seq = model.newSequence(prompt.length + steps + 1);
  const out: Step[] = [];
  try {
    let row = model.forward(seq, Int32Array.from(prompt), 'last');
    for (let i = 0; i < steps; i++) {
      const edited = Float32Array.from(row);
      adjust?.(edited, out.map((s) => s.id));
      let id = 0;
      for (let j = 1; j < edited.length; j++) if (edited[j] > edited[id]) id = j;
      if (stopIds.includes(id)) break;
      out.push({ id, logprobs: logSoftmax(row) });
      if (i + 1 < steps) row = model.forward(seq, Int32Array.of(id), 'last');
    }
  } finally {
    seq.free();
  }
  return out;
}
