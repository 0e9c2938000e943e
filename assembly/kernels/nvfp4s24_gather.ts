// spec §14.1, DESIGN §3: the nvfp4-s24 (2:4-sparse NVFP4) linear that gathers the activations of
// the kept weights instead of spreading the weights to their dense positions (fp4_q16_matvec.ts),
// so each group of 4 costs 2 multiplies, not 4:
//   y_n = scale2 · Σ_b E4M3(s_{n,b}) · Σ_{g<4} Σ_{k<2} E2M1(code_{n,b,g,k}) · x[16b + 4g + i_k]
//   (i_0 = c & 3, i_1 = c >> 2 for the group's position code c = i_0 | i_1 << 2).
//   1. x (K, f32) is quantised once per token, per block b of 16:
//      σ_b = max_{k∈b} |x_k| / 127,  q_k = round(x_k · fl(1/σ_b)) (ties to even), |q_k| ≤ 127
//      (σ_b = 0 gives q = 0). Scratch per token (gather_scratch_bytes): q (K rounded up to 32, i8),
//      σ (K/16 rounded up to even, f32; a lone last block's partner has q = 0 and σ = 0), then 32
//      bytes for a lone block's scales and a tail row. SIMD: per pair of blocks A, B (32 elements)
//      two gather tables of 16 q, tEven = [A₀ A₂ B₀ B₂] and tOdd = [A₁ A₃ B₁ B₃] (X_g = the 4 q of
//      group g of block X); the scalar twin keeps element order.
//   2. Four rows × one pair of blocks per step. Lane 4r + m of a v128 is row r's m-th even group
//      (A₀ A₂ B₀ B₂) or odd group (A₁ A₃ B₁ B₃): that is the order of a row's 4 position bytes
//      (one 32-bit load per row; low nibble = even group, high = odd), and of the even and odd
//      bytes of its 8 code bytes (two 64-bit loads per row pair, split by i8x16.narrow_i16x8_u).
//      For each field f of the position bytes (i₀, i₁ of the even group, i₀, i₁ of the odd one),
//      one i8x16.swizzle of the pair's table by 4m + ((pos >> 2f) & 3) gathers the 16 kept q, and
//      one of the 16-entry 2·E2M1 table by the matching code nibbles gives their weights (int8,
//      exact). SIMD build: i16x8.extmul_{low,high}_i8x16_s multiplies them exactly (|·| ≤ 127·12),
//      the 4 fields sum per lane in i16 (≤ 4·1524), and i32x4.extadd_pairwise sums lanes m = 0, 1
//      (block A) and 2, 3 (B). Relaxed-SIMD build: relaxed_swizzle (indices < 16: the same bytes)
//      and i16x8.relaxed_dot_i8x16_i7x16_s on the weights + 12 ∈ [0, 24] (deterministic on every
//      engine), less the same dot on 12, sum lane pairs m = 0, 1 and 2, 3 (|·| ≤ 4·2·127·24 < 2¹⁵).
//      Either way: the exact block dots d_{r,b} = Σ_{g,k} q · 2·E2M1 as [r₀A, r₀B, r₁A, r₁B] and
//      [r₂A, r₂B, r₃A, r₃B]. Weights in the rows4 layout (nvfp4s24_pack_rows4, how the wasm backend
//      holds them) give a step its even and odd code bytes and position bytes as three v128 loads
//      and its scales as one 64-bit load (fp4_rows4.ts scaleBitsRows4), one sequential stream.
//   3. As fp4_q16_matvec.ts: f32(d) · (E4M3(s) · σ) with the 8 scales widened in SIMD (scaleBits8,
//      scaleHalf), accumulated per (row, A | B) lane; y = (A + B) · scale2 / 2 (storeRows4). A lone
//      last block (K/16 odd) is one more step whose B codes, positions and scales are 0; each of the
//      last N mod 4 rows takes a step with row stride 0 (four copies of itself), so every row of
//      every shape gets the same arithmetic.
//   4. Prefill (…_matmul_gather, T > 1): every token is quantised, then row blocks that stay in L2
//      (matmul.ts's rowBlock, a multiple of 4 rows) take each token through steps 2–3: token by
//      token exactly the decode's result, which MTP's greedy verification needs.
// Scalar twin (…_scalar, and the export itself in the scalar build): the same q and σ, integer
//   d_{r,b}, acc += f32(d) · (E4M3(s_b) · σ_b) block by block, y = acc · scale2 / 2 — the SIMD result
//   up to f32 summation order.
// Error: the int8 activation rounding |x_k − σ_b q_k| ≤ σ_b · (1/2 + 2⁸·u) ≤ 0.504·σ_b, then the f32
//   scale products, accumulation and lane sums as in nvfp4_matmul.ts:
//   |ŷ − y| ≤ Σ_b 0.504·σ_b · Σ_{k∈b} |w_k| + (K/16 + 24)·u·Σ_k |x̂_k w_k|   (u = 2⁻²⁴).
// Cost per step (4 rows × 2 blocks = 64 kept weights), relaxed build, rows4 layout: 7 loads, 8
//   swizzles with 17 index ops, 8 relaxed dots and 7 adds (4 dots and 3 adds are the +12 offset's
//   correction), 2 widenings, ~9 for the 8 scales and 6 for the f32 accumulation: ~65 vector ops,
//   against ~74 for nvfp4_matmul_i8_rows4 over the same 4 rows × 32 dense weights. Decoding the
//   positions (one index op and one swizzle per 8 kept weights) and the scales (one per 8 kept
//   weights, not 16) cost about what the halved multiplies save. The ModelOpt layout adds 10 lane
//   loads and 2 narrows; in the SIMD build V8 lowers each swizzle and extmul to 3–5 x64
//   instructions. Measured A/B: bench/s24-gather.ts.

