// Memory-bandwidth ceiling for the benchmark (DESIGN §8): stream n f32 from p and sum them, so
// every byte is loaded once and nothing is stored. f32_sum_probe reads the buffer as four
// quarters at once (four memory streams, like the four weight rows of f32_matvec, since the
// prefetchers serve several streams faster than one), one f32x4 accumulator per stream, two
// vectors per stream per step (unrolled main loop), then a ×4 loop and a scalar tail for the last
// n mod 16 floats. The scalar twin reads f32 by f32.
// Bytes/second = 4·n / time is the read ceiling a memory-bound matvec is measured against.
// Error budget: the sum itself is only a sink for the loads (≤ (n/8 + 4)·u·Σ|p_i|).

import { f4, hsum } from './lanes';

function sumSimd(p: usize, n: i32): f32 {
  const q = (n >> 2) & ~3; // floats per stream, a multiple of 4
  const p1 = p + f4(q);
  const p2 = p + f4(2 * q);
  const p3 = p + f4(3 * q);
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let i = 0;
  for (; i + 8 <= q; i += 8) {
    const o = f4(i);
    a0 = f32x4.add(f32x4.add(a0, v128.load(p + o)), v128.load(p + o, 16));
    a1 = f32x4.add(f32x4.add(a1, v128.load(p1 + o)), v128.load(p1 + o, 16));
    a2 = f32x4.add(f32x4.add(a2, v128.load(p2 + o)), v128.load(p2 + o, 16));
    a3 = f32x4.add(f32x4.add(a3, v128.load(p3 + o)), v128.load(p3 + o, 16));
  }
  for (; i + 4 <= q; i += 4) {
    const o = f4(i);
    a0 = f32x4.add(a0, v128.load(p + o));
    a1 = f32x4.add(a1, v128.load(p1 + o));
    a2 = f32x4.add(a2, v128.load(p2 + o));
    a3 = f32x4.add(a3, v128.load(p3 + o));
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (let j = 4 * q; j < n; j++) s += load<f32>(p + f4(j));
  return s;
}

function sumScalar(p: usize, n: i32): f32 {
  let s0: f32 = 0;
  let s1: f32 = 0;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    s0 += load<f32>(p + f4(i));
    s1 += load<f32>(p + f4(i), 4);
  }
  let s = s0 + s1;
  for (; i < n; i++) s += load<f32>(p + f4(i));
  return s;
}

/** Σ p[0..n) as f32, streamed with v128 loads where the build has SIMD. */
export function f32_sum_probe(p: usize, n: i32): f32 {
  if (ASC_FEATURE_SIMD) return sumSimd(p, n);
  return sumScalar(p, n);
}

export function f32_sum_probe_scalar(p: usize, n: i32): f32 {
  return sumScalar(p, n);
}
