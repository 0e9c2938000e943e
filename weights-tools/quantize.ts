// spec §14.1: NVFP4 post-training quantisation of a linear weight W [out, in], dense (nvfp4) or
// after 2:4 pruning (nvfp4-s24, DESIGN §3), round to nearest with amax-derived scales:
//   weight_scale_2 = fp32(amax(|W|) / (6 · 448))
//   block scale    s_b = E4M3(amax(block b) / 6 / weight_scale_2)           (RNE, saturating)
//   code           c = E2M1(w / (E4M3(s_b) · weight_scale_2))             (vLLM thresholds)
// A block is 16 consecutive elements along K. For nvfp4-s24 the amaxes are taken over the kept
// values only, so a block holds the 8 values kept out of its 16 (the grid is spent on survivors).
// Optional MSE search: per block, try the E4M3 scales from 8 steps below to 2 above the amax one
// and keep the one with the least squared error (ties keep the amax scale, then the smaller).
// Streams by rows: one pass for the amax, one to quantise; memory is the output plus one row.
// Reports the relative Frobenius error ‖Ŵ − W‖ / ‖W‖ against the unpruned W.

import { InvalidOptionError } from '../engine/errors.js';
import { E2M1_VALUES, E4M3_MAX, E4M3_VALUES, E2M1_MAX, NVFP4_BLOCK, numberToE2m1, numberToE4m3 } from '../engine/nvfp4.js';
import { compress24, decompress24, packPositions } from '../engine/sparse24.js';
import { sidecarNames } from '../engine/weights.js';
import { prune24Row, type PruneScore } from './prune.js';
import type { TensorDecl } from './safetensors-writer.js';

/** Rows of a linear weight, decoded to f64 on demand (from a file, a generator, an array). */
export interface RowSource {
  readonly name: string;
  readonly rows: number; // out
  readonly cols: number; // in (K)
  /** Write row r (cols) into dst. */
  readRow(r: number, dst: Float64Array): void;
}

export type QuantFormat = 'nvfp4' | 'nvfp4-s24';

export interface QuantizeOptions {
  readonly format: QuantFormat;
  /** MSE-optimal block-scale search instead of plain amax scales. */
  readonly mse?: boolean;
  /** nvfp4-s24: prune by |W| (default) or by Wanda's |W_ij|·‖X_j‖₂ (needs `inputNorms`). */
  readonly score?: PruneScore;
  /** ‖X_j‖₂ of the layer's calibration inputs (cols), or null: Wanda's score and the output error. */
  readonly inputNorms?: Float64Array | null;
}

/** A quantised linear weight, as stored (engine/weights.ts `LinearWeight` parts). */
export interface QuantizedLinear {
  readonly name: string;
  readonly format: QuantFormat;
  readonly rows: number;
  readonly cols: number;
  readonly weight: Uint8Array; // nvfp4: (rows, cols/2); nvfp4-s24: (rows, cols/4) packed E2M1 codes
  readonly scale: Uint8Array; // E4M3 (rows, cols/16)
  readonly scale2: number; // weight_scale_2, an f32 value
  readonly positions?: Uint8Array; // nvfp4-s24: (rows, cols/8) packed position codes
  /** ‖Ŵ − W‖_F / ‖W‖_F (0 for an all-zero W). */
  readonly relError: number;
  /**
   * With `inputNorms`: √(Σ (Ŵ_ij − W_ij)² ‖X_j‖²) / √(Σ W_ij² ‖X_j‖²), the relative output error
   * ‖(Ŵ − W)X‖ / ‖WX‖ for inputs with uncorrelated columns; null without.
   */
  readonly relOutputError: number | null;
}

/** Candidate E4M3 steps around the amax scale tried by the MSE search. */
const MSE_STEPS_DOWN = 8;
const MSE_STEPS_UP = 2;

