// spec §14.1, DESIGN §3: the int16-activation linear kernels for 4-bit weights: one matmul for
// decode (T = 1) and prefill. Generic over the format F as in nvfp4_matmul.ts: u8 = nvfp4, the
// backend's kernel in SIMD builds without relaxed SIMD (assembly/backend/linear.ts); u16 =
// nvfp4-s24, a variant of the bench build (bench.ts; the backend's s24 kernel is nvfp4s24_gather.ts).
//   1. x (K, f32) is quantised once per call, per block b of 16:
//      σ_b = max_{k∈b} |x_k| / 32767,  q_k = round(x_k · fl(1/σ_b)) (ties to even), |q_k| ≤ 32767
//      (σ_b = 0 gives q = 0). Scratch: q (K rounded up to 32, i16) then σ (K/16 f32).
//      nvfp4 lays q out per pair of blocks (32 elements, 4 × 8 i16): vector r holds the elements
//      k ≡ r (mod 4), lane j = element 4j + r (j < 4 block A, j ≥ 4 block B); then the low and high
//      nibbles of the 16 code bytes, looked up and split into even / odd bytes of i16 lanes, meet
//      their activations lane by lane. nvfp4-s24 keeps element order (its decoder spreads the
//      kept weights to their positions, fp4_decode.ts).
//   2. Per pair of blocks and row: the 32 weights ×2 as int8 (i8x16.swizzle, exact), widened to
//      i16, i32x4.dot_i16x8_s with q: d = [A, A, B, B] lane partials of the exact integer block
//      dots d_b = Σ_{k∈b} q_k · 2·E2M1_k (|d_b| ≤ 16·32767·12 < 2²⁴, exact in f32).
//   3. Four rows share each pair's activation loads; their d's are transposed into
//      [A₀, B₀, A₁, B₁] and [A₂, B₂, A₃, B₃] (shuffles and adds), converted to f32 and multiplied
//      by the matching f32 block scales E4M3(s_b) · σ_b — the 8 E4M3 bytes are widened in SIMD:
//      bits = sign << 31 | (s & 0x7F) << 20, value = bits · 2¹²⁰ (exact, subnormals included;
//      0x7F / 0xFF → NaN) — and accumulated; y = (acc lane pair sum) · scale2 / 2. A lone last
//      block (K/16 odd) is added per row in scalar; the last N mod 4 rows take the one-row dot.
//   4. Prefill (…_matmul_q16): every token is quantised (T scratch blocks), rows are walked in row
//      blocks that stay in L2 (matmul.ts's rowBlock), and each pair's widened weights serve 4
//      tokens (two [A, B, A′, B′] transposes per 4 tokens, scales [eA, eB, eA, eB] · σ of the
//      tokens); the last T mod 4 tokens (all of them when K/16 is odd) take the matvec rows.
//   5. Weights come in the ModelOpt layout or, nvfp4 only, rows4 (fp4_rows4.ts: a group of 4 rows
//      read as one stream, its 8 scale bytes one load): the same arithmetic, addressed by group
//      strides. A row takes the same f32 operations in the same order in groupsDotQ, rowDotQ and
//      micro4Q, so each token of a prefill equals that token decoded alone, bit for bit (MTP
//      verification, engine/decode/speculative.ts, relies on it).
// Scalar twins (…_scalar): the same quantisation and layout, d_b summed in i32, acc += f32(d_b) ·
//   (E4M3(s_b) · σ_b), y = acc · scale2 / 2, token by token — the same result up to f32
//   summation order.
// Error: activation rounding |x_k − σ_b q_k| ≤ σ_b · (1/2 + 2¹⁶·u) ≤ 0.504·σ_b, then the f32
//   scale product, accumulation and lane sums as in nvfp4_matmul.ts:
//   |ŷ − y| ≤ Σ_b 0.504·σ_b · Σ_{k∈b} |w_k| + (K/16 + 24)·u·Σ_k |x̂_k w_k|   (u = 2⁻²⁴).

import { e2m1x2, e2m1x2Lanes, e4m3At, keptS24, spreadS24 } from './fp4_decode';
import { absMax16, f4 } from './lanes';
import { codeBytes, codeGroup, codePair, codeRow, groupBytes, positionRow, scaleBitsRows4, scaleGroup, scalePair, scaleRow } from './fp4_rows4';
import { rowBlock } from './matmul';

/** Bytes of the quantised x: K rounded up to a pair of blocks (32), as i16. */
@inline function qBytes(K: i32): usize {
  return <usize>((K + 31) & ~31) << 1;
}

/** Bytes of scratch the q16 kernels need per token for K: q (qBytes) then K/16 f32 scales. */
export function q16_scratch_bytes(K: i32): i32 {
  return <i32>qBytes(K) + 4 * (K >> 4);
}

