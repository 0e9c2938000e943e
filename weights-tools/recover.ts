// docs/sparsity.md: per-layer sparse recovery of a 2:4-pruned linear map W₀ (rows, K) by
// search-space augmentation. With calibration inputs X (n, K) and their Gram matrix H = XᵀX
// (prune.ts `collectInputGrams`), damped to H_λ = H + λ·mean(diag H)·I with λ = damping +
// shrinkage·K/n (n calibration tokens: few tokens make H a noisy estimate of the inputs to come,
// so it is shrunk toward isotropic inputs, which favours staying near W₀), the output error of
// the effective weights M⊙W is
//   L(W) = ‖X(M⊙W)ᵀ − XW₀ᵀ‖² = tr((M⊙W − W₀) H_λ (M⊙W − W₀)ᵀ)
// with gradient G = 2(M⊙W − W₀)H_λ with respect to the effective weights. The dense shadow W
// (initially W₀) takes that gradient straight through: every entry moves, masked or not, plus a
// decay 2δ_j(1−M_ij)W_ij (SR-STE) that pulls the pruned shadow entries toward 0, with
// δ_j = decay·(H_λ)_jj per column, so the preconditioned decay is the same for every column.
// A pruned weight whose return would lower L grows back and re-enters at the next recompute.
// Optimiser: heavy-ball momentum with a Jacobi preconditioner D = diag H_λ,
//   V ← βV − η·D⁻¹·G/2,  W ← W + V,  η = 1/λmax(D^-½ H_λ D^-½) (power iteration),
// a contraction on every fixed-mask sub-problem (a principal submatrix has a smaller λmax).
// Mask: the top 2 of each group of 4 by Wanda's score on the shadow, s_ij = |W_ij|·√(H_jj)
// (prune.ts `prune24Row`), starting from one-shot Wanda on W₀. It is recomputed on a shrinking
// schedule (`recomputeSteps`): gaps of `every` steps growing by `growth` each time, up to
// `searchFraction` of the steps; then it is frozen and the rest are fixed-mask steps.
// Logged: the flip rate of each recompute, |M_new ≠ M_old| / (rows·K), and the explored fraction
// of the dense space, |M_0 ∪ M_1 ∪ …| / (rows·K).
// Every row is independent (L is a sum over rows), so nothing depends on how rows are grouped.

import { decodeNvfp4S24Row } from '../engine/formats/nvfp4.js';
import type { LoadedModel } from '../engine/core/backend.js';
import { InvalidOptionError } from '../engine/core/errors.js';
import { decodeWeightRow } from '../engine/reference/matmul.js';
import { ReferenceModel } from '../engine/reference/index.js';
import { collectInputGrams, mask24Row, type InputGram } from './prune.js';
import { quantizeLinear, type QuantizedLinear } from './quantize.js';

/** Knobs of `recoverLinear` (defaults in RECOVER_DEFAULTS). */
export interface RecoverOptions {
  /** Optimiser steps in all. */
  readonly steps: number;
  /** Steps before the first mask recompute. */
  readonly every: number;
  /** Each gap between recomputes is `growth` times the previous one. */
  readonly growth: number;
  /** The mask is recomputed only within this fraction of the steps, then frozen. */
  readonly searchFraction: number;
  /** λ = damping + shrinkage·K/n: H + λ·mean(diag H)·I. */
  readonly damping: number;
  readonly shrinkage: number;
  /** δ_j / (H_λ)_jj: decay of the pruned shadow entries. */
  readonly decay: number;
  /** β of the heavy-ball momentum. */
  readonly momentum: number;
}

export const RECOVER_DEFAULTS: RecoverOptions = { steps: 200, every: 4, growth: 1.5, searchFraction: 0.6, damping: 0.01, shrinkage: 1, decay: 1, momentum: 0.9 };

/** One mask recompute: the step it ran before and the fraction of entries that changed. */
export interface MaskRecompute {
  readonly step: number;
  readonly flipRate: number;
}

export interface RecoveryLog {
  readonly recomputes: readonly MaskRecompute[];
  /** Entries that were ever in a mask, over rows·K. */
  readonly explored: number;
}

export interface Recovered {
  readonly weights: Float64Array; // (rows, K) M⊙W: ≤ 2 non-zeros per group of 4
  readonly log: RecoveryLog;
}

/**
 * The steps before which the mask is recomputed: gaps every, every·growth, … (rounded, ≥ 1)
 * while the step is below searchFraction·steps.
 * @example recomputeSteps({ steps: 40, every: 4, growth: 2, searchFraction: 0.75 }) // [4, 12, 28]
 */
export function recomputeSteps(o: Pick<RecoverOptions, 'steps' | 'every' | 'growth' | 'searchFraction'>): number[] {
  const out: number[] = [];
  const end = o.searchFraction * o.steps;
  let gap = o.every;
  for (let t = Math.round(gap); t < end; gap *= o.growth, t += Math.max(1, Math.round(gap))) out.push(t);
  return out;
}

