// Memory-bandwidth ceiling for the benchmark (DESIGN §8): stream n f32 from p and sum them, so
// every byte is loaded once and nothing is stored. f32_sum_probe reads with v128 loads into four
// independent accumulators (unrolled 16, ×4 loop, scalar tail); the scalar twin reads f32 by f32.
// Bytes/second = 4·n / time is the read ceiling a memory-bound matvec is measured against.
// Error budget: the sum itself is only a sink for the loads (≤ (n/16 + 4)·u·Σ|p_i|).

import { f4, hsum } from './lanes';

function sumSimd(p: usize, n: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const q = p + f4(i);
    a0 = f32x4.add(a0, v128.load(q));
    a1 = f32x4.add(a1, v128.load(q, 16));
    a2 = f32x4.add(a2, v128.load(q, 32));
    a3 = f32x4.add(a3, v128.load(q, 48));
  }
  for (; i + 4 <= n; i += 4) a0 = f32x4.add(a0, v128.load(p + f4(i)));
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; i < n; i++) s += load<f32>(p + f4(i));
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