import { e2m1x2, e2m1x2Lanes, e4m3At } from './fp4_decode';
import { blockSigma, roundedHalf, scaleBits8, scaleHalf, storeGroups4, storeRows4 } from './fp4_q16_matvec';
import { scaleBitsRows4 } from './fp4_rows4';
import { f4 } from './lanes';
import { rowBlock } from './matmul';

/**
 * The step's constant lanes, loaded once per rows4 call so that they stay in registers (a v128.const
 * in the loop is rebuilt at each use): 0x0F, 3 and 12 in every lane; the group offsets 4m of lanes
 * 4r + m. The weight table (weightLanes) comes from fp4_decode.ts's E2M1X2.
 */
const LANES: usize = memory.data<i8>([
  15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
  12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
  0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12,
], 16);
/** Offsets in LANES. */
const NIBBLE: usize = 0;
const THREE: usize = 16;
const TWELVE: usize = 32;
const OFFSETS: usize = 48;

/** The weight table of this build: 2·E2M1, or 2·E2M1 + 12 for the relaxed dot (its second operand in [0, 24], where every engine gives the same result). */
@inline function weightLanes(): v128 {
  return e2m1x2Lanes(ASC_FEATURE_RELAXED_SIMD);
}

/** Bytes of a token's q: K rounded up to a pair of blocks (32), as i8. */
@inline function qBytes(K: i32): usize {
  return <usize>((K + 31) & ~31);
}

/** Bytes of one rows4 chunk (a pair of blocks of 4 rows): even and odd code bytes, position bytes (16 each, lanes 4r + m), then 8 scales. */
const CHUNK_S24: usize = 56;

/** Bytes of scratch the gather kernels need per token for K: q, σ (K/16 rounded up to even, f32), 32 spare. */
export function gather_scratch_bytes(K: i32): i32 {
  return <i32>qBytes(K) + 8 * ((K + 31) >> 5) + 32;
}

