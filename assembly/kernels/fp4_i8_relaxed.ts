// spec §14.1, DESIGN §3: the int8-activation nvfp4 linear, matvec (decode) and matmul (prefill), of
// the relaxed-SIMD build (build/edgetron-relaxed.wasm, --enable relaxed-simd), used by
// assembly/backend/linear.ts there for every T.
//   1. x (K, f32) is quantised per block b of 16:
//      σ_b = max_{k∈b} |x_k| / 127,  q_k = round(x_k · fl(1/σ_b)) (ties to even), |q_k| ≤ 127
//      (σ_b = 0 gives q = 0). Scratch (i8_scratch_bytes): per pair P of blocks (32 elements)
//      16 bytes qlo (byte i = element 2i) then 16 bytes qhi (element 2i + 1) — the order of the
//      low and high nibbles of the pair's 16 code bytes; then per pair the i32x4 −12·[ΣA, ΣB, ΣA,
//      ΣB] of the q of its blocks A = 2P, B = 2P + 1; then σ (K/16 f32).
//      A lone last block leaves its pair's B half 0.
//   2. Weights: 2·E2M1 + 12 ∈ [0, 24] (i8x16.relaxed_swizzle of the 16-entry table, indices < 16),
//      so the second operand of i16x8.relaxed_dot_i8x16_i7x16_s stays in [0, 127], where the
//      relaxed dot is deterministic on every engine (no i16 saturation: 2·127·24 < 2¹⁵). Per pair
//      and row dot(qlo, wlo) + dot(qhi, whi) = i16 partials [A×4, B×4] (|·| ≤ 4·127·24); two rows'
//      partials are interleaved by i32 halves (two shufps), added as i16 (|·| ≤ 8·127·24 < 2¹⁵)
//      and widened once into [A, B, A′, B′], then −12·Σq is added: the exact block dots
//      d_b = Σ_{k∈b} q_k · 2·E2M1_k (|d_b| ≤ 16·127·12, exact in f32). Not i32x4.relaxed_dot_i8x16_i7x16_add_s: Node 20's V8 (11.3, behind its
//      flag) ignores the accumulator and doubles the dot. The high nibble is i16x8.shr_u + and:
//      V8 lowers i8x16.shr_u to several x64 instructions.
//   3. As fp4_q16_matvec.ts: four rows share each pair's loads; acc = fma(f32(d_b), E4M3(s_b) · σ_b,
//      acc) (f32x4.relaxed_madd: fused where the CPU has FMA, else a product and a sum — the same
//      choice for every path of one engine, so decode and prefill still agree bit for bit),
//      y = acc · scale2 / 2; a lone last block per row in its own step; the last N mod 4 rows one
//      at a time. The matvec is the matmul with T = 1. Decode takes E4M3(s_b) · σ_b as one product
//      of the scale bits (E·2⁻¹²⁰, exact) and σ_b·2¹²⁰ (one product per pair, shared by all rows)
//      when every σ_b of the token is below 2⁷ (so σ_b·2¹²⁰ is finite): the exact E·σ rounded once,
//      the same f32 as (E·2⁻¹²⁰·2¹²⁰)·σ. rows4 scale bytes reach their f32 bits by one swizzle and
//      one shift per two rows.
//   Prefill (T > 1): every token quantised (T scratch blocks), rows walked in blocks that stay in
//      L2; for rows in whole groups of 4, one row's decoded pair serves 4 tokens (micro4R: the same
//      integers, the same products E·σ and the same f32 sums per row as the 4-row step), the last
//      T mod 4 tokens take the 4-row step, the last N mod 4 rows the one-row step — so every
//      token's output is bit-identical to its decode alone (speculative verification relies on it).
//   4. Weights in the ModelOpt layout (nvfp4_matmul_i8) or rows4 (nvfp4_matmul_i8_rows4,
//      fp4_rows4.ts: 4 rows and their 8 scale bytes per pair in one 72-byte chunk, one stream): the
//      same arithmetic addressed by group strides, the same outputs bit for bit.
// Scalar twin (nvfp4_matmul_i8_scalar, and nvfp4_matmul_i8 in builds without relaxed SIMD): the
//   same quantisation, d_b summed in i32, acc += f32(d_b) · (E4M3(s_b) · σ_b), y = acc · scale2 / 2
//   (unfused: the same result up to the rounding of the accumulation).
// Error: |x_k − σ_b q_k| ≤ σ_b · (1/2 + 2⁸·u) ≤ 0.504·σ_b, then the f32 products and sums:
//   |ŷ − y| ≤ Σ_b 0.504·σ_b · Σ_{k∈b} |w_k| + (K/16 + 24)·u·Σ_k |x̂_k w_k|   (u = 2⁻²⁴).