/** i16 index of element k in the quantised x: nvfp4 (F = u8) per-pair mod-4 layout, s24 element order. */
@inline function qIndex<F>(k: i32): i32 {
  if (sizeof<F>() == 2) return k;
  const i = k & 15;
  return (k & ~31) + ((i & 3) << 3) + ((k >> 4) & 1) * 4 + (i >> 2);
}

/** σ = max |x| / levels of the 16 f32 at xp. */
@inline export function blockSigma(xp: usize, levels: f32): f32 {
  return absMax16(v128.load(xp), v128.load(xp, 16), v128.load(xp, 32), v128.load(xp, 48)) / levels;
}

/** Elements 8h … 8h + 7 of the 16 f32 at xp times inv, rounded (ties to even), as saturated i16 lanes. */
@inline export function roundedHalf(xp: usize, inv: v128, h: i32): v128 {
  const lo = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + <usize>(32 * h)), inv)));
  return i16x8.narrow_i32x4_s(lo, i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + <usize>(32 * h), 16), inv))));
}

/** Block b of x (16 f32 at xp) → σ_b (returned) and q, SIMD. */
@inline function quantizeBlockSimd<F>(xp: usize, q: usize, b: i32): f32 {
  const sigma = blockSigma(xp, 32767);
  const inv = f32x4.splat(sigma > 0 ? 1 / sigma : 0);
  const a = roundedHalf(xp, inv, 0);
  const c = roundedHalf(xp, inv, 1);
  if (sizeof<F>() == 2) {
    v128.store(q + (<usize>b << 5), a);
    v128.store(q + (<usize>b << 5), c, 16);
    return sigma;
  }
  // a = elements 0..7, c = 8..15 → lanes r·8 + j (j = element >> 2, + 4 for block B) of the pair
  const r0 = i16x8.shuffle(a, c, 0, 4, 8, 12, 0, 0, 0, 0);
  const r1 = i16x8.shuffle(a, c, 1, 5, 9, 13, 0, 0, 0, 0);
  const r2 = i16x8.shuffle(a, c, 2, 6, 10, 14, 0, 0, 0, 0);
  const r3 = i16x8.shuffle(a, c, 3, 7, 11, 15, 0, 0, 0, 0);
  const qp = q + (<usize>(b >> 1) << 6) + (<usize>(b & 1) << 3);
  v128.store64_lane(qp, r0, 0);
  v128.store64_lane(qp, r1, 0, 16);
  v128.store64_lane(qp, r2, 0, 32);
  v128.store64_lane(qp, r3, 0, 48);
  return sigma;
}

/** Block b of x → σ_b (returned) and q, scalar (the same values as the SIMD quantisation). */
@inline function quantizeBlockScalar<F>(xp: usize, q: usize, b: i32): f32 {
  let amax: f32 = 0;
  for (let k = 0; k < 16; k++) amax = max(amax, abs(load<f32>(xp + f4(k))));
  const sigma: f32 = amax / 32767;
  const inv: f32 = sigma > 0 ? 1 / sigma : 0;
  for (let k = 0; k < 16; k++) {
    const v = min<f32>(32767, max<f32>(-32768, nearest(load<f32>(xp + f4(k)) * inv)));
    store<i16>(q + (<usize>qIndex<F>(16 * b + k) << 1), <i16>(<i32>v));
  }
  return sigma;
}

/** x (K) → scratch: q (F's layout; a lone last nvfp4 block's B lanes 0) then σ (K/16 f32); S = u8 SIMD, u16 scalar. */
@inline function quantize<F, S>(x: usize, K: i32, q: usize): void {
  const nb = K >> 4;
  const sig = q + qBytes(K);
  if (sizeof<F>() == 1 && nb & 1) memory.fill(q + (<usize>(nb >> 1) << 6), 0, 64); // a lone block's pair: B lanes stay 0
  for (let b = 0; b < nb; b++) {
    const xp = x + f4(b << 4);
    if (sizeof<S>() == 1) store<f32>(sig + f4(b), quantizeBlockSimd<F>(xp, q, b));
    else store<f32>(sig + f4(b), quantizeBlockScalar<F>(xp, q, b));
  }
}

/** 2·E2M1 (int8) of the low nibbles of v: bytes 2j, 2j + 1 = elements 4j, 4j + 2 of the pair. */
@inline function lookupLo(v: v128, tbl: v128): v128 {
  return i8x16.swizzle(tbl, v128.and(v, i8x16.splat(0x0f)));
}

/** 2·E2M1 (int8) of the high nibbles of v: elements 4j + 1, 4j + 3. */
@inline function lookupHi(v: v128, tbl: v128): v128 {
  return i8x16.swizzle(tbl, v128.and(i16x8.shr_u(v, 4), i8x16.splat(0x0f)));
}

/** Even bytes of the i16 lanes, sign-extended. */
@inline function evenBytes(v: v128): v128 {
  return i16x8.shr_s(i16x8.shl(v, 8), 8);
}

