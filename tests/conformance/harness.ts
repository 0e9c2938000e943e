// Shared by the conformance tests (ops.test.ts, nano*.test.ts): inputs, the error metric and the
// tolerance rule.
//
// Metric: normwise relative error, max_i |wasm_i − ref_i| ≤ tol · max_i |ref_i|.
// Tolerances come from f32 rounding (u = 2⁻²⁴). A length-K f32 dot product, as the kernels sum it,
// is within (K/4 + 4)·u·Σ_k |x_k w_k| of the exact value in the worst case (kernel headers); with
// independent random inputs the roundings add like a random walk, ≲ √K·u·Σ|x w|. A block is a
// chain of reductions (projection → conv → scan → norm → projection); its error is ≲ √K_path·u of
// the output scale, K_path = the sum of the chain's reduction lengths (written on each row).
// tol = GAMMA·√K_path·u with GAMMA = 16 = 4 (Σ|x w| ≤ 4·max|y| for these uniform inputs) × 2 (gain
// of the stages: norms, SiLU, softmax, relu²) × 2 (margin). Exact ops (embedding gather, row
// slices) have tol = 0 and one-rounding ops (the residual add) tol = u.
//
// 4-bit linears (the wasm backend's nvfp4 / nvfp4-s24 kernels) round their input to int16 per
// block of 16 (assembly/kernels/fp4_q16_matvec.ts): |Δx_k| ≤ U_Q16·max_b|x|, U_Q16 = 0.504/32767 ≈ 2⁻¹⁶. Its effect on one
// output is at most U_Q16·Σ_k |w_k|·max_b|x| (worst case, not a random walk). For these uniform
// inputs max_b|x| ≤ 2·mean|x|, so that is ≤ 2·U_Q16·Σ|x w| ≤ 8·U_Q16·max|y|; with the stage gain 2
// and margin 2 of GAMMA, each int16-rounded linear on a row's chain adds ACT_GAMMA·U_Q16,
// ACT_GAMMA = 32, to the row's tolerance (tolPathQ16). It is ~2⁻¹¹ per linear: ~50× the observed
// error, and a kernel that rounded to int8 or dropped a block exceeds it (q16-tolerance.test.ts).
// The relaxed-SIMD build's nvfp4 decode (fp4_i8_relaxed.ts) rounds to int8 instead: the same
// derivation with U_I8 = 0.504/127 gives tolPathI8 (~2⁻³ per linear, for that path only); a
// kernel that dropped the last block, or forgot its weight-offset correction, exceeds it.

import { expect } from 'vitest';
import type { Act, LoadedModel, SequenceState } from '../../engine/core/backend.js';
import { mulberry32 } from '../helpers/memory-store.js';

/** Unit roundoff of f32. */
export const U = 2 ** -24;
/** See the header: Σ|x w|/max|y| ≤ 4, stage gain ≤ 2, margin 2. */
export const GAMMA = 16;

/** tol = GAMMA·√K_path·u for a chain of reductions of total length kPath. */
export function tolPath(kPath: number): number {
  return GAMMA * Math.sqrt(kPath) * U;
}

/** The int16 activation step of the 4-bit kernels, relative to the block max: 0.504/32767. */
export const U_Q16 = 0.504 / 32767;
/** See the header: Σ|w|·max_b|x| ≤ 2·Σ|x w| ≤ 8·max|y|, stage gain ≤ 2, margin 2. */
export const ACT_GAMMA = 32;

/** tolPath(kPath) plus ACT_GAMMA·U_Q16 for each of the nQ int16-rounded (4-bit) linears on the chain. */
export function tolPathQ16(kPath: number, nQ: number): number {
  return tolPath(kPath) + ACT_GAMMA * nQ * U_Q16;
}

/** The int8 activation step of the relaxed-SIMD build's nvfp4 decode (fp4_i8_relaxed.ts): 0.504/127. */
export const U_I8 = 0.504 / 127;

/** tolPath(kPath) plus ACT_GAMMA·U_I8 for each of the nQ int8-rounded (relaxed-build nvfp4 decode) linears on the chain. */
export function tolPathI8(kPath: number, nQ: number): number {
  return tolPath(kPath) + ACT_GAMMA * nQ * U_I8;
}

/** Seeded uniform [−1, 1) values, (rows × cols) row-major. */
export function randomRows(rows: number, cols: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: rows * cols }, () => 2 * r() - 1);
}

/** Assert every output of `got` is within tol·max|want| of `want`, element by element. */
export function expectNormwiseClose(got: readonly Float32Array[], want: readonly Float32Array[], tol: number): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    expect(got[i].length).toBe(w.length);
    let err = 0;
    let scale = 0;
    for (let j = 0; j < w.length; j++) {
      err = Math.max(err, Math.abs(got[i][j] - w[j]));
      scale = Math.max(scale, Math.abs(w[j]));
    }
    expect(scale).toBeGreaterThan(0);
    expect(err).toBeLessThanOrEqual(tol * scale);
  });
}

/** Upload seeded random rows of width d. */
export function uploadRandom(m: LoadedModel, rows: number, seed: number): Act {
  return m.upload(randomRows(rows, m.config.dModel, seed), rows, m.config.dModel);
}

/** Run a block on x (freed after), advance `seq` by x.rows when given, and download the output. */
export function runBlock(m: LoadedModel, x: Act, block: (x: Act) => Act, seq?: SequenceState): Float32Array {
  const y = block(x);
  seq?.advance(x.rows);
  const out = m.download(y);
  m.free(y);
  m.free(x);
  return out;
}

/**
 * A fresh sequence advanced through `prefix` random rows by every 'M' and '*' trunk layer, so the
 * recurrent state and the KV caches are non-zero; `op` runs on it and the sequence is freed.
 */
export function withPrefix(m: LoadedModel, prefix: number, maxTokens: number, op: (seq: SequenceState) => Float32Array[]): Float32Array[] {
  const seq = m.newSequence(maxTokens);
  if (prefix > 0) {
    const x = uploadRandom(m, prefix, 999);
    for (const layer of m.config.layers.slice(0, m.config.nTrunkLayers)) {
      if (layer.kind === 'M') m.free(m.mamba2(layer.il, x, seq));
      if (layer.kind === '*') m.free(m.attention(layer.il, x, seq));
    }
    seq.advance(prefix);
    m.free(x);
  }
  const out = op(seq);
  seq.free();
  return out;
}
