// Shared lane helpers for the kernels: horizontal sums and weight loads that widen bf16 to f32.
// bf16 → f32 is exact: the 16 stored bits become the high half of the f32 (low mantissa bits 0).

/** Sum of the four f32 lanes, ((l0 + l1) + (l2 + l3)). */
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** max |v| over the 16 f32 lanes of v0..v3. */
@inline export function absMax16(v0: v128, v1: v128, v2: v128, v3: v128): f32 {
  const m = f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3)));
  return max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

/** Four weights at p as f32x4; W is f32 (4 bytes) or u16 (bf16 bits). */
@inline export function loadW4<W>(p: usize): v128 {
  if (sizeof<W>() == 4) return v128.load(p);
  return i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(p)), 16);
}

/** One weight at p as f32; W is f32 or u16 (bf16 bits). */
@inline export function loadW<W>(p: usize): f32 {
  if (sizeof<W>() == 4) return load<f32>(p);
  return reinterpret<f32>(<u32>load<u16>(p) << 16);
}

/** Byte offset of element i of an f32 array. */
@inline export function f4(i: i32): usize {
  return <usize>i << 2;
}