/** [A, A, B, B] lane partials of a pair from its 4 widened weight vectors w and activation vectors q (F's layouts). */
@inline function dots4<F>(w0: v128, w1: v128, w2: v128, w3: v128, q0: v128, q1: v128, q2: v128, q3: v128): v128 {
  const d01 = i32x4.add(i32x4.dot_i16x8_s(w0, q0), i32x4.dot_i16x8_s(w1, q1));
  const d23 = i32x4.add(i32x4.dot_i16x8_s(w2, q2), i32x4.dot_i16x8_s(w3, q3));
  if (sizeof<F>() == 1) return i32x4.add(d01, d23); // lanes j < 4 are block A
  return i32x4.add(v128.shuffle<i32>(d01, d23, 0, 1, 4, 5), v128.shuffle<i32>(d01, d23, 2, 3, 6, 7)); // d01 = A, d23 = B
}

/** The weights of one pair (blocks A, B; codes at cw, s24 positions at pw) of one row against its activations q0..q3 (the pair's 4 vectors) → [A, A, B, B] (i32 lane partials); a lone last block: its 4 lanes. tbl = the 2·E2M1 table. */
@inline function pairDot<F>(cw: usize, pw: usize, q0: v128, q1: v128, q2: v128, q3: v128, tbl: v128, lone: bool): v128 {
  if (sizeof<F>() == 1) {
    const v = lone ? v128.load64_zero(cw) : v128.load(cw);
    const lo = lookupLo(v, tbl);
    const hi = lookupHi(v, tbl);
    return dots4<F>(evenBytes(lo), evenBytes(hi), i16x8.shr_s(lo, 8), i16x8.shr_s(hi, 8), q0, q1, q2, q3);
  }
  const kept = keptS24(lone ? v128.load32_zero(cw) : v128.load64_zero(cw));
  const wA = spreadS24(kept, pw, 0);
  if (lone) return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(wA), q0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(wA), q1));
  const wB = spreadS24(kept, pw, 1);
  return dots4<F>(i16x8.extend_low_i8x16_s(wA), i16x8.extend_high_i8x16_s(wA), i16x8.extend_low_i8x16_s(wB), i16x8.extend_high_i8x16_s(wB), q0, q1, q2, q3);
}

/** A lone last block (pair P, ModelOpt) of one row (codes c, positions p, scales s): f32(d_b) · E4M3(s_b) · σ_b (no scale2). */
@inline function loneDot<F>(c: usize, p: usize, s: usize, P: i32, qp: usize, sig: usize): f32 {
  const d = pairDot<F>(c + <usize>P * codePair<F>(false), p + (<usize>P << 2), v128.load(qp), v128.load(qp, 16), v128.load(qp, 32), v128.load(qp, 48), e2m1x2Lanes(false), true);
  const sum = (i32x4.extract_lane(d, 0) + i32x4.extract_lane(d, 1)) + (i32x4.extract_lane(d, 2) + i32x4.extract_lane(d, 3));
  return <f32>sum * (e4m3At(s + <usize>(2 * P)) * load<f32>(sig + f4(2 * P)));
}

/** The 8 E4M3 bytes of blocks A, B of rows 0..3 (at s + r·sr; one 8-byte load when sr = 2, rows4) as the high halves of their f32 bits, times 2⁻¹²⁰, in i16 lanes. */
@inline export function scaleBits8(s: usize, sr: usize): v128 {
  let v: v128;
  if (sr == 2) v = v128.load64_zero(s);
  else {
    v = v128.load16_splat(s);
    v = v128.load16_lane(s + sr, v, 1);
    v = v128.load16_lane(s + 2 * sr, v, 2);
    v = v128.load16_lane(s + 3 * sr, v, 3);
  }
  const b = i16x8.extend_low_i8x16_u(v);
  const mag = v128.and(b, i16x8.splat(0x7f));
  const h = v128.or(i16x8.shl(mag, 4), i16x8.shl(v128.and(b, i16x8.splat(0x80)), 8));
  return v128.or(h, i16x8.eq(mag, i16x8.splat(0x7f))); // 0x7F / 0xFF → 0xFFFF, a NaN
}

/** 2¹²⁰: E4M3 bits placed as scaleBits8 places them read as f32 are the value times 2⁻¹²⁰ (exact, subnormals included). */
export const E4M3_UNBIAS: f32 = 1.329227995784916e36;

/** Rows 2h, 2h + 1 of scaleBits8 as f32 [E(A), E(B), E(A′), E(B′)] · 2⁻¹²⁰. */
@inline export function scaleHalfBits(bits: v128, h: i32): v128 {
  // widened by extend and shift: V8 lowers the equivalent two-input i16x8.shuffle with zero to ~10 x64 instructions
  return i32x4.shl(h == 0 ? i32x4.extend_low_i16x8_u(bits) : i32x4.extend_high_i16x8_u(bits), 16);
}

