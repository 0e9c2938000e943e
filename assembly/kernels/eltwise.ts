// Element-wise kernels over f32 arrays of length n:
//   f32_add     x ← x + y            (spec §4 residual add)
//   f32_relu2   x ← max(x, 0)²       (spec §8/§9 squared ReLU of the expert / MLP hidden)
//   f32_axpy    y ← y + a·x          (spec §8 weighted scatter-add of expert outputs)
//   bf16_to_f32 y ← f32(x_bf16)      (spec §4.1 embedding gather of bf16 rows; exact)
// Lanes: element i sits in lane i mod 4; main loop 16 elements (4 vectors), ×4 loop, scalar tail.
// Error budget: add/axpy one rounding per element (≤ u·|result| each, u = 2⁻²⁴); relu² two
// roundings (≤ 2u relative); bf16_to_f32 exact.

import { f4, loadW, loadW4 } from './lanes';

function addSimd(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const xp = x + f4(i);
    const yp = y + f4(i);
    v128.store(xp, f32x4.add(v128.load(xp), v128.load(yp)));
    v128.store(xp, f32x4.add(v128.load(xp, 16), v128.load(yp, 16)), 16);
    v128.store(xp, f32x4.add(v128.load(xp, 32), v128.load(yp, 32)), 32);
    v128.store(xp, f32x4.add(v128.load(xp, 48), v128.load(yp, 48)), 48);
  }
  for (; i + 4 <= n; i += 4) v128.store(x + f4(i), f32x4.add(v128.load(x + f4(i)), v128.load(y + f4(i))));
  for (; i < n; i++) store<f32>(x + f4(i), load<f32>(x + f4(i)) + load<f32>(y + f4(i)));
}

function addScalar(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(x + f4(i), load<f32>(x + f4(i)) + load<f32>(y + f4(i)));
}

@inline function relu2Vec(v: v128): v128 {
  const r = f32x4.max(v, f32x4.splat(0));
  return f32x4.mul(r, r);
}

@inline function relu2One(v: f32): f32 {
  const r = v > 0 ? v : <f32>0;
  return r * r;
}

function relu2Simd(x: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const xp = x + f4(i);
    v128.store(xp, relu2Vec(v128.load(xp)));
    v128.store(xp, relu2Vec(v128.load(xp, 16)), 16);
    v128.store(xp, relu2Vec(v128.load(xp, 32)), 32);
    v128.store(xp, relu2Vec(v128.load(xp, 48)), 48);
  }
  for (; i + 4 <= n; i += 4) v128.store(x + f4(i), relu2Vec(v128.load(x + f4(i))));
  for (; i < n; i++) store<f32>(x + f4(i), relu2One(load<f32>(x + f4(i))));
}

function relu2Scalar(x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(x + f4(i), relu2One(load<f32>(x + f4(i))));
}

/** y ← y + a·x over n floats, x f32 or bf16 (W = u16); the SIMD twin where the build has SIMD and `simd` is set. */
@inline export function axpyW<W>(simd: bool, a: f32, x: usize, y: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (simd) {
      axpySimd<W>(a, x, y, n);
      return;
    }
  }
  axpyScalar<W>(a, x, y, n);
}

/** y ← y + a·x over n f32 (axpyW<f32>). */
@inline export function axpy(simd: bool, a: f32, x: usize, y: usize, n: i32): void {
  axpyW<f32>(simd, a, x, y, n);
}

function axpySimd<W>(a: f32, x: usize, y: usize, n: i32): void {
  const ws = <usize>sizeof<W>();
  const av = f32x4.splat(a);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const xp = x + <usize>i * ws;
    const yp = y + f4(i);
    v128.store(yp, f32x4.add(v128.load(yp), f32x4.mul(av, loadW4<W>(xp))));
    v128.store(yp, f32x4.add(v128.load(yp, 16), f32x4.mul(av, loadW4<W>(xp + 4 * ws))), 16);
    v128.store(yp, f32x4.add(v128.load(yp, 32), f32x4.mul(av, loadW4<W>(xp + 8 * ws))), 32);
    v128.store(yp, f32x4.add(v128.load(yp, 48), f32x4.mul(av, loadW4<W>(xp + 12 * ws))), 48);
  }
  for (; i + 4 <= n; i += 4) v128.store(y + f4(i), f32x4.add(v128.load(y + f4(i)), f32x4.mul(av, loadW4<W>(x + <usize>i * ws))));
  for (; i < n; i++) store<f32>(y + f4(i), load<f32>(y + f4(i)) + a * loadW<W>(x + <usize>i * ws));
}