import { e2m1x2, e2m1x2Lanes, e4m3At } from './fp4_decode';
import { codeGroup, codePair, codeRow, groupBytes, scaleGroup, scalePair, scaleRow } from './fp4_rows4';
import { blockSigma, E4M3_UNBIAS, groupScaleBits, roundedHalf, scaleHalf, scaleHalfBits, storeRows4 } from './fp4_q16_matvec';
import { f4 } from './lanes';
import { rowBlock } from './matmul';

/** Bytes of the quantised x: K rounded up to a pair of blocks (32), as i8. */
@inline function qBytes(K: i32): usize {
  return <usize>((K + 31) & ~31);
}

/** Bytes of scratch the i8 matvec needs for K: q (qBytes), −12·Σq per pair (i32x4), σ (K/16 f32). */
export function i8_scratch_bytes(K: i32): i32 {
  return <i32>(qBytes(K) + (qBytes(K) >> 1)) + 4 * (K >> 4);
}

/** Whether this is the relaxed-SIMD build (its nvfp4_matmul_i8 is the fast one). */
export function relaxed_simd(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}

/** Byte offset of element k (< K) in q: pair, then lo / hi by parity, then element / 2. */
@inline function qOffset(k: i32): usize {
  return <usize>((k & ~31) + ((k & 1) << 4) + ((k & 31) >> 1));
}

/** x → q, σ, scalar; returns the σ address. */
function quantizeScalar(x: usize, K: i32, q: usize): usize {
  const nb = K >> 4;
  const sig = q + qBytes(K) + (qBytes(K) >> 1);
  memory.fill(q, 0, qBytes(K));
  for (let b = 0; b < nb; b++) {
    let amax: f32 = 0;
    for (let i = 0; i < 16; i++) amax = max(amax, abs(load<f32>(x + f4(16 * b + i))));
    const sigma: f32 = amax / 127;
    const inv: f32 = sigma > 0 ? 1 / sigma : 0;
    store<f32>(sig + f4(b), sigma);
    for (let i = 0; i < 16; i++) store<i8>(q + qOffset(16 * b + i), <i8>(<i32>nearest(load<f32>(x + f4(16 * b + i)) * inv)));
  }
  return sig;
}