/** Rows 2h, 2h + 1 of scaleBits8 as f32 [E(A), E(B), E(A′), E(B′)] times σ = [σA, σB, σA, σB]. */
@inline export function scaleHalf(bits: v128, h: i32, sigma: v128): v128 {
  return f32x4.mul(f32x4.mul(scaleHalfBits(bits, h), f32x4.splat(E4M3_UNBIAS)), sigma);
}

/** acc + f32([A, B, A′, B′]) · scales, from two rows' [A, A, B, B] partials d, d′. */
@inline export function addRows(acc: v128, d0: v128, d1: v128, scales: v128): v128 {
  const t = i32x4.add(v128.shuffle<i32>(d0, d1, 0, 2, 4, 6), v128.shuffle<i32>(d0, d1, 1, 3, 5, 7));
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(t), scales));
}

/** acc + rows 2h, 2h + 1 of a group's pair (row r: codes cw + r·cr, positions pw + r·pr): addRows of their pair dots with scaleHalf(bits, h, σ). */
@inline function halfStepQ<F>(acc: v128, cw: usize, cr: usize, pw: usize, pr: usize, h: i32, q0: v128, q1: v128, q2: v128, q3: v128, bits: v128, sigma: v128, tbl: v128): v128 {
  const d0 = pairDot<F>(cw + <usize>(2 * h) * cr, pw + <usize>(2 * h) * pr, q0, q1, q2, q3, tbl, false);
  const d1 = pairDot<F>(cw + <usize>(2 * h + 1) * cr, pw + <usize>(2 * h + 1) * pr, q0, q1, q2, q3, tbl, false);
  return addRows(acc, d0, d1, scaleHalf(bits, h, sigma));
}

/** The 8 scale bits of a group's pair (rows 0..3 at s + r·sr): scaleBits8, or one shift for a rows4 chunk (fp4_rows4.ts scaleBitsRows4). */
@inline export function groupScaleBits(s: usize, sr: usize, rows4: bool): v128 {
  return rows4 ? scaleBitsRows4(s) : scaleBits8(s, sr);
}

/**
 * `streams` (1 or 4) groups of 4 rows, the groups G + j·Q of the weight at c, p, s (addressed as
 * fp4_rows4.ts says for `rows4`), against a token's q (σ after it) → their outputs at
 * y[4(G + j·Q) …], times g. Decode takes four groups a quarter of the matrix apart (K/16 even):
 * they share each pair's token loads, and four sequential weight streams are served faster by the
 * hardware prefetchers than one. Each group's operations are those of one stream, so a row gets
 * the same bits either way; one stream also takes a lone last block (K/16 odd).
 */
@inline function groupsDotQ<F>(q: usize, c: usize, p: usize, s: usize, G: i32, Q: i32, K: i32, y: usize, g: f32, rows4: bool, streams: i32): void {
  let a01 = f32x4.splat(0);
  let a23 = a01;
  let b01 = a01;
  let b23 = a01;
  let c01 = a01;
  let c23 = a01;
  let e01 = a01;
  let e23 = a01;
  const nb = K >> 4;
  const np = nb >> 1;
  const tbl = e2m1x2Lanes(false);
  const sig = q + qBytes(K);
  const cr = codeRow<F>(K, rows4);
  const cp = codePair<F>(rows4);
  const pr = positionRow<F>(K);
  const sr = scaleRow(K, rows4);
  const sp = scalePair(rows4);
  const cA = c + <usize>G * codeGroup<F>(K, rows4);
  const sA = s + <usize>G * scaleGroup(K, rows4);
  const pA = p + <usize>(4 * G) * pr;
  const cs = <usize>Q * codeGroup<F>(K, rows4); // from one stream to the next
  const ss = <usize>Q * scaleGroup(K, rows4);
  const ps = <usize>(4 * Q) * pr;
  for (let P = 0; P < np; P++) {
    const qp = q + (<usize>P << 6);
    const q0 = v128.load(qp);
    const q1 = v128.load(qp, 16);
    const q2 = v128.load(qp, 32);
    const q3 = v128.load(qp, 48);
    const sigma = v128.load64_splat(sig + f4(2 * P)); // [σA, σB, σA, σB]
    const co = cA + <usize>P * cp;
    const so = sA + <usize>P * sp;
    const po = pA + (<usize>P << 2);
    const bA = groupScaleBits(so, sr, rows4);
    const bB = streams == 4 ? groupScaleBits(so + ss, sr, rows4) : bA;
    const bC = streams == 4 ? groupScaleBits(so + 2 * ss, sr, rows4) : bA;
    const bE = streams == 4 ? groupScaleBits(so + 3 * ss, sr, rows4) : bA;
    a01 = halfStepQ<F>(a01, co, cr, po, pr, 0, q0, q1, q2, q3, bA, sigma, tbl);
    a23 = halfStepQ<F>(a23, co, cr, po, pr, 1, q0, q1, q2, q3, bA, sigma, tbl);
    if (streams == 4) {
      b01 = halfStepQ<F>(b01, co + cs, cr, po + ps, pr, 0, q0, q1, q2, q3, bB, sigma, tbl);
      b23 = halfStepQ<F>(b23, co + cs, cr, po + ps, pr, 1, q0, q1, q2, q3, bB, sigma, tbl);
      c01 = halfStepQ<F>(c01, co + 2 * cs, cr, po + 2 * ps, pr, 0, q0, q1, q2, q3, bC, sigma, tbl);
      c23 = halfStepQ<F>(c23, co + 2 * cs, cr, po + 2 * ps, pr, 1, q0, q1, q2, q3, bC, sigma, tbl);
      e01 = halfStepQ<F>(e01, co + 3 * cs, cr, po + 3 * ps, pr, 0, q0, q1, q2, q3, bE, sigma, tbl);
      e23 = halfStepQ<F>(e23, co + 3 * cs, cr, po + 3 * ps, pr, 1, q0, q1, q2, q3, bE, sigma, tbl);
    }
  }
  if (streams == 4) storeGroups4(y, G, Q, a01, a23, b01, b23, c01, c23, e01, e23, g);
  else if (nb & 1) {
    const qp = q + (<usize>np << 6);
    const l01 = f32x4.replace_lane(f32x4.splat(loneDot<F>(cA, pA, sA, np, qp, sig)), 2, loneDot<F>(cA + cr, pA + pr, sA + sr, np, qp, sig));
    const l23 = f32x4.replace_lane(f32x4.splat(loneDot<F>(cA + 2 * cr, pA + 2 * pr, sA + 2 * sr, np, qp, sig)), 2, loneDot<F>(cA + 3 * cr, pA + 3 * pr, sA + 3 * sr, np, qp, sig));
    storeRows4(y + f4(4 * G), a01, a23, l01, l23, g);
  } else storeRows4(y + f4(4 * G), a01, a23, f32x4.splat(0), f32x4.splat(0), g);
}

