// spec §10: choosing the next token from a row of logits. Greedy (argmax, ties → lowest id),
// or temperature → top-k → top-p (nucleus) → one draw from a seeded integer PRNG, so the same
// seed gives the same tokens on every machine and backend that gives the same logits.
// p_i = exp((l_i − max l) / T) / Σ_j exp((l_j − max l) / T), accumulated in f64. Top-p then
// keeps the fewest most-probable tokens whose mass reaches topP of what top-k left (at least
// one); ties at the cut are kept lowest id first. The PRNG is the project's one xoshiro128**
// (weights-tools/prng.ts, integer arithmetic only), on its own stream labelled 'sampler'.

import { Prng } from './prng.js';
import { InvalidOptionError } from '../core/errors.js';

export interface SamplerOptions {
  /** 0 = greedy; otherwise logits are divided by T (default 1). */
  readonly temperature?: number;
  /** Keep only the K most probable tokens; 0 = off (default 0). */
  readonly topK?: number;
  /** Nucleus mass in (0, 1]; 1 = off (default 1). */
  readonly topP?: number;
  /** PRNG seed, any integer (default 0). */
  readonly seed?: number;
}

/** The distribution a sampler draws from: the kept ids (ascending) and their probabilities. */
export interface Distribution {
  readonly ids: Int32Array;
  readonly probs: Float64Array;
}

/** Uniform double in [0, 1) with 53 random bits from two 32-bit draws. */
function uniform53(rng: Prng): number {
  const hi = rng.nextU32() >>> 5; // 27 bits
  const lo = rng.nextU32() >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992; // (hi·2²⁶ + lo) / 2⁵³
}

/**
 * Index of the largest logit; ties go to the lowest id. NaN never wins.
 * @example
 * argmax(Float32Array.of(1, 5, 5)); // 1
 */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > bestValue) {
      bestValue = logits[i];
      best = i;
    }
  }
  return best;
}

/**
 * Check sampler options once, at the boundary; throws InvalidOptionError naming the field.
 * @example
 * validateSamplerOptions({ topP: 1.5 }); // throws: topP = 1.5 is invalid; expected a number in (0, 1]
 */
export function validateSamplerOptions(options: SamplerOptions): void {
  const { temperature = 1, topK = 0, topP = 1, seed = 0 } = options;
  if (!(Number.isFinite(temperature) && temperature >= 0)) throw new InvalidOptionError('temperature', temperature, 'a finite number ≥ 0');
  if (!(Number.isInteger(topK) && topK >= 0)) throw new InvalidOptionError('topK', topK, 'an integer ≥ 0 (0 = off)');
  if (!(topP > 0 && topP <= 1)) throw new InvalidOptionError('topP', topP, 'a number in (0, 1]');
  if (!Number.isInteger(seed)) throw new InvalidOptionError('seed', seed, 'an integer');
}

/** The k largest values of w in descending order (a size-k min-heap pass, O(V log k)). */
function largest(w: Float64Array, k: number): Float64Array {
  const heap = new Float64Array(k); // min-heap of the best k so far
  let size = 0;
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && heap[l] < heap[m]) m = l;
      if (r < size && heap[r] < heap[m]) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (size < k) {
      let j = size++;
      heap[j] = v;
      while (j > 0 && heap[(j - 1) >> 1] > heap[j]) {
        const p = (j - 1) >> 1;
        [heap[p], heap[j]] = [heap[j], heap[p]];
        j = p;
      }
    } else if (v > heap[0]) {
      heap[0] = v;
      siftDown(0);
    }
  }
  return heap.subarray(0, size).sort().reverse();
}

/**
 * Apply top-k then top-p to unnormalised weights `w` (≥ 0) and return the kept ids in
 * ascending order with their renormalised probabilities.
 * @example
 * nucleus(Float64Array.of(0.5, 0.3, 0.2), 0, 0.5); // { ids: [0], probs: [1] }
 */
export function nucleus(w: Float64Array, topK: number, topP: number): Distribution {
  const V = w.length;
  const k = topK > 0 && topK < V ? topK : V;
  let keep = k;
  let threshold = -Infinity; // weights > threshold are kept; ties at it fill the remaining quota
  if (k < V || topP < 1) {
    const sorted = k < V ? largest(w, k) : Float64Array.from(w).sort().reverse(); // (k) descending
    let mass = 0;
    for (let i = 0; i < k; i++) mass += sorted[i];
    if (topP < 1) {
      let cum = 0;
      for (keep = 0; keep < k; ) {
        cum += sorted[keep++];
        if (cum >= topP * mass) break;
      }
    }
    threshold = sorted[keep - 1];
  }
  let above = 0;
  for (let i = 0; i < V; i++) if (w[i] > threshold) above++;
  let tiesLeft = keep - above;
  const ids = new Int32Array(keep);
  const probs = new Float64Array(keep);
  let n = 0;
  let total = 0;
  for (let i = 0; i < V && n < keep; i++) {
    if (w[i] > threshold || (w[i] === threshold && tiesLeft-- > 0)) {
      ids[n] = i;
      probs[n++] = w[i];
      total += w[i];
    }
  }
  for (let i = 0; i < keep; i++) probs[i] /= total;
  return { ids, probs };
}

/**
 * The distribution `sample` draws from, for inspection and tests. Greedy (T = 0) gives the
 * argmax with probability 1.
 * @example
 * distribution(Float32Array.of(0, Math.log(3)), { temperature: 1 }).probs; // [0.25, 0.75]
 */
export function distribution(logits: Float32Array, options: SamplerOptions = {}): Distribution {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (temperature === 0 || topK === 1) return { ids: Int32Array.of(argmax(logits)), probs: Float64Array.of(1) };
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const w = new Float64Array(logits.length); // (V) unnormalised exp((l − max) / T)
  for (let i = 0; i < logits.length; i++) w[i] = Math.exp((logits[i] - max) / temperature);
  return nucleus(w, topK, topP);
}

/**
 * A seeded sampler; one per sequence. The same seed and logits give the same ids.
 * @example
 * const sampler = new Sampler({ temperature: 0.7, topP: 0.9, seed: 1 });
 * const id = sampler.sample(logits); // logits: (V) Float32Array
 */
export class Sampler {
  private readonly rng: Prng;

  constructor(readonly options: SamplerOptions = {}) {
    validateSamplerOptions(options);
    this.rng = new Prng(options.seed ?? 0, 'sampler');
  }

  /** Draw one token id from a (V) row of logits. */
  sample(logits: Float32Array): number {
    const { ids, probs } = distribution(logits, this.options);
    if (ids.length === 1) return ids[0];
    let r = uniform53(this.rng);
    for (let i = 0; i < ids.length; i++) {
      r -= probs[i];
      if (r < 0) return ids[i];
    }
    return ids[ids.length - 1]; // r landed in the rounding slack of Σ probs
  }
}