/** x → q, −12·Σq, σ with SIMD (the same q and σ as quantizeScalar); returns the σ address. */
function quantizeSimd(x: usize, K: i32, q: usize): usize {
  const nb = K >> 4;
  const np = (nb + 1) >> 1;
  const corr = q + qBytes(K);
  const sig = corr + (qBytes(K) >> 1);
  if (nb & 1) memory.fill(q + (<usize>(nb >> 1) << 5), 0, 32); // a lone block's pair: B half stays 0
  for (let b = 0; b < nb; b++) {
    const xp = x + f4(b << 4);
    const sigma = blockSigma(xp, 127);
    store<f32>(sig + f4(b), sigma);
    const inv = f32x4.splat(sigma > 0 ? 1 / sigma : 0);
    const e = i8x16.narrow_i16x8_s(roundedHalf(xp, inv, 0), roundedHalf(xp, inv, 1)); // elements 0..15 of the block
    const qp = q + (<usize>(b >> 1) << 5) + (<usize>(b & 1) << 3);
    v128.store64_lane(qp, i8x16.shuffle(e, e, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0), 0);
    v128.store64_lane(qp, i8x16.shuffle(e, e, 1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0), 0, 16);
  }
  for (let P = 0; P < np; P++) {
    const qp = q + (<usize>P << 5);
    const t = i16x8.add(i16x8.extadd_pairwise_i8x16_s(v128.load(qp)), i16x8.extadd_pairwise_i8x16_s(v128.load(qp, 16)));
    const h = i32x4.extadd_pairwise_i16x8_s(t); // [A, A, B, B] halves of Σq, |·| ≤ 8·127
    const sum = i32x4.add(v128.shuffle<i32>(h, h, 0, 2, 0, 2), v128.shuffle<i32>(h, h, 1, 3, 1, 3));
    v128.store(corr + (<usize>P << 4), i32x4.mul(sum, i32x4.splat(-12))); // [ΣA, ΣB, ΣA, ΣB] · −12
  }
  return sig;
}

/** i16 partials [A, A, A, A, B, B, B, B] of Σ q_k · (2·E2M1_k + 12) of one row's pair: its 16 code bytes v against qlo, qh (|·| ≤ 4·127·24). */
@inline function pairDotR(v: v128, ql: v128, qh: v128, tbl: v128): v128 {
  const m = i8x16.splat(0x0f);
  const lo = i8x16.relaxed_swizzle(tbl, v128.and(v, m));
  const hi = i8x16.relaxed_swizzle(tbl, v128.and(i16x8.shr_u(v, 4), m)); // not i8x16.shr_u: several x64 instructions in V8
  return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(ql, lo), i16x8.relaxed_dot_i8x16_i7x16_s(qh, hi));
}

/**
 * acc + f32([A, B, A′, B′] + n) · scales, from two rows' i16 partials d, d′ (pairDotR) and the
 * −12·Σq correction n = [cA, cB, cA′, cB′]: the i32 halves of A and B of both rows side by side
 * (two shufps), added as i16 (|·| ≤ 8·127·24 < 2¹⁵) and widened once for both rows.
 */
@inline function addPairs(acc: v128, d0: v128, d1: v128, n: v128, scales: v128): v128 {
  const h = i16x8.add(v128.shuffle<i32>(d0, d1, 0, 2, 4, 6), v128.shuffle<i32>(d0, d1, 1, 3, 5, 7));
  const t = i32x4.add(i32x4.extadd_pairwise_i16x8_s(h), n);
  return f32x4.relaxed_madd(f32x4.convert_i32x4_s(t), scales, acc);
}

/** A lone last block (pair P) of one row: f32(d_b) · E4M3(s_b) · σ_b (no scale2). */
@inline function loneDotR(c: usize, s: usize, P: i32, q: usize, nc: usize, sig: usize, tbl: v128): f32 {
  const qp = q + (<usize>P << 5);
  const d = i32x4.extadd_pairwise_i16x8_s(pairDotR(v128.load64_zero(c + (<usize>P << 4)), v128.load(qp), v128.load(qp, 16), tbl));
  const dA = i32x4.extract_lane(d, 0) + i32x4.extract_lane(d, 1) + load<i32>(nc + (<usize>P << 4));
  return <f32>dA * (e4m3At(s + <usize>(2 * P)) * load<f32>(sig + f4(2 * P)));
}

/**
 * acc + rows 2h, 2h + 1 of a group's pair (codes of row r at co + r·cr): addPairs of their pair
 * dots with the correction n and scales E·σ. `unbiased`: sigma is σ·2¹²⁰ (finite), so E·σ is one
 * product of the scale bits and it — the same f32 as scaleHalf(bits, h, σ): both are the exact
 * E·σ rounded once.
 */