/** Lanes of table a picked by the indices b (< 16); relaxed_swizzle where the build has it (the same result). */
@inline function pick(a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(a, b);
  return i8x16.swizzle(a, b);
}

/** Block b of x (16 f32 at xp) → σ_b (stored) and its q (returned), SIMD. */
@inline function quantizeBlock(xp: usize, sig: usize, b: i32): v128 {
  const sigma = blockSigma(xp, 127);
  store<f32>(sig + f4(b), sigma);
  const inv = f32x4.splat(sigma > 0 ? 1 / sigma : 0);
  return i8x16.narrow_i16x8_s(roundedHalf(xp, inv, 0), roundedHalf(xp, inv, 1));
}

/** x (K) → a token's scratch, SIMD: per pair of blocks A, B the tables [A₀ A₂ B₀ B₂] and [A₁ A₃ B₁ B₃] of q (4 per group), and σ. */
function quantizeSimd(x: usize, K: i32, q: usize): void {
  const nb = K >> 4;
  const sig = q + qBytes(K);
  for (let b = 0; b < nb; b += 2) {
    const qa = quantizeBlock(x + f4(b << 4), sig, b);
    let qb = v128.splat<i32>(0); // a lone block's partner: q = 0, σ = 0
    if (b + 1 < nb) qb = quantizeBlock(x + f4((b + 1) << 4), sig, b + 1);
    else store<f32>(sig + f4(b + 1), 0);
    const qp = q + (<usize>b << 4);
    v128.store(qp, i8x16.shuffle(qa, qb, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
    v128.store(qp, i8x16.shuffle(qa, qb, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31), 16);
  }
}

/** x (K) → a token's scratch, scalar: q in element order, and σ (the same values as quantizeSimd). */
function quantizeScalar(x: usize, K: i32, q: usize): void {
  const sig = q + qBytes(K);
  for (let b = 0; b < K >> 4; b++) {
    const xp = x + f4(b << 4);
    let amax: f32 = 0;
    for (let k = 0; k < 16; k++) amax = max(amax, abs(load<f32>(xp + f4(k))));
    const sigma: f32 = amax / 127;
    const inv: f32 = sigma > 0 ? 1 / sigma : 0;
    for (let k = 0; k < 16; k++) store<i8>(q + <usize>(16 * b + k), <i8>(<i32>min<f32>(127, max<f32>(-128, nearest(load<f32>(xp + f4(k)) * inv)))));
    store<f32>(sig + f4(b), sigma);
  }
}

/**
 * The kept q (int8) of lanes 4r + m for field f of their position bytes (f = 0, 1: the even group's
 * i₀, i₁; 2, 3: the odd group's), from the pair's table t of those groups: t[4m + ((pos >> 2f) & 3)];
 * three, offsets: LANES.
 */
@inline function gatherKept(t: v128, pos: v128, f: i32, three: v128, offsets: v128): v128 {
  return pick(t, v128.or(v128.and(f == 0 ? pos : i16x8.shr_u(pos, 2 * f), three), offsets));
}

/** The weight table (weightLanes) looked up by the low (h = 0) or high nibbles of the code bytes c. */
@inline function keptWeights(c: v128, h: i32, table: v128, nibble: v128): v128 {
  return pick(table, v128.and(h == 0 ? c : i16x8.shr_u(c, 4), nibble));
}

/** Σ_f relaxed_dot(g_f, w_f) (i16 lanes: byte lanes 2i, 2i + 1). */
@inline function relaxedDots(g0: v128, g1: v128, g2: v128, g3: v128, w0: v128, w1: v128, w2: v128, w3: v128): v128 {
  const d01 = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(g0, w0), i16x8.relaxed_dot_i8x16_i7x16_s(g1, w1));
  return i16x8.add(d01, i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(g2, w2), i16x8.relaxed_dot_i8x16_i7x16_s(g3, w3)));
}