/** Squared error of values[start, start+len) coded with scale byte `sb`. */
function blockError(values: Float64Array, start: number, len: number, sb: number, scale2: number): number {
  const s = E4M3_VALUES[sb] * scale2;
  let err = 0;
  for (let i = start; i < start + len; i++) {
    const q = s === 0 ? 0 : E2M1_VALUES[numberToE2m1(values[i] / s)] * s;
    err += (q - values[i]) ** 2;
  }
  return err;
}

/**
 * Quantise values (n, a multiple of `block`) in blocks: E2M1 codes into `nibbles` (n) and the
 * E4M3 scale bytes into `scales` (n/block) from `scaleOff`; `dequant` (n) gets the decoded values.
 */
function quantizeBlocks(
  values: Float64Array,
  block: number,
  scale2: number,
  mse: boolean,
  nibbles: Uint8Array,
  scales: Uint8Array,
  scaleOff: number,
  dequant: Float64Array,
): void {
  for (let b = 0; b * block < values.length; b++) {
    const start = b * block;
    let amax = 0;
    for (let i = start; i < start + block; i++) amax = Math.max(amax, Math.abs(values[i]));
    let sb = scale2 === 0 ? 0 : numberToE4m3(amax / E2M1_MAX / scale2);
    if (mse && amax > 0) {
      let best = blockError(values, start, block, sb, scale2);
      const first = sb;
      for (let c = Math.max(1, first - MSE_STEPS_DOWN); c <= Math.min(0x7e, first + MSE_STEPS_UP); c++) {
        const err = blockError(values, start, block, c, scale2);
        if (err < best) [best, sb] = [err, c];
      }
    }
    scales[scaleOff + b] = sb;
    const s = E4M3_VALUES[sb] * scale2;
    for (let i = start; i < start + block; i++) {
      const code = s === 0 ? 0 : numberToE2m1(values[i] / s);
      nibbles[i] = code;
      dequant[i] = E2M1_VALUES[code] * s;
    }
  }
}

/** Pack 4-bit codes two per byte into dst from `off`, even element in the low nibble. */
function packNibbles(nibbles: Uint8Array, dst: Uint8Array, off: number): void {
  for (let j = 0; j < nibbles.length / 2; j++) dst[off + j] = nibbles[2 * j] | (nibbles[2 * j + 1] << 4);
}

/**
 * Quantise a linear weight to nvfp4 or nvfp4-s24 (magnitude or Wanda 2:4 pruning first).
 * @example
 * const q = quantizeLinear({ name: 'w', rows, cols, readRow: (r, dst) => dst.set(W.subarray(r * cols, (r + 1) * cols)) }, { format: 'nvfp4' });
 */