function axpyScalar<W>(a: f32, x: usize, y: usize, n: i32): void {
  const ws = <usize>sizeof<W>();
  for (let i = 0; i < n; i++) store<f32>(y + f4(i), load<f32>(y + f4(i)) + a * loadW<W>(x + <usize>i * ws));
}

@inline function bf16x8(v: v128, y: usize, offset: usize): void {
  v128.store(y + offset, i32x4.shl(i32x4.extend_low_i16x8_u(v), 16));
  v128.store(y + offset + 16, i32x4.shl(i32x4.extend_high_i16x8_u(v), 16));
}

function bf16ToF32Simd(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const xp = x + (<usize>i << 1);
    bf16x8(v128.load(xp), y, f4(i));
    bf16x8(v128.load(xp, 16), y, f4(i + 8));
  }
  for (; i + 4 <= n; i += 4) {
    v128.store(y + f4(i), i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(x + (<usize>i << 1))), 16));
  }
  for (; i < n; i++) store<u32>(y + f4(i), <u32>load<u16>(x + (<usize>i << 1)) << 16);
}

function bf16ToF32Scalar(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u32>(y + f4(i), <u32>load<u16>(x + (<usize>i << 1)) << 16);
}

/** f32 bits → bf16 bits, rounded to nearest, ties to even: (b + 0x7FFF + bit 16 of b) >> 16; a NaN stays a (quiet) NaN. */
@inline function toBf16(b: u32): u16 {
  if ((b & 0x7fffffff) > 0x7f800000) return <u16>((b >> 16) | 0x40);
  return <u16>((b + 0x7fff + ((b >> 16) & 1)) >> 16);
}

/** The same rounding on four lanes (i32 arithmetic wraps as u32), as the low halves of four i32 lanes. */
@inline function toBf16x4(v: v128): v128 {
  const rounded = i32x4.shr_u(i32x4.add(i32x4.add(v, i32x4.splat(0x7fff)), v128.and(i32x4.shr_u(v, 16), i32x4.splat(1))), 16);
  const nan = i32x4.gt_u(v128.and(v, i32x4.splat(0x7fffffff)), i32x4.splat(0x7f800000));
  return v128.bitselect(v128.or(i32x4.shr_u(v, 16), i32x4.splat(0x40)), rounded, nan);
}

function f32ToBf16Simd(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const lo = toBf16x4(v128.load(x + f4(i)));
    const hi = toBf16x4(v128.load(x + f4(i), 16));
    v128.store(y + (<usize>i << 1), i8x16.shuffle(lo, hi, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29));
  }
  for (; i < n; i++) store<u16>(y + (<usize>i << 1), toBf16(load<u32>(x + f4(i))));
}

function f32ToBf16Scalar(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u16>(y + (<usize>i << 1), toBf16(load<u32>(x + f4(i))));
}

/** y(n) bf16 ← x(n) f32, rounded to nearest even (the attention cache in 16 bits). */
export function f32_to_bf16(x: usize, y: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) f32ToBf16Simd(x, y, n);
  else f32ToBf16Scalar(x, y, n);
}

export function f32_to_bf16_scalar(x: usize, y: usize, n: i32): void {
  f32ToBf16Scalar(x, y, n);
}

/** x(n) ← x + y. */
export function f32_add(x: usize, y: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) addSimd(x, y, n);
  else addScalar(x, y, n);
}

export function f32_add_scalar(x: usize, y: usize, n: i32): void {
  addScalar(x, y, n);
}

/** x(n) ← max(x, 0)². */
export function f32_relu2(x: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) relu2Simd(x, n);
  else relu2Scalar(x, n);
}

export function f32_relu2_scalar(x: usize, n: i32): void {
  relu2Scalar(x, n);
}

/** y(n) ← y + a·x. */
export function f32_axpy(a: f32, x: usize, y: usize, n: i32): void {
  axpy(ASC_FEATURE_SIMD, a, x, y, n);
}

export function f32_axpy_scalar(a: f32, x: usize, y: usize, n: i32): void {
  axpyScalar<f32>(a, x, y, n);
}

/** y(n) f32 ← x(n) bf16. */
export function bf16_to_f32(x: usize, y: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) bf16ToF32Simd(x, y, n);
  else bf16ToF32Scalar(x, y, n);
}

export function bf16_to_f32_scalar(x: usize, y: usize, n: i32): void {
  bf16ToF32Scalar(x, y, n);
}