/** λmax of the symmetric (K, K) matrix A by power iteration from the all-ones vector. */
function largestEigenvalue(A: Float64Array, K: number): number {
  let v = new Float64Array(K).fill(1 / Math.sqrt(K));
  let lambda = 0;
  for (let it = 0; it < 100; it++) {
    const w = new Float64Array(K);
    for (let i = 0; i < K; i++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += A[i * K + j] * v[j];
      w[i] = s;
    }
    let norm = 0;
    for (let i = 0; i < K; i++) norm += w[i] * w[i];
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    const next = norm;
    for (let i = 0; i < K; i++) w[i] /= norm;
    v = w;
    if (Math.abs(next - lambda) <= 1e-9 * next) return next;
    lambda = next;
  }
  return lambda;
}

/** Y = A·H (rows, K) for A (rows, K), H (K, K) symmetric; zero entries of A are skipped. */
function timesGram(A: Float64Array, H: Float64Array, rows: number, K: number, Y: Float64Array): void {
  Y.fill(0);
  for (let r = 0; r < rows; r++) {
    const y = r * K;
    for (let i = 0; i < K; i++) {
      const a = A[y + i];
      if (a === 0) continue;
      const h = i * K;
      for (let j = 0; j < K; j++) Y[y + j] += a * H[h + j];
    }
  }
}

/** Wanda's 2:4 mask of `W` (rows, K) with importances `norms` (K) into `mask` (1 kept, 0 pruned). */
function wandaMask(W: Float64Array, rows: number, K: number, norms: Float64Array, mask: Uint8Array): void {
  const scratch = new Float64Array(K);
  for (let r = 0; r < rows; r++) mask24Row(W.subarray(r * K, (r + 1) * K), norms, mask, r * K, scratch);
}

/**
 * Per-layer recovery of W₀ (rows, K), K a multiple of 4, against calibration Gram matrix `gram`
 * (see the file header): the 2:4 effective weights M⊙W and the mask log.
 * @example
 * const { weights, log } = recoverLinear(W0, 64, 128, collectInputGrams(loaded, prompts, names).get(name)!);
 */
export function recoverLinear(W0: Float64Array, rows: number, K: number, gram: Pick<InputGram, 'gram' | 'tokens'>, options: Partial<RecoverOptions> = {}): Recovered {
  const o = { ...RECOVER_DEFAULTS, ...options };
  if (K % 4 !== 0) throw new InvalidOptionError('K', K, 'a multiple of 4 (2:4 groups)');
  if (!(Number.isInteger(o.steps) && o.steps >= 0)) throw new InvalidOptionError('recover steps', o.steps, 'a non-negative integer');
  const n = rows * K;
  let meanDiag = 0;
  for (let j = 0; j < K; j++) meanDiag += gram.gram[j * K + j] / K;
  const lambda = o.damping + (o.shrinkage * K) / Math.max(1, gram.tokens);
  const H = Float64Array.from(gram.gram); // (K, K) H_λ
  const D = new Float64Array(K); // (K) diag H_λ
  const norms = new Float64Array(K); // (K) √H_jj: Wanda's ‖X_j‖₂
  for (let j = 0; j < K; j++) {
    norms[j] = Math.sqrt(Math.max(0, gram.gram[j * K + j]));
    H[j * K + j] += lambda * meanDiag;
    D[j] = H[j * K + j] || 1;
  }
  const scaled = new Float64Array(K * K); // D^-½ H_λ D^-½
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) scaled[i * K + j] = H[i * K + j] / Math.sqrt(D[i] * D[j]);
  const lambdaMax = largestEigenvalue(scaled, K);
  const eta = lambdaMax > 0 ? 1 / (1.05 * lambdaMax) : 0;

  const W = Float64Array.from(W0); // (rows, K) dense shadow
  const V = new Float64Array(n); // (rows, K) momentum
  const E = new Float64Array(n); // (rows, K) M⊙W − W₀
  const G = new Float64Array(n); // (rows, K) E·H_λ
  const mask = new Uint8Array(n);
  const next = new Uint8Array(n);
  wandaMask(W, rows, K, norms, mask);
  const explored = Uint8Array.from(mask);
  const schedule = new Set(recomputeSteps(o));
  const recomputes: MaskRecompute[] = [];
  for (let t = 0; t < o.steps; t++) {
    if (schedule.has(t)) {
      wandaMask(W, rows, K, norms, next);
      let flips = 0;
      for (let i = 0; i < n; i++) {
        if (next[i] !== mask[i]) flips++;
        explored[i] |= next[i];
      }
      mask.set(next);
      recomputes.push({ step: t, flipRate: flips / n });
    }
    for (let i = 0; i < n; i++) E[i] = mask[i] * W[i] - W0[i];
    timesGram(E, H, rows, K, G);
    for (let i = 0; i < n; i++) {
      const g = G[i] / D[i % K] + (mask[i] ? 0 : o.decay * W[i]); // D⁻¹·G/2 and the decay
      V[i] = o.momentum * V[i] - eta * g;
      W[i] += V[i];
    }
  }
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = mask[i] * W[i];
  let ever = 0;
  for (let i = 0; i < n; i++) ever += explored[i];
  return { weights, log: { recomputes, explored: n === 0 ? 0 : ever / n } };
}