@inline function halfStep(acc: v128, co: usize, cr: usize, h: i32, ql: v128, qh: v128, n: v128, bits: v128, sigma: v128, tbl: v128, unbiased: bool, rows4: bool): v128 {
  const d0 = pairDotR(v128.load(co + <usize>(2 * h) * cr), ql, qh, tbl);
  const d1 = pairDotR(v128.load(co + <usize>(2 * h + 1) * cr), ql, qh, tbl);
  return addPairs(acc, d0, d1, n, unbiased ? f32x4.mul(rows4 ? rows4HalfBits(bits, h) : scaleHalfBits(bits, h), sigma) : scaleHalf(rows4 ? scaleBitsRows4Raw(bits) : bits, h, sigma));
}

/** Rows 2h, 2h + 1 of a rows4 chunk's 8 raw scale bytes (each ≤ 0x7E) as f32 [E(A), E(B), E(A′), E(B′)] · 2⁻¹²⁰: each byte swizzled to bits 16–23 of its lane (index ≥ 0x80 gives 0 on every engine), shifted to 20–27. */
@inline function rows4HalfBits(raw: v128, h: i32): v128 {
  const at = h == 0
    ? i8x16(-128, -128, 0, -128, -128, -128, 1, -128, -128, -128, 2, -128, -128, -128, 3, -128)
    : i8x16(-128, -128, 4, -128, -128, -128, 5, -128, -128, -128, 6, -128, -128, -128, 7, -128);
  return i32x4.shl(i8x16.relaxed_swizzle(raw, at), 4);
}

/** A rows4 chunk's raw scale bytes as scaleBitsRows4 gives them (the path without σ·2¹²⁰). */
@inline function scaleBitsRows4Raw(raw: v128): v128 {
  return i16x8.shl(i16x8.extend_low_i8x16_u(raw), 4);
}

/** A group's pair scales as halfStep takes them: rows4, the chunk's 8 raw bytes; ModelOpt, scaleBits8. */
@inline function scaleBitsI8(s: usize, sr: usize, rows4: bool): v128 {
  return rows4 ? v128.load64_zero(s) : groupScaleBits(s, sr, false);
}

/**
 * `streams` (1 or 2) groups of 4 rows, the groups G and G + Q of the weight at codes c, scales s
 * (addressed as fp4_rows4.ts says for `rows4`), against one token's scratch (q, then −12·Σq at nc,
 * σ at sig) → their outputs at y[4G …] and y[4(G + Q) …], times g. Decode takes two groups half
 * the matrix apart (K/16 even): they share each pair's token loads, and the weights arrive as two
 * sequential streams. Two rather than four (as the int16 kernel reads): V8 schedules every load
 * of a loop iteration first, and four groups' 16 code vectors and 8 accumulators overflow the 16
 * x64 vector registers (47 spills and reloads per 512 weights); two streams measured 2–7 % faster
 * with weights in DRAM. Each group's operations are those of one stream, so a row gets the same
 * bits either way; one stream also takes a lone last block (K/16 odd). `unbiased`: see halfStep.
 */