/** y[0..3] = ([A₀, B₀, A₁, B₁] pair sums of a01, a23 + the lone blocks in lanes 0 and 2 of l01, l23) · g. */
@inline export function storeRows4(y: usize, a01: v128, a23: v128, l01: v128, l23: v128, g: f32): void {
  store<f32>(y, (f32x4.extract_lane(a01, 0) + f32x4.extract_lane(a01, 1) + f32x4.extract_lane(l01, 0)) * g);
  store<f32>(y, (f32x4.extract_lane(a01, 2) + f32x4.extract_lane(a01, 3) + f32x4.extract_lane(l01, 2)) * g, 4);
  store<f32>(y, (f32x4.extract_lane(a23, 0) + f32x4.extract_lane(a23, 1) + f32x4.extract_lane(l23, 0)) * g, 8);
  store<f32>(y, (f32x4.extract_lane(a23, 2) + f32x4.extract_lane(a23, 3) + f32x4.extract_lane(l23, 2)) * g, 12);
}

/** The 16 outputs of a four-stream decode pass (groups G + j·Q, j = 0..3; each group's [A₀, B₀, A₁, B₁], [A₂, B₂, A₃, B₃] accumulators as storeRows4 takes them) at y[4(G + jQ) …], times g. */
@inline export function storeGroups4(y: usize, G: i32, Q: i32, a01: v128, a23: v128, b01: v128, b23: v128, c01: v128, c23: v128, e01: v128, e23: v128, g: f32): void {
  const z = f32x4.splat(0);
  storeRows4(y + f4(4 * G), a01, a23, z, z, g);
  storeRows4(y + f4(4 * (G + Q)), b01, b23, z, z, g);
  storeRows4(y + f4(4 * (G + 2 * Q)), c01, c23, z, z, g);
  storeRows4(y + f4(4 * (G + 3 * Q)), e01, e23, z, z, g);
}

/** One row (pair P: codes c + P·cp, positions p + 4P, scales s + P·sp; `rows4`'s strides) against a token's q (σ after it; no scale2): the same f32 operations, in the same order, as a row of groupsDotQ or micro4Q. */
@inline function rowDotQ<F>(q: usize, c: usize, p: usize, s: usize, K: i32, rows4: bool): f32 {
  let acc = f32x4.splat(0);
  const nb = K >> 4;
  const np = nb >> 1;
  const tbl = e2m1x2Lanes(false);
  const sig = q + qBytes(K);
  const cp = codePair<F>(rows4);
  const sp = scalePair(rows4);
  for (let P = 0; P < np; P++) {
    const qp = q + (<usize>P << 6);
    const d = pairDot<F>(c + <usize>P * cp, p + (<usize>P << 2), v128.load(qp), v128.load(qp, 16), v128.load(qp, 32), v128.load(qp, 48), tbl, false);
    const t = i32x4.add(v128.shuffle<i32>(d, d, 0, 2, 0, 2), v128.shuffle<i32>(d, d, 1, 3, 1, 3)); // [A, B, A, B]
    const sw = s + <usize>P * sp;
    const eB = e4m3At(sw + 1);
    const e = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(e4m3At(sw)), 1, eB), 3, eB); // [eA, eB, eA, eB]
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(t), f32x4.mul(e, v128.load64_splat(sig + f4(2 * P)))));
  }
  const sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1);
  return nb & 1 ? sum + loneDot<F>(c, p, s, np, q + (<usize>np << 6), sig) : sum;
}