/**
 * The exact block dots of one step (4 rows × a pair of blocks; code bytes cEven, cOdd and position
 * bytes pv in lanes 4r + m, the pair's q tables tEven, tOdd) as i16 lanes
 * [r₀A, r₀B, r₁A, r₁B, r₂A, r₂B, r₃A, r₃B] (|·| ≤ 2·4·1524 < 2¹⁵, exact); the rest: LANES, weightLanes.
 */
@inline function stepDots(cEven: v128, cOdd: v128, pv: v128, tEven: v128, tOdd: v128, three: v128, offsets: v128, table: v128, nibble: v128, twelve: v128): v128 {
  const g0 = gatherKept(tEven, pv, 0, three, offsets);
  const g1 = gatherKept(tEven, pv, 1, three, offsets);
  const g2 = gatherKept(tOdd, pv, 2, three, offsets);
  const g3 = gatherKept(tOdd, pv, 3, three, offsets);
  const w0 = keptWeights(cEven, 0, table, nibble);
  const w1 = keptWeights(cEven, 1, table, nibble);
  const w2 = keptWeights(cOdd, 0, table, nibble);
  const w3 = keptWeights(cOdd, 1, table, nibble);
  // relaxed: lane pairs m = 0, 1 (block A) and 2, 3 (B) by the relaxed dot on w + 12, less 12·Σq (|·| ≤ 4·2·127·24 < 2¹⁵)
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.sub(relaxedDots(g0, g1, g2, g3, w0, w1, w2, w3), relaxedDots(g0, g1, g2, g3, twelve, twelve, twelve, twelve));
  // SIMD: Σ q·w per lane (4 products, ≤ 4·1524 in i16), then lanes m = 0, 1 (block A) and 2, 3 (B)
  const p01 = i16x8.add(i16x8.add(i16x8.extmul_low_i8x16_s(g0, w0), i16x8.extmul_low_i8x16_s(g1, w1)), i16x8.add(i16x8.extmul_low_i8x16_s(g2, w2), i16x8.extmul_low_i8x16_s(g3, w3)));
  const p23 = i16x8.add(i16x8.add(i16x8.extmul_high_i8x16_s(g0, w0), i16x8.extmul_high_i8x16_s(g1, w1)), i16x8.add(i16x8.extmul_high_i8x16_s(g2, w2), i16x8.extmul_high_i8x16_s(g3, w3)));
  return i16x8.narrow_i32x4_s(i32x4.extadd_pairwise_i16x8_s(p01), i32x4.extadd_pairwise_i16x8_s(p23));
}

/** acc + f32(d) · scales. */
@inline function addDots(acc: v128, d: v128, scales: v128): v128 {
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(d), scales));
}

/**
 * Four rows against a token's q (σ at sig) → y[0..3], times g; tmp: 8 spare bytes. L = u8: ModelOpt
 * codes c, positions p, scales s with row strides cr, pr, sr (0 for four copies of one row);
 * L = u16: the rows' group in rows4 at c (K ≡ 0 mod 32).
 */