@inline function groupsDotR(q: usize, c: usize, s: usize, G: i32, Q: i32, K: i32, y: usize, g: f32, rows4: bool, streams: i32, unbiased: bool): void {
  let a01 = f32x4.splat(0);
  let a23 = a01;
  let b01 = a01;
  let b23 = a01;
  const nb = K >> 4;
  const np = nb >> 1;
  const tbl = e2m1x2Lanes(true); // 2·E2M1 + 12 (code 8, −0, is 12)
  const nc = q + qBytes(K);
  const sig = nc + (qBytes(K) >> 1);
  const cr = codeRow<u8>(K, rows4);
  const cp = codePair<u8>(rows4);
  const sr = scaleRow(K, rows4);
  const sp = scalePair(rows4);
  const cA = c + <usize>G * codeGroup<u8>(K, rows4);
  const sA = s + <usize>G * scaleGroup(K, rows4);
  const cs = <usize>Q * codeGroup<u8>(K, rows4); // from one stream to the next
  const ss = <usize>Q * scaleGroup(K, rows4);
  // pointers stepped per pair (fewer address computations in V8's code than P · stride)
  let qp = q;
  let ncp = nc;
  let sgp = sig;
  let co = cA;
  let so = sA;
  for (let P = 0; P < np; P++) {
    const ql = v128.load(qp);
    const qh = v128.load(qp, 16);
    const n = v128.load(ncp);
    const sigma = unbiased ? f32x4.mul(v128.load64_splat(sgp), f32x4.splat(E4M3_UNBIAS)) : v128.load64_splat(sgp); // [σA, σB, σA, σB]
    const bA = scaleBitsI8(so, sr, rows4);
    a01 = halfStep(a01, co, cr, 0, ql, qh, n, bA, sigma, tbl, unbiased, rows4);
    a23 = halfStep(a23, co, cr, 1, ql, qh, n, bA, sigma, tbl, unbiased, rows4);
    if (streams == 2) {
      const bB = scaleBitsI8(so + ss, sr, rows4);
      b01 = halfStep(b01, co + cs, cr, 0, ql, qh, n, bB, sigma, tbl, unbiased, rows4);
      b23 = halfStep(b23, co + cs, cr, 1, ql, qh, n, bB, sigma, tbl, unbiased, rows4);
    }
    qp += 32;
    ncp += 16;
    sgp += 8;
    co += cp;
    so += sp;
  }
  const z = f32x4.splat(0);
  if (streams == 2) {
    storeRows4(y + f4(4 * G), a01, a23, z, z, g);
    storeRows4(y + f4(4 * (G + Q)), b01, b23, z, z, g);
  } else if (nb & 1) {
    const l01 = f32x4.replace_lane(f32x4.splat(loneDotR(cA, sA, np, q, nc, sig, tbl)), 2, loneDotR(cA + cr, sA + sr, np, q, nc, sig, tbl));
    const l23 = f32x4.replace_lane(f32x4.splat(loneDotR(cA + 2 * cr, sA + 2 * sr, np, q, nc, sig, tbl)), 2, loneDotR(cA + 3 * cr, sA + 3 * sr, np, q, nc, sig, tbl));
    storeRows4(y + f4(4 * G), a01, a23, l01, l23, g);
  } else storeRows4(y + f4(4 * G), a01, a23, z, z, g);
}

/** One row against one token (no scale2): the two-row step with the row twice, lanes A, B. */
@inline function rowDotR(q: usize, nc: usize, sig: usize, c: usize, s: usize, K: i32): f32 {
  let acc = f32x4.splat(0);
  const nb = K >> 4;
  const np = nb >> 1;
  const tbl = e2m1x2Lanes(true); // 2·E2M1 + 12 (code 8, −0, is 12)
  for (let P = 0; P < np; P++) {
    const qp = q + (<usize>P << 5);
    const d = pairDotR(v128.load(c + (<usize>P << 4)), v128.load(qp), v128.load(qp, 16), tbl);
    const so = s + <usize>(2 * P);
    const sigma = v128.load64_splat(sig + f4(2 * P));
    const e = f32x4.replace_lane(f32x4.splat(e4m3At(so)), 1, e4m3At(so + 1)); // [eA, eB, ·, ·]
    acc = addPairs(acc, d, d, v128.load(nc + (<usize>P << 4)), f32x4.mul(e, sigma));
  }
  const sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1);
  return nb & 1 ? sum + loneDotR(c, s, np, q, nc, sig, tbl) : sum;
}

/** [X_t, X_t′] from two tokens' 8 bytes at p and p + ts: their [A, B] halves side by side. */
@inline function tokens2(p: usize, ts: usize): v128 {
  return v128.load64_lane(p + ts, v128.load64_zero(p), 1);
}