/**
 * The relative output error of W against W₀ (both (rows, K)) on the inputs of `gram`:
 * ‖X(W − W₀)ᵀ‖_F / ‖XW₀ᵀ‖_F = √(tr(E H Eᵀ) / tr(W₀ H W₀ᵀ)), E = W − W₀ (0 when XW₀ᵀ = 0).
 * @example relOutputError(recovered.weights, W0, rows, K, heldOut.get(name)!) // e.g. 0.12
 */
export function relOutputError(W: Float64Array, W0: Float64Array, rows: number, K: number, gram: Pick<InputGram, 'gram'>): number {
  const quad = (A: Float64Array) => {
    const AH = new Float64Array(rows * K);
    timesGram(A, gram.gram, rows, K, AH);
    let s = 0;
    for (let i = 0; i < rows * K; i++) s += AH[i] * A[i];
    return s;
  };
  const base = quad(W0);
  return base <= 0 ? 0 : Math.sqrt(Math.max(0, quad(W.map((w, i) => w - W0[i]))) / base);
}

/**
 * A linear weight of a model loaded on the reference backend, decoded to f64 (rows, cols).
 * @example const { W, rows, cols } = linearMatrix(loaded, 'backbone.layers.0.mixer.in_proj.weight');
 */
export function linearMatrix(loaded: LoadedModel, name: string): { W: Float64Array; rows: number; cols: number } {
  if (!(loaded instanceof ReferenceModel)) throw new InvalidOptionError('backend', loaded.backend, 'reference (weights are read as stored)');
  const raw = loaded.tensors.linear(name);
  const W = new Float64Array(raw.rows * raw.cols);
  for (let r = 0; r < raw.rows; r++) decodeWeightRow(raw, r, W.subarray(r * raw.cols, (r + 1) * raw.cols));
  return { W, rows: raw.rows, cols: raw.cols };
}

/** A recovered linear with what it was recovered from. */
export interface RecoveredLinear extends Recovered {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly original: Float64Array; // (rows, cols) W₀
  readonly gram: InputGram;
}

/**
 * Recover every linear weight in `names` that saw calibration tokens on `prompts` (a model loaded
 * on the reference backend); the others (an expert no token was routed to) are absent and keep
 * one-shot pruning. `onLinear` reports each one as it finishes.
 * @example const recovered = recoverLinears(loaded, prompts, plan.quantized, {}, (r) => log(r.name));
 */
export function recoverLinears(
  loaded: LoadedModel,
  prompts: readonly Int32Array[],
  names: ReadonlySet<string>,
  options: Partial<RecoverOptions> = {},
  onLinear?: (r: RecoveredLinear) => void,
): Map<string, RecoveredLinear> {
  const grams = collectInputGrams(loaded, prompts, names);
  const out = new Map<string, RecoveredLinear>();
  for (const [name, gram] of grams) {
    const { W, rows, cols } = linearMatrix(loaded, name);
    const r = { name, rows, cols, original: W, gram, ...recoverLinear(W, rows, cols, gram, options) };
    out.set(name, r);
    onLinear?.(r);
  }
  return out;
}

/** A recovered linear quantised to nvfp4-s24, with its errors against W₀. */
export interface QuantizedRecovery {
  readonly q: QuantizedLinear;
  /** ‖Ŵ − W₀‖_F / ‖W₀‖_F. */
  readonly relError: number;
  /** `relOutputError(Ŵ, W₀)` on the calibration inputs. */
  readonly relOutputError: number;
}

/**
 * Quantise a recovered linear to nvfp4-s24: its rows already hold ≤ 2 non-zeros per group, so
 * magnitude 2:4 pruning keeps exactly them; the scales are taken over the kept values.
 * @example const { q, relOutputError } = quantizeRecovered(recovered.get(name)!, false);
 */
export function quantizeRecovered(r: RecoveredLinear, mse: boolean): QuantizedRecovery {
  const { name, rows, cols, weights, original } = r;
  const q = quantizeLinear(
    { name, rows, cols, readRow: (i, dst) => dst.set(weights.subarray(i * cols, (i + 1) * cols)) },
    { format: 'nvfp4-s24', mse, score: 'magnitude' },
  );
  const decoded = new Float64Array(rows * cols); // (rows, cols) Ŵ
  for (let i = 0; i < rows; i++) decodeNvfp4S24Row(q.weight, q.positions!, q.scale, q.scale2, i, cols, decoded.subarray(i * cols, (i + 1) * cols));
  let err = 0;
  let norm = 0;
  for (let i = 0; i < rows * cols; i++) {
    err += (decoded[i] - original[i]) ** 2;
    norm += original[i] ** 2;
  }
  return { q, relError: norm === 0 ? 0 : Math.sqrt(err / norm), relOutputError: relOutputError(decoded, original, rows, cols, r.gram) };
}