function rows4<L>(q: usize, sig: usize, c: usize, cr: usize, p: usize, pr: usize, s: usize, sr: usize, K: i32, y: usize, g: f32, tmp: usize): void {
  let a01 = f32x4.splat(0);
  let a23 = a01;
  const nb = K >> 4;
  const np = nb >> 1;
  const nibble = v128.load(LANES + NIBBLE);
  const three = v128.load(LANES + THREE);
  const twelve = v128.load(LANES + TWELVE);
  const offsets = v128.load(LANES + OFFSETS);
  const table = weightLanes();
  for (let P = 0; P < (nb + 1) >> 1; P++) {
    let cEven: v128, cOdd: v128, pv: v128, bits: v128;
    if (sizeof<L>() == 2) {
      const ch = c + <usize>P * CHUNK_S24;
      cEven = v128.load(ch);
      cOdd = v128.load(ch, 16);
      pv = v128.load(ch, 32);
      bits = scaleBitsRows4(ch + 48);
    } else {
      const co = c + (<usize>P << 3);
      const po = p + (<usize>P << 2);
      let v01: v128, v23: v128;
      if (P < np) {
        // code bytes v01 (rows 0, 1: A then B, 8 bytes each), v23; position bytes of row r in lane r
        v01 = v128.load64_lane(co + cr, v128.load64_zero(co), 1);
        v23 = v128.load64_lane(co + 3 * cr, v128.load64_zero(co + 2 * cr), 1);
        pv = v128.load32_zero(po);
        pv = v128.load32_lane(po + pr, pv, 1);
        pv = v128.load32_lane(po + 2 * pr, pv, 2);
        pv = v128.load32_lane(po + 3 * pr, pv, 3);
        bits = scaleBits8(s + <usize>(2 * P), sr);
      } else {
        // the lone last block as block A of a pair whose B codes, positions and scales are 0
        v01 = v128.load32_lane(co + cr, v128.load32_zero(co), 2);
        v23 = v128.load32_lane(co + 3 * cr, v128.load32_zero(co + 2 * cr), 2);
        pv = v128.load16_lane(po, v128.splat<i32>(0), 0);
        pv = v128.load16_lane(po + pr, pv, 2);
        pv = v128.load16_lane(po + 2 * pr, pv, 4);
        pv = v128.load16_lane(po + 3 * pr, pv, 6);
        for (let r = 0; r < 4; r++) store<u16>(tmp + <usize>(2 * r), load<u8>(s + <usize>(2 * P) + <usize>r * sr));
        bits = scaleBits8(tmp, 2);
      }
      // lanes 4r + m, m = A₀|A₂|B₀|B₂ (even groups) or A₁|A₃|B₁|B₃ (odd): their code bytes; pv's bytes hold both nibbles
      cEven = i8x16.narrow_i16x8_u(v128.and(v01, i16x8.splat(0xff)), v128.and(v23, i16x8.splat(0xff)));
      cOdd = i8x16.narrow_i16x8_u(i16x8.shr_u(v01, 8), i16x8.shr_u(v23, 8));
    }
    const qp = q + (<usize>P << 5);
    const tEven = v128.load(qp); // [A₀ A₂ B₀ B₂]
    const tOdd = v128.load(qp, 16); // [A₁ A₃ B₁ B₃]
    const sigma = v128.load64_splat(sig + f4(2 * P)); // [σA, σB, σA, σB]
    const d = stepDots(cEven, cOdd, pv, tEven, tOdd, three, offsets, table, nibble, twelve);
    a01 = addHalf(a01, d, bits, sigma, 0); // d lanes 0..3: [r₀A, r₀B, r₁A, r₁B]
    a23 = addHalf(a23, d, bits, sigma, 1); // lanes 4..7: [r₂A, r₂B, r₃A, r₃B]
  }
  const z = f32x4.splat(0);
  storeRows4(y, a01, a23, z, z, g);
}

/** acc + f32(rows 2h, 2h + 1 of a step's dots d) · (their scales, from bits, times σ). */
@inline function addHalf(acc: v128, d: v128, bits: v128, sigma: v128, h: i32): v128 {
  return addDots(acc, h == 0 ? i32x4.extend_low_i16x8_s(d) : i32x4.extend_high_i16x8_s(d), scaleHalf(bits, h, sigma));
}

/**
 * Four groups of 4 rows in rows4 (the chunks of groups G + j·Q at c, groups gb bytes apart; K ≡ 0
 * mod 32) against a token's q (σ at sig) → their 16 outputs at y, times g: each group's operations
 * exactly as rows4<u16>'s, sharing the token's loads. Decode takes groups a quarter of the matrix
 * apart: four sequential weight streams, which the hardware prefetchers serve faster than one.
 */
