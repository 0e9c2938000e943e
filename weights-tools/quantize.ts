// spec §14.1: NVFP4 post-training quantisation of a linear weight W [out, in], dense (nvfp4) or
// after 2:4 pruning (nvfp4-s24, DESIGN §3), round to nearest with amax-derived scales:
//   weight_scale_2 = fp32(amax(|W|) / (6 · 448))
//   block scale    s_b = E4M3(amax(block b) / 6 / weight_scale_2)           (RNE, saturating)
//   code           c = E2M1(w / (E4M3(s_b) · weight_scale_2))             (vLLM thresholds)
// A block is 16 consecutive elements along K. For nvfp4-s24 the amaxes are taken over the kept
// values only, so a block holds the 8 values kept out of its 16 (the grid is spent on survivors).
// Optional MSE search: per block, try the E4M3 scales from 8 steps below to 2 above the amax one
// and keep the one with the least squared error (ties keep the amax scale, then the smaller).
// Streams by rows (`LinearQuantizer`): one pass for the amax, one to quantise; memory is one row
// plus wherever the caller puts the output rows.
// Reports the relative Frobenius error ‖Ŵ − W‖ / ‖W‖ against the unpruned W.

import { InvalidOptionError } from '../engine/core/errors.js';
import { sidecarNames } from '../engine/core/weights.js';
import { E2M1_VALUES, E4M3_MAX, E4M3_VALUES, E2M1_MAX, NVFP4_BLOCK, numberToE2m1, numberToE4m3 } from '../engine/formats/nvfp4.js';
import { compress24, decompress24, packPositions } from '../engine/formats/sparse24.js';
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

/** A quantised linear weight, as stored (engine/core/weights.ts `LinearWeight` parts). */
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

/** One row's (or many rows') share of each stored part: bytes of codes, scales and position codes. */
export interface QuantRowBytes {
  readonly weight: number;
  readonly scale: number;
  readonly positions: number;
}

/**
 * Bytes one row of a [rows, cols] linear takes in each stored part of `format`.
 * @example quantizedRowBytes(64, 'nvfp4-s24') // { weight: 16, scale: 4, positions: 8 }
 */
export function quantizedRowBytes(cols: number, format: QuantFormat): QuantRowBytes {
  const sparse = format === 'nvfp4-s24';
  return { weight: sparse ? cols / 4 : cols / 2, scale: cols / NVFP4_BLOCK, positions: sparse ? cols / 8 : 0 };
}

/** Where quantised rows go: the parts of a run of rows, row `at` at byte `at · rowBytes` of each. */
export interface QuantRowsOut {
  readonly weight: Uint8Array;
  readonly scale: Uint8Array;
  readonly positions?: Uint8Array;
}

/**
 * The quantiser of one linear weight [rows, cols], fed rows in order in two passes, so a caller
 * can hold any number of rows at a time (weights-tools/convert.ts streams chunks of rows): pass 1
 * `scan`s every row for amax(|W|) (of the kept values for nvfp4-s24) and `finishScan` fixes
 * weight_scale_2; pass 2 `quantizeRow`s each row into its parts. Blocks (16 along K) and 2:4
 * groups lie inside a row, so the output does not depend on how rows are grouped.
 * @example
 * const q = new LinearQuantizer('w', cols, { format: 'nvfp4' });
 * for (const row of rows) q.scan(row);
 * q.finishScan();
 * rows.forEach((row, r) => q.quantizeRow(row, out, r, true));
 */
export class LinearQuantizer {
  readonly sparse: boolean;
  readonly rowBytes: QuantRowBytes;
  private readonly importance: Float64Array | null;
  private readonly norms: Float64Array | null;
  private readonly kept: Float64Array; // (cols) W[r, :] after 2:4 pruning
  private readonly nibbles: Uint8Array; // (n) E2M1 codes of one row
  private readonly dequant: Float64Array; // (n) decoded stored values of one row
  private amax = 0;
  private scale2: number | null = null;
  private errSq = 0;
  private normSq = 0;
  private outErrSq = 0;
  private outNormSq = 0;

  constructor(
    readonly name: string,
    readonly cols: number,
    readonly options: QuantizeOptions,
  ) {
    this.sparse = options.format === 'nvfp4-s24';
    if (options.format !== 'nvfp4' && !this.sparse) throw new InvalidOptionError('format', options.format, 'nvfp4 or nvfp4-s24');
    if (cols % NVFP4_BLOCK !== 0) throw new InvalidOptionError(`${name} K`, cols, `a multiple of ${NVFP4_BLOCK}`);
    this.norms = options.inputNorms ?? null;
    this.importance = this.sparse && options.score === 'wanda' ? this.norms : null;
    this.rowBytes = quantizedRowBytes(cols, options.format);
    const n = this.sparse ? cols / 2 : cols; // stored values per row
    this.kept = new Float64Array(cols);
    this.nibbles = new Uint8Array(n);
    this.dequant = new Float64Array(n);
  }

