// The reference backend's activation: a dense f64 matrix, rows × cols, row-major.
// Every reference kernel reads and writes these; f64 keeps rounding far below any f32 backend's.

import type { Act } from '../core/backend.js';

/**
 * An f64 activation matrix (rows, cols), row-major.
 * @example const x = new RefAct(Float64Array.from([1, 2, 3, 4]), 2, 2); x.row(1); // [3, 4]
 */
export class RefAct implements Act {
  constructor(
    readonly data: Float64Array, // (rows, cols)
    readonly rows: number,
    readonly cols: number,
  ) {}

  /** A zero matrix (rows, cols). */
  static zeros(rows: number, cols: number): RefAct {
    return new RefAct(new Float64Array(rows * cols), rows, cols);
  }

  /** Row r as a view (cols). */
  row(r: number): Float64Array {
    return this.data.subarray(r * this.cols, (r + 1) * this.cols);
  }
}
