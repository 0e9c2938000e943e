// spec §14.1, DESIGN §3: the int16-activation decode path for nvfp4 weights (T = 1):
//   1. x (K, f32) is quantised once per call, per block b of 16, to
//      σ_b = max_{k∈b} |x_k| / 32767,  q_k = round(x_k / σ_b) (ties to even),  |q_k| ≤ 32767
//      (σ_b = 0 gives q = 0), stored de-interleaved per 32 elements (two blocks A, B) as
//      q[even k of A], q[even k of B], q[odd k of A], q[odd k of B] (8 i16 each; a lone last
//      block of 16: even then odd), then σ (K/16, f32). A code byte's low nibble (even k) and
//      high nibble (odd k) then meet their activations lane by lane, no shuffle.
//   2. Per 16 code bytes (32 weights, blocks A and B): lo = v & 0x0F, hi = v >>> 4, each looked
//      up (i8x16.swizzle) as 2·E2M1 in int8 (0, 1, 2, 3, 4, 6, 8, 12 and negatives); low halves
//      (block A) and high halves (block B) widen to i16 and i32x4.dot_i16x8_s with the even and
//      odd activations: d_b = Σ_{k∈b} q_k · 2·E2M1_k exactly in i32 (|d_b| ≤ 16·32767·12 < 2²⁴,
//      so its f32 conversion is exact); acc += f32(d_b) · (E4M3(s_b) · σ_b) in f32x4;
//      y = hsum(acc) · scale2 / 2. Four rows at a time share the activation loads.
// Scalar twin (…_scalar): the same quantisation and layout, d_b summed in i32, acc += f32(d_b) ·
//   (E4M3(s_b) · σ_b), y = acc · scale2 / 2 — the same result up to f32 summation order.
// Error: activation rounding |x_k − σ_b q_k| ≤ σ_b · (1/2 + 2¹⁶·u) (x/σ_b is formed as
//   x · fl(1/σ_b)), i.e. ≤ 2⁻¹⁶ · max_b|x| (1 + 2⁻⁷) relative to the block max; then the f32
//   scale product, accumulation and lane sum as in nvfp4_matmul.ts:
//   |ŷ − y| ≤ Σ_b 0.504·σ_b · Σ_{k∈b} |w_k| + (K/16 + 24)·u·Σ_k |x̂_k w_k|   (u = 2⁻²⁴).
// Not yet called by the backend (assembly/backend/linear.ts): the activation term, ~2⁻¹⁶ of the
//   output scale, is above the f32-rounding tolerances of tests/conformance (ops-rows.ts), while
//   the GGUF fixture's 2e-3 holds; measured in the bench against nvfp4_matmul.ts's matvec.

import { e4m3At } from './fp4_decode';
import { absMax16, f4, hsum } from './lanes';
import { store4 } from './nvfp4_matmul';

/** 2·E2M1 of a 4-bit code as int8 (code 8, −0, is 0). */
const E2M1X2: usize = memory.data<i8>([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]);

/** Bytes of scratch the q16 matvec needs for K: K i16 values then K/16 f32 scales. */
export function q16_scratch_bytes(K: i32): i32 {
  return 2 * K + 4 * (K >> 4);
}

/** Byte offsets of block b's even and odd activations in q (nb blocks in all). */
@inline function evenOff(b: i32, nb: i32): usize {
  return (<usize>(b >> 1) << 6) + (b == nb - 1 && nb & 1 ? 0 : <usize>(b & 1) << 4);
}

@inline function oddOff(b: i32, nb: i32): usize {
  return (<usize>(b >> 1) << 6) + (b == nb - 1 && nb & 1 ? 16 : 32 + (<usize>(b & 1) << 4));
}

/** Block b of x → σ_b (returned) and q at q + evenOff / oddOff, SIMD. */
@inline function quantizeBlockSimd(xp: usize, qe: usize, qo: usize): f32 {
  const v0 = v128.load(xp);
  const v1 = v128.load(xp, 16);
  const v2 = v128.load(xp, 32);
  const v3 = v128.load(xp, 48);
  const sigma: f32 = absMax16(v0, v1, v2, v3) / 32767;
  const inv = f32x4.splat(sigma > 0 ? 1 / sigma : 0);
  const a = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v0, inv))), i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v1, inv))));
  const b = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v2, inv))), i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v3, inv))));
  v128.store(qe, i8x16.shuffle(a, b, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29));
  v128.store(qo, i8x16.shuffle(a, b, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31));
  return sigma;
}

