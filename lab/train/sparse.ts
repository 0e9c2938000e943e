// Whole-model 2:4 sparse training in `edgetron train --sparse 2:4` (docs/sparsity.md),
// on the linear weights that `convert --sparse 2:4` prunes (quant-policy.ts, nano policy):
//
// --search-space (B.3): the parameters hold a dense shadow W. Before each step's forward pass the
//   2:4 mask M is recomputed on the steps of a shrinking schedule (recover.ts `recomputeSteps`:
//   gaps of `every` steps growing by `growth`, up to `searchFraction` of the steps, then frozen)
//   from |W| (the top 2 of each group of 4, ties to the lower index), and the forward pass sees
//   the effective weights M⊙W. The gradient with respect to M⊙W is applied straight through to
//   every entry of W, plus the SR-STE term λ(1−M)⊙W that pulls pruned shadow entries toward 0:
//     g ← ∂L/∂(M⊙W) + λ(1−M)⊙W,   W ← AdamW(W, g)
//   Pruned weights keep moving and re-enter when their magnitude wins a group.
// --fixed-mask (A.5): prune once by magnitude before the first step, then retrain with M frozen:
//   g ← M⊙∂L/∂W and W ← M⊙AdamW(W, g), so pruned weights stay exactly 0.
// Logged per recompute: the flip rate |M_new ≠ M_old| / n and the explored fraction |∪ M| / n over
// the n entries of the sparse tensors. At the end the parameters hold M⊙W (what is exported).
// The hooks run on the main thread between the workers' gradient passes (trainer.ts).

import type { ModelConfig } from '../../engine/core/config.js';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { validateWeights } from '../../engine/core/weights.js';
import { decodeInto } from '../../engine/formats/dtype.js';
import { openCheckpoint, resolveModelPath } from '../../weights-tools/checkpoint.js';
import { mask24Row } from '../../weights-tools/prune.js';
import { quantizedLinears } from '../../weights-tools/quant-policy.js';
import { recomputeSteps } from '../../weights-tools/recover.js';
import type { ParamLayout } from './params.js';

export type SparseMode = 'search-space' | 'fixed-mask';
export const SPARSE_MODES: readonly SparseMode[] = ['search-space', 'fixed-mask'];

/** The trainer's sparse hooks (TrainOptions.sparse), called in this order around each step. */
export interface SparseHooks {
  /** After init (or loading the start weights): the first mask. */
  start(params: Float32Array): void;
  /** Before the gradient pass of step `step` (0-based): params ← M⊙W. */
  beforeStep(step: number, params: Float32Array): void;
  /** After clipping, before AdamW: params ← W, and the gradient rule of the mode. */
  beforeUpdate(params: Float32Array, grads: Float32Array): void;
  /** After AdamW. */
  afterUpdate(params: Float32Array): void;
  /** After the last step: params ← M⊙W. */
  finish(params: Float32Array): void;
}

export interface SparseTrainingOptions {
  readonly mode: SparseMode;
  /** Steps of the run (the schedule's length). */
  readonly steps: number;
  /** First recompute after this many steps; default 1. */
  readonly every?: number;
  /** Gap growth per recompute; default 1.1. */
  readonly growth?: number;
  /** The mask is frozen after this fraction of the steps; default 0.8. */
  readonly searchFraction?: number;
  /** λ of the SR-STE term; default 5e-3 (the clipped gradients are ~1e-3 per entry). */
  readonly decay?: number;
}

/** One mask recompute of a run. */
export interface SparseLogEntry {
  readonly step: number;
  readonly flipRate: number;
  readonly explored: number;
}

/** [start, end) element ranges of the sparse tensors in the flat buffer, with their row length. */
interface Region {
  readonly start: number;
  readonly end: number;
  readonly cols: number;
}

/**
 * The 2:4 sparse-training state of one run over the linears `names` of `layout` (see the file
 * header); `log` fills as masks are recomputed.
 * @example
 * const sparse = new SparseTraining(layout, sparseLinears(config), { mode: 'search-space', steps: 60 });
 * await train({ ...options, sparse });
 */
export class SparseTraining implements SparseHooks {
  readonly log: SparseLogEntry[] = [];
  private readonly regions: Region[];
  private readonly size: number; // n: entries under a mask
  private readonly mask: Uint8Array; // (n) 1 kept
  private readonly explored: Uint8Array; // (n) ever kept
  private readonly shadow: Float32Array; // (n) W while params hold M⊙W
  private readonly schedule: Set<number>;
  private readonly decay: number;

