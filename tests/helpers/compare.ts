// Comparing logits and activations in tests.

/**
 * The largest |a − b| over the largest |b|: an error relative to the scale of `b`.
 * @example maxRelErr(Float32Array.of(1, 2.01), Float32Array.of(1, 2)); // 0.005
 */
export function maxRelErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths ${a.length} and ${b.length} differ`);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}