/** Block b of x → σ_b (returned) and q, scalar (the same values as the SIMD quantisation). */
@inline function quantizeBlockScalar(xp: usize, qe: usize, qo: usize): f32 {
  let amax: f32 = 0;
  for (let k = 0; k < 16; k++) amax = max(amax, abs(load<f32>(xp + f4(k))));
  const sigma: f32 = amax / 32767;
  const inv: f32 = sigma > 0 ? 1 / sigma : 0;
  for (let j = 0; j < 8; j++) {
    store<i16>(qe + (<usize>j << 1), <i16>(<i32>nearest(load<f32>(xp + f4(2 * j)) * inv)));
    store<i16>(qo + (<usize>j << 1), <i16>(<i32>nearest(load<f32>(xp + f4(2 * j + 1)) * inv)));
  }
  return sigma;
}

/** x (K) → scratch: q (K i16, de-interleaved per 32) then σ (K/16 f32); S = u8 SIMD, u16 scalar. */
@inline function quantize<S>(x: usize, K: i32, q: usize): void {
  const sig = q + (<usize>K << 1);
  const nb = K >> 4;
  for (let b = 0; b < nb; b++) {
    const xp = x + f4(b << 4);
    const qe = q + evenOff(b, nb);
    const qo = q + oddOff(b, nb);
    if (sizeof<S>() == 1) store<f32>(sig + f4(b), quantizeBlockSimd(xp, qe, qo));
    else store<f32>(sig + f4(b), quantizeBlockScalar(xp, qe, qo));
  }
}

/** The 2·E2M1 table (int8 lanes) looked up by 16 4-bit codes. */
@inline function lookup(codes: v128): v128 {
  return i8x16.swizzle(v128.load(E2M1X2), codes);
}

/** acc + f32(d) · scale. */
@inline function addQ(acc: v128, d: v128, scale: f32): v128 {
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(d), f32x4.splat(scale)));
}

/** acc after blocks A and B of one row (16 code bytes at c) against even/odd activations eA, eB, oA, oB. */
@inline function pairQ(acc: v128, c: usize, eA: v128, eB: v128, oA: v128, oB: v128, scA: f32, scB: f32): v128 {
  const v = v128.load(c);
  const lo = lookup(v128.and(v, i8x16.splat(0x0f)));
  const hi = lookup(i8x16.shr_u(v, 4));
  const dA = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), eA), i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), oA));
  const dB = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), eB), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), oB));
  return addQ(addQ(acc, dA, scA), dB, scB);
}

/** acc after a lone block (8 code bytes at c) against its even/odd activations e, o. */
@inline function singleQ(acc: v128, c: usize, e: v128, o: v128, sc: f32): v128 {
  const v = v128.load64_zero(c);
  const lo = i16x8.extend_low_i8x16_s(lookup(v128.and(v, i8x16.splat(0x0f))));
  const hi = i16x8.extend_low_i8x16_s(lookup(i8x16.shr_u(v, 4)));
  return addQ(acc, i32x4.add(i32x4.dot_i16x8_s(lo, e), i32x4.dot_i16x8_s(hi, o)), sc);
}

/** Four rows (codes c, scales s; row strides cr, sr) against the quantised x → y[0..3], times g. */
@inline function rowDot4Q(q: usize, sig: usize, c: usize, cr: usize, s: usize, sr: usize, K: i32, y: usize, g: f32): void {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  const nb = K >> 4;
  const np = nb >> 1;
  for (let p = 0; p < np; p++) {
    const qp = q + (<usize>p << 6);
    const eA = v128.load(qp);
    const eB = v128.load(qp, 16);
    const oA = v128.load(qp, 32);
    const oB = v128.load(qp, 48);
    const sA = load<f32>(sig + f4(2 * p));
    const sB = load<f32>(sig + f4(2 * p + 1));
    const cp = c + (<usize>p << 4);
    const so = s + (<usize>p << 1);
    a0 = pairQ(a0, cp, eA, eB, oA, oB, e4m3At(so) * sA, e4m3At(so + 1) * sB);
    a1 = pairQ(a1, cp + cr, eA, eB, oA, oB, e4m3At(so + sr) * sA, e4m3At(so + sr + 1) * sB);
    a2 = pairQ(a2, cp + 2 * cr, eA, eB, oA, oB, e4m3At(so + 2 * sr) * sA, e4m3At(so + 2 * sr + 1) * sB);
    a3 = pairQ(a3, cp + 3 * cr, eA, eB, oA, oB, e4m3At(so + 3 * sr) * sA, e4m3At(so + 3 * sr + 1) * sB);
  }
  if (nb & 1) {
    const qp = q + (<usize>np << 6);
    const e = v128.load(qp);
    const o = v128.load(qp, 16);
    const sb = load<f32>(sig + f4(nb - 1));
    const cp = c + (<usize>np << 4);
    const so = s + <usize>(nb - 1);
    a0 = singleQ(a0, cp, e, o, e4m3At(so) * sb);
    a1 = singleQ(a1, cp + cr, e, o, e4m3At(so + sr) * sb);
    a2 = singleQ(a2, cp + 2 * cr, e, o, e4m3At(so + 2 * sr) * sb);
    a3 = singleQ(a3, cp + 3 * cr, e, o, e4m3At(so + 3 * sr) * sb);
  }
  store4(y, 4, a0, a1, a2, a3, g);
}