  /** `row` (cols), pruned to 2:4 for nvfp4-s24, into `kept`. */
  private keep(row: Float64Array): void {
    this.kept.set(row);
    if (this.sparse) prune24Row(this.kept, this.importance);
  }

  /** Pass 1: take one row (cols) into amax. */
  scan(row: Float64Array): void {
    this.keep(row);
    for (let j = 0; j < this.cols; j++) this.amax = Math.max(this.amax, Math.abs(this.kept[j]));
  }

  /** End pass 1: weight_scale_2 = fp32(amax / (6 · 448)) (1 for an all-zero W). */
  finishScan(): number {
    this.scale2 = this.amax === 0 ? 1 : Math.fround(this.amax / (E2M1_MAX * E4M3_MAX));
    return this.scale2;
  }

  /**
   * Pass 2: quantise `row` (cols) into row `at` of `out`; with `measure`, add its error against
   * the unpruned row to the totals of `relError` / `relOutputError` (once per row of W).
   */
  quantizeRow(row: Float64Array, out: QuantRowsOut, at: number, measure: boolean): void {
    if (this.scale2 === null) throw new RangeError(`${this.name}: quantizeRow before finishScan`);
    const { cols, kept, nibbles, dequant, norms } = this;
    this.keep(row);
    let values: Float64Array = kept;
    let codes: Uint8Array | null = null;
    if (this.sparse) ({ values, codes } = compress24(kept, 1, cols, this.name));
    const block = this.sparse ? NVFP4_BLOCK / 2 : NVFP4_BLOCK;
    quantizeBlocks(values, block, this.scale2, this.options.mse ?? false, nibbles, out.scale, at * this.rowBytes.scale, dequant);
    packNibbles(nibbles, out.weight, at * this.rowBytes.weight);
    if (codes) out.positions!.set(packPositions(codes), at * this.rowBytes.positions);
    if (!measure) return;
    // error against the unpruned row (pruned elements decode to 0)
    const approx = codes ? decompress24({ values: dequant, codes }) : dequant; // (cols) Ŵ[r, :]
    for (let j = 0; j < cols; j++) {
      const e = (approx[j] - row[j]) ** 2;
      this.normSq += row[j] * row[j];
      this.errSq += e;
      if (norms) {
        this.outNormSq += row[j] * row[j] * norms[j] * norms[j];
        this.outErrSq += e * norms[j] * norms[j];
      }
    }
  }

  /** ‖Ŵ − W‖_F / ‖W‖_F over the measured rows (0 for an all-zero W). */
  relError(): number {
    return ratio(this.errSq, this.normSq);
  }

  /** The relative output error over the measured rows (`QuantizedLinear.relOutputError`), null without input norms. */
  relOutputError(): number | null {
    return this.norms ? ratio(this.outErrSq, this.outNormSq) : null;
  }
}

const ratio = (err: number, norm: number) => (norm === 0 ? 0 : Math.sqrt(err / norm));

/**
 * Quantise a linear weight to nvfp4 or nvfp4-s24 (magnitude or Wanda 2:4 pruning first), all of
 * its rows in memory at once (`LinearQuantizer` streams them).
 * @example
 * const q = quantizeLinear({ name: 'w', rows, cols, readRow: (r, dst) => dst.set(W.subarray(r * cols, (r + 1) * cols)) }, { format: 'nvfp4' });
 */
export function quantizeLinear(src: RowSource, options: QuantizeOptions): QuantizedLinear {
  const { name, rows, cols } = src;
  const q = new LinearQuantizer(name, cols, options);
  const row = new Float64Array(cols); // (cols) W[r, :]
  for (let r = 0; r < rows; r++) {
    src.readRow(r, row);
    q.scan(row);
  }
  const scale2 = q.finishScan();
  const out = {
    weight: new Uint8Array(rows * q.rowBytes.weight),
    scale: new Uint8Array(rows * q.rowBytes.scale),
    positions: q.sparse ? new Uint8Array(rows * q.rowBytes.positions) : undefined,
  };
  for (let r = 0; r < rows; r++) {
    src.readRow(r, row);
    q.quantizeRow(row, out, r, true);
  }
  return { name, format: options.format, rows, cols, ...out, scale2, relError: q.relError(), relOutputError: q.relOutputError() };
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