/** Address of row n's data in a layout whose groups of 4 rows are g bytes apart and whose rows within a group are r bytes apart (ModelOpt: g = 4·r, so base + n·r). */
@inline function rowAt(base: usize, n: i32, r: usize, g: usize): usize {
  return base + <usize>(n >> 2) * g + <usize>(n & 3) * r;
}

/** acc + f32([A_t, B_t, A_t′, B_t′]) · ([eA, eB, eA, eB] · [σA_t, σB_t, σA_t′, σB_t′]) for two tokens' [A, A, B, B] partials. */
@inline function addTokens(acc: v128, d0: v128, d1: v128, e: v128, sig0: usize, sig1: usize): v128 {
  const t = i32x4.add(v128.shuffle<i32>(d0, d1, 0, 2, 4, 6), v128.shuffle<i32>(d0, d1, 1, 3, 5, 7));
  const sigma = v128.load64_lane(sig1, v128.load64_zero(sig0), 1);
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(t), f32x4.mul(e, sigma)));
}

/** One row (pair P: codes c + P·cp, positions p + 4P, scales s + P·sp; `rows4`'s strides) against 4 quantised tokens (q, q + qs, …; each σ after its q) → y[t·ys], times g; K/16 even. */
@inline function micro4Q<F>(q: usize, qs: usize, c: usize, p: usize, s: usize, K: i32, y: usize, ys: usize, g: f32, rows4: bool): void {
  let a01 = f32x4.splat(0);
  let a23 = a01;
  const np = K >> 5;
  const tbl = e2m1x2Lanes(false);
  const sg = qBytes(K);
  const cp = codePair<F>(rows4);
  const sp = scalePair(rows4);
  for (let P = 0; P < np; P++) {
    let w0: v128, w1: v128, w2: v128, w3: v128;
    const cw = c + <usize>P * cp;
    if (sizeof<F>() == 1) {
      const v = v128.load(cw);
      const lo = lookupLo(v, tbl);
      const hi = lookupHi(v, tbl);
      w0 = evenBytes(lo);
      w1 = evenBytes(hi);
      w2 = i16x8.shr_s(lo, 8);
      w3 = i16x8.shr_s(hi, 8);
    } else {
      const kept = keptS24(v128.load64_zero(cw));
      const wA = spreadS24(kept, p + (<usize>P << 2), 0);
      const wB = spreadS24(kept, p + (<usize>P << 2), 1);
      w0 = i16x8.extend_low_i8x16_s(wA);
      w1 = i16x8.extend_high_i8x16_s(wA);
      w2 = i16x8.extend_low_i8x16_s(wB);
      w3 = i16x8.extend_high_i8x16_s(wB);
    }
    const so = s + <usize>P * sp;
    const eB = e4m3At(so + 1);
    const e = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(e4m3At(so)), 1, eB), 3, eB); // [eA, eB, eA, eB]
    const qp = q + (<usize>P << 6);
    const d0 = dots4<F>(w0, w1, w2, w3, v128.load(qp), v128.load(qp, 16), v128.load(qp, 32), v128.load(qp, 48));
    const d1 = dots4<F>(w0, w1, w2, w3, v128.load(qp + qs), v128.load(qp + qs, 16), v128.load(qp + qs, 32), v128.load(qp + qs, 48));
    const d2 = dots4<F>(w0, w1, w2, w3, v128.load(qp + 2 * qs), v128.load(qp + 2 * qs, 16), v128.load(qp + 2 * qs, 32), v128.load(qp + 2 * qs, 48));
    const d3 = dots4<F>(w0, w1, w2, w3, v128.load(qp + 3 * qs), v128.load(qp + 3 * qs, 16), v128.load(qp + 3 * qs, 32), v128.load(qp + 3 * qs, 48));
    const sq = q + sg + f4(2 * P);
    a01 = addTokens(a01, d0, d1, e, sq, sq + qs);
    a23 = addTokens(a23, d2, d3, e, sq + 2 * qs, sq + 3 * qs);
  }
  store<f32>(y, (f32x4.extract_lane(a01, 0) + f32x4.extract_lane(a01, 1)) * g);
  store<f32>(y + ys, (f32x4.extract_lane(a01, 2) + f32x4.extract_lane(a01, 3)) * g);
  store<f32>(y + 2 * ys, (f32x4.extract_lane(a23, 0) + f32x4.extract_lane(a23, 1)) * g);
  store<f32>(y + 3 * ys, (f32x4.extract_lane(a23, 2) + f32x4.extract_lane(a23, 3)) * g);
}