  constructor(
    layout: ParamLayout,
    names: ReadonlySet<string>,
    readonly options: SparseTrainingOptions,
  ) {
    if (!SPARSE_MODES.includes(options.mode)) throw new InvalidOptionError('sparse mode', options.mode, SPARSE_MODES.join(' or '));
    this.regions = layout.names.flatMap((name, i) => {
      if (!names.has(name)) return [];
      const [rows, cols] = layout.shapes[i];
      return cols % 4 === 0 ? [{ start: layout.offsets[i], end: layout.offsets[i] + rows * cols, cols }] : [];
    });
    this.size = this.regions.reduce((n, r) => n + r.end - r.start, 0);
    this.mask = new Uint8Array(this.size);
    this.explored = new Uint8Array(this.size);
    this.shadow = new Float32Array(options.mode === 'search-space' ? this.size : 0);
    const { steps, every = 1, growth = 1.1, searchFraction = 0.8 } = options;
    this.schedule = new Set(options.mode === 'search-space' ? recomputeSteps({ steps, every, growth, searchFraction }) : []);
    this.decay = options.decay ?? 5e-3;
  }

  /** Calls f(i, k) for every sparse entry: i its index in params, k in the masks. */
  private each(f: (i: number, k: number) => void): void {
    let k = 0;
    for (const r of this.regions) for (let i = r.start; i < r.end; i++) f(i, k++);
  }

  /** mask ← top 2 of |params| per group of 4; the fraction of entries that changed. */
  private remask(params: Float32Array): number {
    let flips = 0;
    let k = 0;
    const next = new Uint8Array(this.size);
    for (const r of this.regions) {
      const scratch = new Float64Array(r.cols);
      for (let at = r.start; at < r.end; at += r.cols, k += r.cols) mask24Row(params.subarray(at, at + r.cols), null, next, k, scratch);
    }
    for (k = 0; k < this.size; k++) {
      flips += next[k] ^ this.mask[k];
      this.explored[k] |= next[k];
    }
    this.mask.set(next);
    return flips / Math.max(1, this.size);
  }

  private exploredFraction(): number {
    let ever = 0;
    for (let k = 0; k < this.size; k++) ever += this.explored[k];
    return ever / Math.max(1, this.size);
  }

  private applyMask(params: Float32Array): void {
    this.each((i, k) => {
      if (!this.mask[k]) params[i] = 0;
    });
  }

  start(params: Float32Array): void {
    this.remask(params);
    this.log.push({ step: 0, flipRate: 0, explored: this.exploredFraction() });
    if (this.options.mode === 'fixed-mask') this.applyMask(params);
  }

  beforeStep(step: number, params: Float32Array): void {
    if (this.options.mode !== 'search-space') return;
    if (this.schedule.has(step)) this.log.push({ step, flipRate: this.remask(params), explored: this.exploredFraction() });
    this.each((i, k) => {
      this.shadow[k] = params[i];
    });
    this.applyMask(params);
  }

  beforeUpdate(params: Float32Array, grads: Float32Array): void {
    if (this.options.mode === 'fixed-mask') {
      this.each((i, k) => {
        if (!this.mask[k]) grads[i] = 0;
      });
      return;
    }
    this.each((i, k) => {
      params[i] = this.shadow[k];
      if (!this.mask[k]) grads[i] += this.decay * params[i];
    });
  }

  afterUpdate(params: Float32Array): void {
    if (this.options.mode === 'fixed-mask') this.applyMask(params);
  }

  finish(params: Float32Array): void {
    this.applyMask(params);
  }
}

/**
 * The linear weights 2:4 training masks: those `convert --sparse 2:4` prunes (nano policy).
 * @example sparseLinears(config).has('backbone.layers.1.mixer.experts.0.up_proj.weight') // true
 */
export function sparseLinears(config: ModelConfig): Set<string> {
  return quantizedLinears(config, { name: 'nano' });
}

/**
 * Load a dense checkpoint (`edgetron train`'s HF export, or any float checkpoint of the same
 * config) into the flat parameter buffer: the start of a sparse fine-tuning run.
 * @example await loadStartWeights('models/demo-train', layout, config, params);
 */
export async function loadStartWeights(path: string, layout: ParamLayout, config: ModelConfig, params: Float32Array): Promise<void> {
  const ckpt = await openCheckpoint(resolveModelPath(path));
  try {
    const tensors = validateWeights(config, ckpt.store, config.mtp !== null);
    for (let t = 0; t < layout.names.length; t++) {
      const entry = tensors.get(layout.names[t])!;
      const n = layout.shapes[t].reduce((a, b) => a * b, 1);
      if (entry.dtype === 'u8') throw new InvalidOptionError('init', path, 'a float checkpoint (its linears are 4-bit)');
      const bytes = new Uint8Array(entry.byteLength);
      await entry.readInto(bytes);
      const values = new Float64Array(n);
      decodeInto(entry.dtype, bytes, 0, n, values, 0, entry.name);
      params.set(values, layout.offsets[t]);
    }
  } finally {
    await ckpt.store.close();
  }
}