/** One row (pair P: codes c + P·cp, scales s + P·sp; `rows4`'s strides; K/16 even or odd, odd only in ModelOpt) against 4 quantised tokens (scratch q, q + qs, …) → y[t·ys], times g; per token bit-identical to groupsDotR's output for that row. */
@inline function micro4R(q: usize, qs: usize, c: usize, s: usize, K: i32, y: usize, ys: usize, g: f32, rows4: bool): void {
  let a01 = f32x4.splat(0);
  let a23 = a01;
  const nb = K >> 4;
  const np = nb >> 1;
  const nc = q + qBytes(K);
  const sig = nc + (qBytes(K) >> 1);
  const tbl = e2m1x2Lanes(true); // 2·E2M1 + 12 (code 8, −0, is 12)
  const cp = codePair<u8>(rows4);
  const sp = scalePair(rows4);
  const m = i8x16.splat(0x0f);
  for (let P = 0; P < np; P++) {
    const v = v128.load(c + <usize>P * cp);
    const lo = i8x16.relaxed_swizzle(tbl, v128.and(v, m));
    const hi = i8x16.relaxed_swizzle(tbl, v128.and(i16x8.shr_u(v, 4), m));
    const qp = q + (<usize>P << 5);
    const d0 = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(qp), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(qp, 16), hi));
    const d1 = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(qp + qs), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(qp + qs, 16), hi));
    const d2 = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(qp + 2 * qs), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(qp + 2 * qs, 16), hi));
    const d3 = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(qp + 3 * qs), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(qp + 3 * qs, 16), hi));
    const so = s + <usize>P * sp;
    const eB = e4m3At(so + 1);
    const e = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(e4m3At(so)), 1, eB), 3, eB); // [eA, eB, eA, eB]
    const np4 = nc + (<usize>P << 4);
    const sp = sig + f4(2 * P);
    a01 = addPairs(a01, d0, d1, tokens2(np4, qs), f32x4.mul(e, tokens2(sp, qs)));
    a23 = addPairs(a23, d2, d3, tokens2(np4 + 2 * qs, qs), f32x4.mul(e, tokens2(sp + 2 * qs, qs)));
  }
  let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0;
  if (nb & 1) {
    l0 = loneDotR(c, s, np, q, nc, sig, tbl);
    l1 = loneDotR(c, s, np, q + qs, nc + qs, sig + qs, tbl);
    l2 = loneDotR(c, s, np, q + 2 * qs, nc + 2 * qs, sig + 2 * qs, tbl);
    l3 = loneDotR(c, s, np, q + 3 * qs, nc + 3 * qs, sig + 3 * qs, tbl);
  }
  store<f32>(y, (f32x4.extract_lane(a01, 0) + f32x4.extract_lane(a01, 1) + l0) * g);
  store<f32>(y + ys, (f32x4.extract_lane(a01, 2) + f32x4.extract_lane(a01, 3) + l1) * g);
  store<f32>(y + 2 * ys, (f32x4.extract_lane(a23, 0) + f32x4.extract_lane(a23, 1) + l2) * g);
  store<f32>(y + 3 * ys, (f32x4.extract_lane(a23, 2) + f32x4.extract_lane(a23, 3) + l3) * g);
}

/**
 * Y[t, n] (row stride ys) for the first N4 rows (a multiple of 4) of the weight at codes c, scales
 * s, in ModelOpt or (`rows4`) the rows4 layout (fp4_rows4.ts: row r of group G at codes
 * c + G·cg + r·cr, …), T tokens quantised at q (stride qs): row blocks that stay in L2, micro4R for 4
 * tokens at a time and groupsDotR for the last T mod 4 tokens — every output bit-identical to the
 * matvec of its token (T = 1).
 */