function rows16(q: usize, sig: usize, c: usize, gb: usize, G: i32, Q: i32, K: i32, y: usize, g: f32): void {
  let a01 = f32x4.splat(0);
  let a23 = a01;
  let b01 = a01;
  let b23 = a01;
  let c01 = a01;
  let c23 = a01;
  let e01 = a01;
  let e23 = a01;
  const nibble = v128.load(LANES + NIBBLE);
  const three = v128.load(LANES + THREE);
  const twelve = v128.load(LANES + TWELVE);
  const offsets = v128.load(LANES + OFFSETS);
  const table = weightLanes();
  const cA = c + <usize>G * gb;
  const cs = <usize>Q * gb; // from one stream to the next
  for (let P = 0; P < K >> 5; P++) {
    const qp = q + (<usize>P << 5);
    const tEven = v128.load(qp);
    const tOdd = v128.load(qp, 16);
    const sigma = v128.load64_splat(sig + f4(2 * P));
    const ch = cA + <usize>P * CHUNK_S24;
    const dA = stepDots(v128.load(ch), v128.load(ch, 16), v128.load(ch, 32), tEven, tOdd, three, offsets, table, nibble, twelve);
    const dB = stepDots(v128.load(ch + cs), v128.load(ch + cs, 16), v128.load(ch + cs, 32), tEven, tOdd, three, offsets, table, nibble, twelve);
    const dC = stepDots(v128.load(ch + 2 * cs), v128.load(ch + 2 * cs, 16), v128.load(ch + 2 * cs, 32), tEven, tOdd, three, offsets, table, nibble, twelve);
    const dE = stepDots(v128.load(ch + 3 * cs), v128.load(ch + 3 * cs, 16), v128.load(ch + 3 * cs, 32), tEven, tOdd, three, offsets, table, nibble, twelve);
    const bA = scaleBitsRows4(ch + 48);
    const bB = scaleBitsRows4(ch + cs + 48);
    const bC = scaleBitsRows4(ch + 2 * cs + 48);
    const bE = scaleBitsRows4(ch + 3 * cs + 48);
    a01 = addHalf(a01, dA, bA, sigma, 0);
    a23 = addHalf(a23, dA, bA, sigma, 1);
    b01 = addHalf(b01, dB, bB, sigma, 0);
    b23 = addHalf(b23, dB, bB, sigma, 1);
    c01 = addHalf(c01, dC, bC, sigma, 0);
    c23 = addHalf(c23, dC, bC, sigma, 1);
    e01 = addHalf(e01, dE, bE, sigma, 0);
    e23 = addHalf(e23, dE, bE, sigma, 1);
  }
  storeGroups4(y, G, Q, a01, a23, b01, b23, c01, c23, e01, e23, g);
}

/** Row n alone (ModelOpt row c, p, s) as a row of a 4-row step: four copies of it, lane 0 stored at y. */
@inline function tailRow(q: usize, sig: usize, c: usize, p: usize, s: usize, K: i32, y: usize, g: f32, tmp: usize): void {
  rows4<u8>(q, sig, c, 0, p, 0, s, 0, K, tmp + 16, g, tmp);
  store<f32>(y, load<f32>(tmp + 16));
}

