// spec §6.3, §6.5: one-token Mamba-2 SSM update (decode), per head h (group g = ⌊h/(H/G)⌋):
//   Δ = softplus(dt_h + dt_bias_h), α = exp(Δ·A_h),
//   S_h[p, :] ← α·S_h[p, :] + Δ·x[hP+p]·B_g,   y[hP+p] = ⟨C_g, S_h[p, :]⟩ + D_h·x[hP+p].
// State S (H, P, N) fp32. Lanes: state index n in lane n mod 4; main loop 16 (four vectors),
// ×4 loop, scalar tail. Δ and α are computed in f64 (Math) and rounded once to f32.
// Error budget (u = 2⁻²⁴): each state element takes 3 roundings per step (≤ 3u·(α|S| + |ΔxB|));
// y adds a length-N dot product, ≤ (N/16 + 5)·u·Σ_n |C_n S_n| + u·|D x|.

import { f4, hsum } from './lanes';

/** softplus(a) = ln(1 + eᵃ), and a itself above 20 (as torch). */
@inline export function softplus(a: f64): f64 {
  return a > 20 ? a : Math.log1p(Math.exp(a));
}

/** S(N) ← α·S + c·B; returns ⟨C, S⟩ (SIMD). */
function stepRowSimd(S: usize, B: usize, C: usize, alpha: f32, c: f32, N: i32): f32 {
  const av = f32x4.splat(alpha);
  const cv = f32x4.splat(c);
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let n = 0;
  for (; n + 16 <= N; n += 16) {
    const sp = S + f4(n);
    const bp = B + f4(n);
    const cp = C + f4(n);
    let s = f32x4.add(f32x4.mul(av, v128.load(sp)), f32x4.mul(cv, v128.load(bp)));
    v128.store(sp, s);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(cp), s));
    s = f32x4.add(f32x4.mul(av, v128.load(sp, 16)), f32x4.mul(cv, v128.load(bp, 16)));
    v128.store(sp, s, 16);
    a1 = f32x4.add(a1, f32x4.mul(v128.load(cp, 16), s));
    s = f32x4.add(f32x4.mul(av, v128.load(sp, 32)), f32x4.mul(cv, v128.load(bp, 32)));
    v128.store(sp, s, 32);
    a2 = f32x4.add(a2, f32x4.mul(v128.load(cp, 32), s));
    s = f32x4.add(f32x4.mul(av, v128.load(sp, 48)), f32x4.mul(cv, v128.load(bp, 48)));
    v128.store(sp, s, 48);
    a3 = f32x4.add(a3, f32x4.mul(v128.load(cp, 48), s));
  }
  for (; n + 4 <= N; n += 4) {
    const s = f32x4.add(f32x4.mul(av, v128.load(S + f4(n))), f32x4.mul(cv, v128.load(B + f4(n))));
    v128.store(S + f4(n), s);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(C + f4(n)), s));
  }
  let y = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; n < N; n++) {
    const s = alpha * load<f32>(S + f4(n)) + c * load<f32>(B + f4(n));
    store<f32>(S + f4(n), s);
    y += load<f32>(C + f4(n)) * s;
  }
  return y;
}

function stepRowScalar(S: usize, B: usize, C: usize, alpha: f32, c: f32, N: i32): f32 {
  let y: f32 = 0;
  for (let n = 0; n < N; n++) {
    const s = alpha * load<f32>(S + f4(n)) + c * load<f32>(B + f4(n));
    store<f32>(S + f4(n), s);
    y += load<f32>(C + f4(n)) * s;
  }
  return y;
}

function ssdStep(
  simd: bool, x: usize, B: usize, C: usize, dt: usize, dtBias: usize, A: usize, D: usize, state: usize, y: usize,
  H: i32, P: i32, G: i32, N: i32,
): void {
  const headsPerGroup = H / G;
  for (let h = 0; h < H; h++) {
    const g = h / headsPerGroup;
    const delta = softplus(<f64>load<f32>(dt + f4(h)) + <f64>load<f32>(dtBias + f4(h)));
    const alpha = <f32>Math.exp(delta * <f64>load<f32>(A + f4(h)));
    const d = <f32>delta;
    const Dh = load<f32>(D + f4(h));
    const Bg = B + <usize>g * f4(N);
    const Cg = C + <usize>g * f4(N);
    for (let p = 0; p < P; p++) {
      const c = h * P + p; // channel of x and y
      const xc = load<f32>(x + f4(c));
      const S = state + <usize>c * f4(N);
      let acc: f32;
      if (ASC_FEATURE_SIMD && simd) acc = stepRowSimd(S, Bg, Cg, alpha, d * xc, N);
      else acc = stepRowScalar(S, Bg, Cg, alpha, d * xc, N);
      store<f32>(y + f4(c), acc + Dh * xc);
    }
  }
}

/**
 * One decode step for one token: x (H·P), B, C (G·N), raw dt (H); per-head dtBias, A = −exp(A_log),
 * D (H); state (H, P, N) updated in place; y (H·P) written.
 */
export function f32_ssd_step(
  x: usize, B: usize, C: usize, dt: usize, dtBias: usize, A: usize, D: usize, state: usize, y: usize,
  H: i32, P: i32, G: i32, N: i32,
): void {
  ssdStep(true, x, B, C, dt, dtBias, A, D, state, y, H, P, G, N);
}

export function f32_ssd_step_scalar(
  x: usize, B: usize, C: usize, dt: usize, dtBias: usize, A: usize, D: usize, state: usize, y: usize,
  H: i32, P: i32, G: i32, N: i32,
): void {
  ssdStep(false, x, B, C, dt, dtBias, A, D, state, y, H, P, G, N);
}