@inline function groupsI8(q: usize, qs: usize, T: i32, K: i32, N4: i32, c: usize, s: usize, y: usize, ys: usize, g: f32, rows4: bool): void {
  if (T < 4) return decodeGroupsI8(q, qs, T, K, N4, c, s, y, ys, g, rows4);
  const cr = codeRow<u8>(K, rows4);
  const cg = codeGroup<u8>(K, rows4);
  const sr = scaleRow(K, rows4);
  const sg = scaleGroup(K, rows4);
  const T4 = T & ~3;
  const block = max<i32>(4, rowBlock(<usize>(K >> 1) + <usize>(K >> 4)) & ~3);
  for (let n0 = 0; n0 < N4; n0 += block) {
    const n1 = min(N4, n0 + block);
    for (let t = 0; t < T4; t += 4) {
      const qt = q + <usize>t * qs;
      for (let n = n0; n < n1; n++) {
        const r = <usize>(n & 3);
        const G = <usize>(n >> 2);
        micro4R(qt, qs, c + G * cg + r * cr, s + G * sg + r * sr, K, y + <usize>t * ys + f4(n), ys, g, rows4);
      }
    }
    for (let t = T4; t < T; t++) {
      const qt = q + <usize>t * qs;
      for (let n = n0; n < n1; n += 4) groupsDotR(qt, c, s, n >> 2, 0, K, y + <usize>t * ys, g, rows4, 1, false);
    }
  }
}

/** The largest σ_b of a token's scratch q (σ·2¹²⁰ is finite below 2⁸; 128 leaves a margin). */
function sigmaMax(q: usize, K: i32): f32 {
  const sig = q + qBytes(K) + (qBytes(K) >> 1);
  let m: f32 = 0;
  for (let b = 0; b < K >> 4; b++) m = max(m, load<f32>(sig + f4(b)));
  return m;
}

/**
 * groupsI8 for T < 4 (decode, short verification passes), token by token: groups G and G + Q
 * together (groupsDotR, two streams; Q = M/2); the last group when M is odd, and every group when
 * K/16 is odd, alone. σ·2¹²⁰ stands in for σ while the token's σ stay below 2⁷ (halfStep).
 */
@inline function decodeGroupsI8(q: usize, qs: usize, T: i32, K: i32, N4: i32, c: usize, s: usize, y: usize, ys: usize, g: f32, rows4: bool): void {
  const M = N4 >> 2;
  const Q = (K >> 4) & 1 ? 0 : M >> 1;
  for (let t = 0; t < T; t++) {
    const qt = q + <usize>t * qs;
    const yt = y + <usize>t * ys;
    if (sigmaMax(qt, K) < 128) for (let G = 0; G < Q; G++) groupsDotR(qt, c, s, G, Q, K, yt, g, rows4, 2, true);
    else for (let G = 0; G < Q; G++) groupsDotR(qt, c, s, G, Q, K, yt, g, rows4, 2, false);
    for (let G = 2 * Q; G < M; G++) groupsDotR(qt, c, s, G, 0, K, yt, g, rows4, 1, false);
  }
}

