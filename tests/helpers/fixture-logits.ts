// Comparing `edgetron logits` rows with the oracle fixtures (tests/fixtures/nemotron-h-tiny):
// raw little-endian f32 files, [position][vocab] row-major.

import { readFileSync } from 'node:fs';

/** A raw little-endian f32 file as floats. */
export function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Index of the largest value (the first one on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Largest |a − b| over every position, and the positions whose argmax differs, for logits rows
 * `rows` ([T][V]) against `oracle` (flat [T·V], or rows too).
 */
export function compareLogits(rows: readonly number[][], oracle: Float32Array | readonly number[][]): { maxAbs: number; argmaxDiffers: number[] } {
  const V = rows[0]?.length ?? 0;
  const want = (t: number) => (oracle instanceof Float32Array ? oracle.subarray(t * V, (t + 1) * V) : oracle[t]);
  const argmaxDiffers = rows.flatMap((row, t) => (argmax(row) === argmax(want(t)) ? [] : [t]));
  const maxAbs = Math.max(0, ...rows.map((row, t) => Math.max(...row.map((v, i) => Math.abs(v - want(t)[i])))));
  return { maxAbs, argmaxDiffers };
}