/**
 * Y[t, n] (row stride ys bytes) for rows n < N of the weight at codes c, s24 positions p, scales s,
 * in ModelOpt or (`rows4`) the rows4 layout (fp4_rows4.ts: row r of group G at c + G·cg + r·cr, …),
 * T tokens quantised at q (stride qs). Row blocks that stay in L2 (matmul.ts's rowBlock, whole
 * groups of 4); in each, 4 tokens per decoded pair (K/16 even; else, and for the last T mod 4
 * tokens, each token's rows 4 at a time, then one at a time).
 */
@inline function rowsQ16<F>(q: usize, qs: usize, T: i32, K: i32, N: i32, c: usize, p: usize, s: usize, y: usize, ys: usize, g: f32, rows4: bool): void {
  if (T < 4 && !((K >> 4) & 1)) return decodeRowsQ16<F>(q, qs, T, K, N, c, p, s, y, ys, g, rows4);
  const cr = codeRow<F>(K, rows4);
  const cg = codeGroup<F>(K, rows4);
  const pr = positionRow<F>(K);
  const sr = scaleRow(K, rows4);
  const sg = scaleGroup(K, rows4);
  const T4 = (K >> 4) & 1 ? 0 : T & ~3;
  const block = max<i32>(4, rowBlock(<usize>(K >> 4) * codeBytes<F>() + pr + <usize>(K >> 4)) & ~3);
  for (let n0 = 0; n0 < N; n0 += block) {
    const n1 = min(N, n0 + block);
    for (let t = 0; t < T4; t += 4) {
      const qt = q + <usize>t * qs;
      for (let n = n0; n < n1; n++) micro4Q<F>(qt, qs, rowAt(c, n, cr, cg), p + <usize>n * pr, rowAt(s, n, sr, sg), K, y + <usize>t * ys + f4(n), ys, g, rows4);
    }
    for (let t = T4; t < T; t++) {
      const qt = q + <usize>t * qs;
      const yt = y + <usize>t * ys;
      let n = n0;
      for (; n + 4 <= n1; n += 4) groupsDotQ<F>(qt, rowAt(c, n, cr, cg), p + <usize>n * pr, rowAt(s, n, sr, sg), 0, 0, K, yt + f4(n), g, rows4, 1);
      for (; n < n1; n++) store<f32>(yt + f4(n), rowDotQ<F>(qt, rowAt(c, n, cr, cg), p + <usize>n * pr, rowAt(s, n, sr, sg), K, rows4) * g);
    }
  }
}

/** rowsQ16 for T < 4 and K/16 even (decode, short verification passes), token by token: groups G, G + Q, G + 2Q, G + 3Q together (groupsDotQ, four streams; Q = M/4), the last M mod 4 groups alone, then the last N mod 4 rows one at a time. */
@inline function decodeRowsQ16<F>(q: usize, qs: usize, T: i32, K: i32, N: i32, c: usize, p: usize, s: usize, y: usize, ys: usize, g: f32, rows4: bool): void {
  const cr = codeRow<F>(K, rows4);
  const cg = codeGroup<F>(K, rows4);
  const pr = positionRow<F>(K);
  const sr = scaleRow(K, rows4);
  const sg = scaleGroup(K, rows4);
  const M = N >> 2;
  const Q = M >> 2;
  for (let t = 0; t < T; t++) {
    const qt = q + <usize>t * qs;
    const yt = y + <usize>t * ys;
    for (let G = 0; G < Q; G++) groupsDotQ<F>(qt, c, p, s, G, Q, K, yt, g, rows4, 4);
    for (let G = 4 * Q; G < M; G++) groupsDotQ<F>(qt, c, p, s, G, 0, K, yt, g, rows4, 1);
    for (let n = 4 * M; n < N; n++) store<f32>(yt + f4(n), rowDotQ<F>(qt, rowAt(c, n, cr, cg), p + <usize>n * pr, rowAt(s, n, sr, sg), K, rows4) * g);
  }
}