export function quantizeLinear(src: RowSource, options: QuantizeOptions): QuantizedLinear {
  const { name, rows, cols } = src;
  const sparse = options.format === 'nvfp4-s24';
  if (options.format !== 'nvfp4' && !sparse) throw new InvalidOptionError('format', options.format, 'nvfp4 or nvfp4-s24');
  if (cols % NVFP4_BLOCK !== 0) throw new InvalidOptionError(`${name} K`, cols, `a multiple of ${NVFP4_BLOCK}`);
  const norms = options.inputNorms ?? null;
  const importance = sparse && options.score === 'wanda' ? norms : null;
  const row = new Float64Array(cols); // (cols) W[r, :]
  const kept = new Float64Array(cols); // (cols) W[r, :] after 2:4 pruning
  const readKept = (r: number) => {
    src.readRow(r, row);
    kept.set(row);
    if (sparse) prune24Row(kept, importance);
  };
  // 1. weight_scale_2 from the amax over the (kept) values, rounded to f32
  let amax = 0;
  for (let r = 0; r < rows; r++) {
    readKept(r);
    for (let j = 0; j < cols; j++) amax = Math.max(amax, Math.abs(kept[j]));
  }
  const scale2 = amax === 0 ? 1 : Math.fround(amax / (E2M1_MAX * E4M3_MAX));
  // 2. rows: dense blocks of 16, or the kept values in blocks of 8
  const n = sparse ? cols / 2 : cols; // stored values per row
  const block = sparse ? NVFP4_BLOCK / 2 : NVFP4_BLOCK;
  const weight = new Uint8Array((rows * n) / 2);
  const scale = new Uint8Array((rows * cols) / NVFP4_BLOCK);
  const positions = sparse ? new Uint8Array((rows * cols) / 8) : undefined;
  const nibbles = new Uint8Array(n);
  const dequant = new Float64Array(n);
  let errSq = 0;
  let normSq = 0;
  let outErrSq = 0;
  let outNormSq = 0;
  for (let r = 0; r < rows; r++) {
    readKept(r);
    let values: Float64Array = kept;
    let codes: Uint8Array | null = null;
    if (sparse) ({ values, codes } = compress24(kept, 1, cols, name));
    quantizeBlocks(values, block, scale2, options.mse ?? false, nibbles, scale, (r * cols) / NVFP4_BLOCK, dequant);
    packNibbles(nibbles, weight, (r * n) / 2);
    if (codes) positions!.set(packPositions(codes), (r * cols) / 8);
    // error against the unpruned row (pruned elements decode to 0)
    const approx = codes ? decompress24({ values: dequant, codes }) : dequant; // (cols) Ŵ[r, :]
    for (let j = 0; j < cols; j++) {
      const e = (approx[j] - row[j]) ** 2;
      normSq += row[j] * row[j];
      errSq += e;
      if (norms) {
        outNormSq += row[j] * row[j] * norms[j] * norms[j];
        outErrSq += e * norms[j] * norms[j];
      }
    }
  }
  const ratio = (err: number, norm: number) => (norm === 0 ? 0 : Math.sqrt(err / norm));
  const relOutputError = norms ? ratio(outErrSq, outNormSq) : null;
  return { name, format: options.format, rows, cols, weight, scale, scale2, positions, relError: ratio(errSq, normSq), relOutputError };
}

/** Which stored tensor of a quantised linear (DESIGN §3 names). */
export type QuantPart = 'weight' | 'scale' | 'scale2' | 'positions';

/**
 * The tensors a quantised linear `X.weight` [rows, cols] is stored as, with the part each holds:
 * X.weight u8, X.weight_scale f8_e4m3 [rows, cols/16], X.weight_scale_2 f32 [], and for
 * nvfp4-s24 X.weight_pos u8 [rows, cols/8].
 * @example quantizedDecls('w.weight', 8, 32, 'nvfp4')[0] // { name: 'w.weight', dtype: 'u8', shape: [8, 16], part: 'weight' }
 */
export function quantizedDecls(name: string, rows: number, cols: number, format: QuantFormat): (TensorDecl & { part: QuantPart })[] {
  const side = sidecarNames(name);
  const decls: (TensorDecl & { part: QuantPart })[] = [
    { name, dtype: 'u8', shape: [rows, format === 'nvfp4' ? cols / 2 : cols / 4], part: 'weight' },
    { name: side.scale, dtype: 'f8_e4m3', shape: [rows, cols / NVFP4_BLOCK], part: 'scale' },
    { name: side.scale2, dtype: 'f32', shape: [], part: 'scale2' },
  ];
  if (format === 'nvfp4-s24') decls.push({ name: side.positions, dtype: 'u8', shape: [rows, cols / 8], part: 'positions' });
  return decls;
}

/**
 * The bytes of one stored part of a quantised linear.
 * @example await write(quantizedPartBytes(q, 'scale2')); // 4 bytes, f32 LE
 */
export function quantizedPartBytes(q: QuantizedLinear, part: QuantPart): Uint8Array {
  if (part === 'scale2') return new Uint8Array(Float32Array.of(q.scale2).buffer);
  return part === 'weight' ? q.weight : part === 'scale' ? q.scale : q.positions!;
}
