// Quantisation quality metric: how far a quantised model's next-token distributions move from the
// original's, over a fixed prompt set, at every position:
//   KL(P ‖ Q) = Σ_v P(v) · (ln P(v) − ln Q(v)),  P = softmax(reference logits), Q = softmax(test logits)
// in f64 with the row maximum subtracted; reported as the mean (and max) over all positions.
// `compareQuantizations` converts one checkpoint three ways (nvfp4, and nvfp4-s24 pruned by
// magnitude and by Wanda) and measures each against it (on the reference backend by default).

import { join } from 'node:path';
import type { Backend } from '../engine/core/backend.js';
import type { Model } from '../engine/core/model.js';
import { openSession, requireText, type Session } from '../engine/core/session.js';
import { referenceBackend } from '../engine/reference/index.js';
import { openCheckpoint, resolveModelPath } from './checkpoint.js';
import { convertCheckpoint, type ConvertOptions } from './convert.js';

/** The fixed prompt set (plain text; tokenised with each model's tokenizer). */
export const QUALITY_PROMPTS: readonly string[] = [
  'The quick brown fox jumps over the lazy dog.',
  'Four score and seven years ago our fathers brought forth on this continent a new nation.',
  'In the beginning the Universe was created. This has made a lot of people very angry.',
  'def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)',
];

export interface KlResult {
  /** Mean KL over all positions, in nats. */
  readonly mean: number;
  /** Largest KL at one position. */
  readonly max: number;
  /** Positions measured. */
  readonly positions: number;
}

/** ln softmax of one logits row (V), in f64. */
function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

/**
 * Logits at every position of each prompt: one (T, V) array per prompt.
 * @example const logits = promptLogits(session.model, [Int32Array.of(1, 2, 3)]); // [(3, V)]
 */
export function promptLogits(model: Model, prompts: readonly Int32Array[]): Float32Array[] {
  return prompts.map((tokens) => model.forward(model.newSequence(tokens.length), tokens, 'all'));
}

/**
 * KL(P ‖ Q) at every row of matching logits arrays (rows of V), averaged over all rows.
 * @example const { mean } = klOfLogits(promptLogits(f32, prompts), promptLogits(nvfp4, prompts), V);
 */
export function klOfLogits(reference: readonly Float32Array[], test: readonly Float32Array[], V: number): KlResult {
  let total = 0;
  let max = 0;
  let positions = 0;
  reference.forEach((p, i) => {
    for (let t = 0; t < p.length / V; t++) {
      const lp = logSoftmax(p.subarray(t * V, (t + 1) * V));
      const lq = logSoftmax(test[i].subarray(t * V, (t + 1) * V));
      let kl = 0;
      for (let v = 0; v < V; v++) kl += Math.exp(lp[v]) * (lp[v] - lq[v]);
      total += kl;
      max = Math.max(max, kl);
      positions++;
    }
  });
  return { mean: total / positions, max, positions };
}

/**
 * KL(reference ‖ test) of next-token distributions at every position of every prompt.
 * @example
 * const { mean } = klDivergence(f32Session.model, nvfp4Session.model, [Int32Array.of(1, 2, 3)]);
 */
export function klDivergence(reference: Model, test: Model, prompts: readonly Int32Array[]): KlResult {
  return klOfLogits(promptLogits(reference, prompts), promptLogits(test, prompts), reference.config.vocabSize);
}

/** One row of the quality table. */
export interface QualityRow {
  readonly format: 'nvfp4' | 'nvfp4-s24';
  readonly score: 'magnitude' | 'wanda' | null;
  readonly kl: KlResult;
  /** Bytes of the converted pack's shards. */
  readonly bytes: number;
}

async function open(path: string, backend: Backend): Promise<Session> {
  const ckpt = await openCheckpoint(path);
  const session = await openSession(ckpt, backend);
  return { ...session, dispose: () => (session.dispose(), void ckpt.store.close()) };
}

/**
 * Convert `model` into `workDir` as nvfp4, nvfp4-s24 (magnitude) and nvfp4-s24 (Wanda), with
 * `settings` (policy, mse, calibration text), and measure each against the original with
 * `klDivergence` over QUALITY_PROMPTS (cut to `maxTokens` tokens each), on `backend` (the
 * reference by default; any backend that runs the 4-bit formats will do).
 * @example
 * const rows = await compareQuantizations('models/bench/small-f32', '/tmp/q', { policy: 'all-linear' });
 */
export async function compareQuantizations(
  model: string,
  workDir: string,
  settings: Pick<ConvertOptions, 'policy' | 'mse' | 'calibText'> = {},
  maxTokens = 32,
  backend: Backend = referenceBackend,
): Promise<QualityRow[]> {
  const reference = await open(resolveModelPath(model), backend);
  try {
    const text = requireText(reference);
    const prompts = QUALITY_PROMPTS.map((p) => Int32Array.from(text.encode(p).slice(0, maxTokens)));
    const variants = [
      { format: 'nvfp4', score: null },
      { format: 'nvfp4-s24', score: 'magnitude' },
      { format: 'nvfp4-s24', score: 'wanda' },
    ] as const;
    const logits = promptLogits(reference.model, prompts);
    const V = reference.model.config.vocabSize;
    const rows: QualityRow[] = [];
    for (const v of variants) {
      const out = join(workDir, v.score ? `${v.format}-${v.score}` : v.format);
      const converted = await convertCheckpoint(model, out, { ...settings, quant: 'nvfp4', sparse: v.score !== null, score: v.score ?? undefined });
      const test = await open(out, backend);
      try {
        rows.push({ format: v.format, score: v.score, kl: klOfLogits(logits, promptLogits(test.model, prompts), V), bytes: converted.bytes });
      } finally {
        test.dispose();
      }
    }
    return rows;
  } finally {
    reference.dispose();
  }
}