/** One row against the quantised x (no scale2). */
@inline function rowDotQ(q: usize, sig: usize, c: usize, s: usize, K: i32): f32 {
  let acc = f32x4.splat(0);
  const nb = K >> 4;
  const np = nb >> 1;
  for (let p = 0; p < np; p++) {
    const qp = q + (<usize>p << 6);
    const sc = s + (<usize>p << 1);
    acc = pairQ(acc, c + (<usize>p << 4), v128.load(qp), v128.load(qp, 16), v128.load(qp, 32), v128.load(qp, 48), e4m3At(sc) * load<f32>(sig + f4(2 * p)), e4m3At(sc + 1) * load<f32>(sig + f4(2 * p + 1)));
  }
  if (nb & 1) {
    const qp = q + (<usize>np << 6);
    acc = singleQ(acc, c + (<usize>np << 4), v128.load(qp), v128.load(qp, 16), e4m3At(s + <usize>(nb - 1)) * load<f32>(sig + f4(nb - 1)));
  }
  return hsum(acc);
}

function matvecQ16Simd(x: usize, q: usize, c: usize, s: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  quantize<u8>(x, K, q);
  const sig = q + (<usize>K << 1);
  const cr = <usize>(K >> 1);
  const sr = <usize>(K >> 4);
  const g = scale2 * 0.5;
  let n = 0;
  for (; n + 4 <= N; n += 4) rowDot4Q(q, sig, c + <usize>n * cr, cr, s + <usize>n * sr, sr, K, y + f4(n), g);
  for (; n < N; n++) store<f32>(y + f4(n), rowDotQ(q, sig, c + <usize>n * cr, s + <usize>n * sr, K) * g);
}

function matvecQ16Scalar(x: usize, q: usize, c: usize, s: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  quantize<u16>(x, K, q);
  const sig = q + (<usize>K << 1);
  const nb = K >> 4;
  const g = scale2 * 0.5;
  for (let n = 0; n < N; n++) {
    const cn = c + <usize>n * <usize>(K >> 1);
    const sn = s + <usize>n * <usize>nb;
    let acc: f32 = 0;
    for (let b = 0; b < nb; b++) {
      const qe = q + evenOff(b, nb);
      const qo = q + oddOff(b, nb);
      const cb = cn + (<usize>b << 3);
      let d: i32 = 0;
      for (let j = 0; j < 8; j++) {
        const byte = <usize>load<u8>(cb + j);
        d += <i32>load<i16>(qe + (<usize>j << 1)) * <i32>load<i8>(E2M1X2 + (byte & 15));
        d += <i32>load<i16>(qo + (<usize>j << 1)) * <i32>load<i8>(E2M1X2 + (byte >> 4));
      }
      acc += <f32>d * (e4m3At(sn + b) * load<f32>(sig + f4(b)));
    }
    store<f32>(y + f4(n), acc * g);
  }
}

/** y(N) = W(N, K) · x(K), nvfp4 weights, int16 activations (scratch: q16_scratch_bytes(K)). */
export function nvfp4_matvec_q16(x: usize, scratch: usize, codes: usize, scales: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matvecQ16Simd(x, scratch, codes, scales, scale2, y, K, N);
  else matvecQ16Scalar(x, scratch, codes, scales, scale2, y, K, N);
}

export function nvfp4_matvec_q16_scalar(x: usize, scratch: usize, codes: usize, scales: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  matvecQ16Scalar(x, scratch, codes, scales, scale2, y, K, N);
}
