// spec §8 expert dispatch helpers: the tokens routed to one expert are gathered into a dense
// block, run through the expert's up → relu² → down matmuls once, and scattered back:
//   gather:  dst[i, :] = src[idx_i, :]                      (rows of `cols` floats)
//   scatter: dst[idx_i, :] += w_i · src[i, :]               (weighted sum over the top-K)
// Lanes: the scatter uses axpy (element c in lane c mod 4, unrolled 16, ×4, tail).
// Error budget: gather exact; scatter one rounding per add (≤ u·|result|, u = 2⁻²⁴).

import { axpy } from './eltwise';
import { f4 } from './lanes';

/** dst(n, cols) = src rows idx(n) (i32). */
export function f32_gather_rows(src: usize, cols: i32, idx: usize, n: i32, dst: usize): void {
  const rowBytes = f4(cols);
  for (let i = 0; i < n; i++) memory.copy(dst + <usize>i * rowBytes, src + <usize>load<i32>(idx + f4(i)) * rowBytes, rowBytes);
}

function scatterAdd(simd: bool, src: usize, cols: i32, idx: usize, wts: usize, n: i32, dst: usize): void {
  const rowBytes = f4(cols);
  for (let i = 0; i < n; i++) {
    axpy(simd, load<f32>(wts + f4(i)), src + <usize>i * rowBytes, dst + <usize>load<i32>(idx + f4(i)) * rowBytes, cols);
  }
}

/** dst rows idx(n) += wts(n) · src(n, cols). */
export function f32_scatter_add_rows(src: usize, cols: i32, idx: usize, wts: usize, n: i32, dst: usize): void {
  scatterAdd(true, src, cols, idx, wts, n, dst);
}

export function f32_scatter_add_rows_scalar(src: usize, cols: i32, idx: usize, wts: usize, n: i32, dst: usize): void {
  scatterAdd(false, src, cols, idx, wts, n, dst);
}