/** Every token of X (T, K) quantised into q (stride q16_scratch_bytes(K)), SIMD. */
function quantizeTokens<F>(x: usize, q: usize, T: i32, K: i32): void {
  const qs = <usize>q16_scratch_bytes(K);
  for (let t = 0; t < T; t++) quantize<F, u8>(x + <usize>t * f4(K), K, q + <usize>t * qs);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, SIMD, weights in ModelOpt layout (scratch: T · q16_scratch_bytes(K)). */
function matmulQ16Simd<F>(x: usize, q: usize, c: usize, p: usize, s: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  quantizeTokens<F>(x, q, T, K);
  rowsQ16<F>(q, q16_scratch_bytes(K), T, K, N, c, p, s, y, f4(N), scale2 * 0.5, false);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, SIMD, nvfp4 weights in rows4 layout at w (fp4_rows4.ts). */
function matmulQ16Rows4(x: usize, q: usize, w: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  quantizeTokens<u8>(x, q, T, K);
  const qs = <usize>q16_scratch_bytes(K);
  const g = scale2 * 0.5;
  const N4 = N & ~3;
  rowsQ16<u8>(q, qs, T, K, N4, w, 0, w + 64, y, f4(N), g, true);
  if (N4 == N) return;
  const tc = w + <usize>(N4 >> 2) * groupBytes(K); // the last N mod 4 rows, ModelOpt: codes, then scales
  rowsQ16<u8>(q, qs, T, K, N - N4, tc, 0, tc + <usize>(N - N4) * codeRow<u8>(K, false), y + f4(N4), f4(N), g, false);
}

/** 2·E2M1 of element i of block b of a row (codes c, positions p; 0 where s24 pruned it). */
@inline function weightX2<F>(c: usize, p: usize, b: i32, i: i32): i32 {
  if (sizeof<F>() == 1) {
    const byte = <i32>load<u8>(c + (<usize>b << 3) + <usize>(i >> 1));
    return e2m1x2((byte >> (4 * (i & 1))) & 15);
  }
  const g = i >> 2;
  const pos = (<i32>load<u8>(p + (<usize>b << 1) + <usize>(g >> 1)) >> (4 * (g & 1))) & 15;
  const byte = <i32>load<u8>(c + (<usize>b << 2) + <usize>g);
  const j = i & 3;
  if (j == (pos & 3)) return e2m1x2(byte & 15);
  return j == pos >> 2 ? e2m1x2(byte >> 4) : 0;
}

function matvecQ16Scalar<F>(x: usize, q: usize, c: usize, p: usize, s: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  quantize<F, u16>(x, K, q);
  const sig = q + qBytes(K);
  const nb = K >> 4;
  const g = scale2 * 0.5;
  for (let n = 0; n < N; n++) {
    const cn = c + <usize>n * <usize>(K >> 4) * codeBytes<F>();
    const pn = p + (sizeof<F>() == 1 ? 0 : <usize>n * <usize>(K >> 3));
    const sn = s + <usize>n * <usize>nb;
    let acc: f32 = 0;
    for (let b = 0; b < nb; b++) {
      let d: i32 = 0;
      for (let i = 0; i < 16; i++) d += <i32>load<i16>(q + (<usize>qIndex<F>(16 * b + i) << 1)) * weightX2<F>(cn, pn, b, i);
      acc += <f32>d * (e4m3At(sn + b) * load<f32>(sig + f4(b)));
    }
    store<f32>(y + f4(n), acc * g);
  }
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, scalar: each token as matvecQ16Scalar (its own scratch). */
function matmulQ16Scalar<F>(x: usize, q: usize, c: usize, p: usize, s: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  const qs = <usize>q16_scratch_bytes(K);
  for (let t = 0; t < T; t++) matvecQ16Scalar<F>(x + <usize>t * f4(K), q + <usize>t * qs, c, p, s, scale2, y + <usize>t * f4(N), K, N);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, nvfp4 weights, int16 activations (scratch: T · q16_scratch_bytes(K)). */
export function nvfp4_matmul_q16(x: usize, scratch: usize, codes: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matmulQ16Simd<u8>(x, scratch, codes, 0, scales, scale2, y, T, K, N);
  else matmulQ16Scalar<u8>(x, scratch, codes, 0, scales, scale2, y, T, K, N);
}

export function nvfp4_matmul_q16_scalar(x: usize, scratch: usize, codes: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  matmulQ16Scalar<u8>(x, scratch, codes, 0, scales, scale2, y, T, K, N);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, nvfp4 weights in rows4 layout (fp4_rows4.ts), int16 activations (scratch: T · q16_scratch_bytes(K)); SIMD builds only. */
export function nvfp4_matmul_q16_rows4(x: usize, scratch: usize, w: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matmulQ16Rows4(x, scratch, w, scale2, y, T, K, N);
  else unreachable();
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, nvfp4-s24 weights, int16 activations (scratch: T · q16_scratch_bytes(K)). */
export function nvfp4s24_matmul_q16(x: usize, scratch: usize, codes: usize, positions: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) matmulQ16Simd<u16>(x, scratch, codes, positions, scales, scale2, y, T, K, N);
  else matmulQ16Scalar<u16>(x, scratch, codes, positions, scales, scale2, y, T, K, N);
}

export function nvfp4s24_matmul_q16_scalar(x: usize, scratch: usize, codes: usize, positions: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  matmulQ16Scalar<u16>(x, scratch, codes, positions, scales, scale2, y, T, K, N);
}