/** Rows n0..n1 (n0 ≡ 0 mod 4) of y = W · x for one quantised token q (its scratch), times g; L as in rows4 (rows4: w at c, N rows). */
function rowsSimd<L>(q: usize, c: usize, p: usize, s: usize, K: i32, N: i32, y: usize, g: f32, n0: i32, n1: i32): void {
  const sig = q + qBytes(K);
  const tmp = sig + 8 * <usize>((K + 31) >> 5); // 8 bytes of lone-block scales, then 16 of a tail row's four copies
  const cr = <usize>(K >> 2);
  const pr = <usize>(K >> 3);
  const sr = <usize>(K >> 4);
  let n = n0;
  if (sizeof<L>() == 2) {
    const gb = <usize>(K >> 5) * CHUNK_S24;
    const N4 = N & ~3;
    if (n0 == 0 && n1 == N) {
      // the whole matrix (decode): groups G, G + Q, G + 2Q, G + 3Q together
      const Q = N4 >> 4;
      for (let G = 0; G < Q; G++) rows16(q, sig, c, gb, G, Q, K, y, g);
      n = 16 * Q;
    }
    for (; n + 4 <= min(n1, N4); n += 4) rows4<u16>(q, sig, c + <usize>(n >> 2) * gb, 0, 0, 0, 0, 0, K, y + f4(n), g, tmp);
    const tc = c + <usize>(N4 >> 2) * gb; // the last N mod 4 rows, ModelOpt: codes, positions, scales
    const tail = <usize>(N - N4);
    for (; n < n1; n++) tailRow(q, sig, tc + <usize>(n - N4) * cr, tc + tail * cr + <usize>(n - N4) * pr, tc + tail * (cr + pr) + <usize>(n - N4) * sr, K, y + f4(n), g, tmp);
    return;
  }
  for (; n + 4 <= n1; n += 4) rows4<u8>(q, sig, c + <usize>n * cr, cr, p + <usize>n * pr, pr, s + <usize>n * sr, sr, K, y + f4(n), g, tmp);
  for (; n < n1; n++) tailRow(q, sig, c + <usize>n * cr, p + <usize>n * pr, s + <usize>n * sr, K, y + f4(n), g, tmp);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, SIMD: every token quantised (scratch: T · gather_scratch_bytes(K)), then row blocks that stay in L2, token by token. */
function matmulSimd<L>(x: usize, q: usize, c: usize, p: usize, s: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  const qs = <usize>gather_scratch_bytes(K);
  for (let t = 0; t < T; t++) quantizeSimd(x + <usize>t * f4(K), K, q + <usize>t * qs);
  const g = scale2 * 0.5;
  const block = T < 4 ? N : max<i32>(4, rowBlock(<usize>((K >> 2) + (K >> 3) + (K >> 4))) & ~3); // decode: one block, paired streams (rowsSimd)
  for (let n0 = 0; n0 < N; n0 += block) {
    const n1 = min(N, n0 + block);
    for (let t = 0; t < T; t++) rowsSimd<L>(q + <usize>t * qs, c, p, s, K, N, y + <usize>t * f4(N), g, n0, n1);
  }
}

/** One row (codes c, positions p, scales s) against a token's q, σ, scalar (no scale2). */
function rowScalar(q: usize, sig: usize, c: usize, p: usize, s: usize, K: i32): f32 {
  let acc: f32 = 0;
  for (let b = 0; b < K >> 4; b++) {
    let d: i32 = 0;
    for (let j = 0; j < 4; j++) {
      const code = <i32>load<u8>(c + <usize>(4 * b + j));
      const pos = (<i32>load<u8>(p + <usize>(2 * b + (j >> 1))) >> (4 * (j & 1))) & 15;
      const xg = q + <usize>(16 * b + 4 * j);
      d += <i32>load<i8>(xg + <usize>(pos & 3)) * e2m1x2(code & 15);
      d += <i32>load<i8>(xg + <usize>(pos >> 2)) * e2m1x2(code >> 4);
    }
    acc += <f32>d * (e4m3At(s + <usize>b) * load<f32>(sig + f4(b)));
  }
  return acc;
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, scalar twin: token by token, row by row. */
function matmulScalar(x: usize, q: usize, c: usize, p: usize, s: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  const qs = <usize>gather_scratch_bytes(K);
  const g = scale2 * 0.5;
  for (let t = 0; t < T; t++) {
    const qt = q + <usize>t * qs;
    quantizeScalar(x + <usize>t * f4(K), K, qt);
    for (let n = 0; n < N; n++) {
      const acc = rowScalar(qt, qt + qBytes(K), c + <usize>n * <usize>(K >> 2), p + <usize>n * <usize>(K >> 3), s + <usize>n * <usize>(K >> 4), K);
      store<f32>(y + <usize>t * f4(N) + f4(n), acc * g);
    }
  }
}

/**
 * Y(T, N) = X(T, K) · W(N, K)ᵀ for nvfp4-s24 weights, int8 activations gathered per kept weight
 * (scratch: T · gather_scratch_bytes(K)); every token gets exactly the T = 1 result.
 * @example nvfp4s24_matmul_gather(x, scratch, codes, positions, scales, scale2, y, T, K, N);
 */
export function nvfp4s24_matmul_gather(x: usize, scratch: usize, codes: usize, positions: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matmulSimd<u8>(x, scratch, codes, positions, scales, scale2, y, T, K, N);
  else matmulScalar(x, scratch, codes, positions, scales, scale2, y, T, K, N);
}

export function nvfp4s24_matmul_gather_scalar(x: usize, scratch: usize, codes: usize, positions: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  matmulScalar(x, scratch, codes, positions, scales, scale2, y, T, K, N);
}

/**
 * ModelOpt codes (N, K/4), positions (N, K/8) and scales (N, K/16) → the rows4 layout at dst (the
 * same bytes, not overlapping the sources): per group of 4 rows and pair P of blocks a 56-byte chunk
 * [even code bytes | odd code bytes | position bytes | scales], lanes 4r + m as in step 2 and scales
 * [r₀A, r₀B, r₁A, r₁B, …]; then the last N mod 4 rows' codes, positions and scales, ModelOpt. False,
 * with dst untouched, when a scale byte is negative or NaN (≥ 0x7F). Requires rows4_supported(K, N).
 * @example if (nvfp4s24_pack_rows4(codes, positions, scales, dst, K, N)) nvfp4s24_matmul_gather_rows4(x, scratch, dst, scale2, y, T, K, N);
 */
export function nvfp4s24_pack_rows4(codes: usize, positions: usize, scales: usize, dst: usize, K: i32, N: i32): bool {
  const nScales = <usize>N * <usize>(K >> 4);
  for (let i: usize = 0; i < nScales; i++) if (load<u8>(scales + i) >= 0x7f) return false;
  const cr = <usize>(K >> 2);
  const pr = <usize>(K >> 3);
  const sr = <usize>(K >> 4);
  const N4 = N & ~3;
  let o = dst;
  for (let n = 0; n < N4; n += 4) {
    for (let P = 0; P < K >> 5; P++) {
      for (let r = 0; r < 4; r++) {
        const c = codes + <usize>(n + r) * cr + (<usize>P << 3);
        for (let m = 0; m < 4; m++) {
          store<u8>(o + <usize>(4 * r + m), load<u8>(c + <usize>(2 * m)));
          store<u8>(o + <usize>(16 + 4 * r + m), load<u8>(c + <usize>(2 * m + 1)));
        }
        store<u32>(o + <usize>(32 + 4 * r), load<u32>(positions + <usize>(n + r) * pr + (<usize>P << 2)));
        store<u16>(o + <usize>(48 + 2 * r), load<u16>(scales + <usize>(n + r) * sr + (<usize>P << 1)));
      }
      o += CHUNK_S24;
    }
  }
  const tail = <usize>(N - N4);
  memory.copy(o, codes + <usize>N4 * cr, tail * cr);
  memory.copy(o + tail * cr, positions + <usize>N4 * pr, tail * pr);
  memory.copy(o + tail * (cr + pr), scales + <usize>N4 * sr, tail * sr);
  return true;
}

/**
 * nvfp4s24_matmul_gather for a weight in the rows4 layout w (nvfp4s24_pack_rows4; SIMD builds): the
 * same outputs bit for bit.
 * @example nvfp4s24_matmul_gather_rows4(x, scratch, w, scale2, y, T, K, N);
 */
export function nvfp4s24_matmul_gather_rows4(x: usize, scratch: usize, w: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matmulSimd<u16>(x, scratch, w, 0, 0, scale2, y, T, K, N);
  else unreachable();
}