/** Rows n0 … N − 1 in ModelOpt layout (codes c, scales s of row n0) for T quantised tokens, one row at a time (rowDotR). */
@inline function tailRowsI8(q: usize, qs: usize, T: i32, K: i32, n0: i32, N: i32, c: usize, s: usize, y: usize, ys: usize, g: f32): void {
  const ncOff = qBytes(K);
  const sigOff = ncOff + (qBytes(K) >> 1);
  for (let n = n0; n < N; n++) {
    const cn = c + <usize>(n - n0) * <usize>(K >> 1);
    const sn = s + <usize>(n - n0) * <usize>(K >> 4);
    for (let t = 0; t < T; t++) {
      const qt = q + <usize>t * qs;
      store<f32>(y + <usize>t * ys + f4(n), rowDotR(qt, qt + ncOff, qt + sigOff, cn, sn, K) * g);
    }
  }
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ with relaxed SIMD, ModelOpt layout: every token quantised (scratch: T · i8_scratch_bytes(K)), groupsI8 for the first N − N mod 4 rows, tailRowsI8 for the rest. */
function matmulI8Relaxed(x: usize, q: usize, c: usize, s: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  const qs = <usize>i8_scratch_bytes(K);
  for (let t = 0; t < T; t++) quantizeSimd(x + <usize>t * f4(K), K, q + <usize>t * qs);
  const N4 = N & ~3;
  const g = scale2 * 0.5;
  groupsI8(q, qs, T, K, N4, c, s, y, f4(N), g, false);
  tailRowsI8(q, qs, T, K, N4, N, c + <usize>N4 * codeRow<u8>(K, false), s + <usize>N4 * scaleRow(K, false), y, f4(N), g);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ with relaxed SIMD, nvfp4 weights in rows4 layout at w (fp4_rows4.ts); the same outputs as matmulI8Relaxed. */
function matmulI8Rows4(x: usize, q: usize, w: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  const qs = <usize>i8_scratch_bytes(K);
  for (let t = 0; t < T; t++) quantizeSimd(x + <usize>t * f4(K), K, q + <usize>t * qs);
  const N4 = N & ~3;
  const gb = groupBytes(K);
  const g = scale2 * 0.5;
  groupsI8(q, qs, T, K, N4, w, w + 64, y, f4(N), g, true);
  const tc = w + <usize>(N4 >> 2) * gb;
  tailRowsI8(q, qs, T, K, N4, N, tc, tc + <usize>(N - N4) * <usize>(K >> 1), y, f4(N), g);
}

function matvecI8Scalar(x: usize, q: usize, c: usize, s: usize, scale2: f32, y: usize, K: i32, N: i32): void {
  const sig = quantizeScalar(x, K, q);
  const nb = K >> 4;
  const g = scale2 * 0.5;
  for (let n = 0; n < N; n++) {
    const cn = c + <usize>n * <usize>(K >> 1);
    const sn = s + <usize>n * <usize>nb;
    let acc: f32 = 0;
    for (let b = 0; b < nb; b++) {
      let d: i32 = 0;
      for (let i = 0; i < 16; i++) {
        const byte = <i32>load<u8>(cn + <usize>((16 * b + i) >> 1));
        d += <i32>load<i8>(q + qOffset(16 * b + i)) * e2m1x2((byte >> (4 * (i & 1))) & 15);
      }
      acc += <f32>d * (e4m3At(sn + b) * load<f32>(sig + f4(b)));
    }
    store<f32>(y + f4(n), acc * g);
  }
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, scalar: each token as matvecI8Scalar (its own scratch). */
function matmulI8Scalar(x: usize, q: usize, c: usize, s: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  const qs = <usize>i8_scratch_bytes(K);
  for (let t = 0; t < T; t++) matvecI8Scalar(x + <usize>t * f4(K), q + <usize>t * qs, c, s, scale2, y + <usize>t * f4(N), K, N);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, nvfp4 weights, int8 activations (scratch: T · i8_scratch_bytes(K)); each token's row bit-identical to the T = 1 call (decode) of that token. */
export function nvfp4_matmul_i8(x: usize, scratch: usize, codes: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) matmulI8Relaxed(x, scratch, codes, scales, scale2, y, T, K, N);
  else matmulI8Scalar(x, scratch, codes, scales, scale2, y, T, K, N);
}

/** Y(T, N) = X(T, K) · W(N, K)ᵀ, nvfp4 weights in rows4 layout (fp4_rows4.ts), int8 activations (scratch: T · i8_scratch_bytes(K)); relaxed-SIMD build only. */
export function nvfp4_matmul_i8_rows4(x: usize, scratch: usize, w: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) matmulI8Rows4(x, scratch, w, scale2, y, T, K, N);
  else unreachable();
}

export function nvfp4_matmul_i8_scalar(x: usize, scratch: usize, codes: usize, scales: usize, scale2: f32, y: usize, T: i32, K: i32, N: i32): void {
  matmulI8Scalar(x, scratch, codes, scales, scale2, y, T, K, N);
}
