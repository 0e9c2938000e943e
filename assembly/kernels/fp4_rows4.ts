// DESIGN §3: "rows4", the wasm backend's resident layout of an nvfp4 linear weight (spec §14.1),
// repacked once at load so that a decode pass over 4 rows reads one sequential stream instead of
// 4 code rows and 4 scale rows. For K ≡ 0 (mod 32) (pairs of 16-element blocks):
//   for each group G of 4 rows (rows 4G … 4G + 3) and each pair P (elements 32P … 32P + 31):
//     72 bytes = the 16 code bytes of pair P of rows 4G, 4G + 1, 4G + 2, 4G + 3 (ModelOpt byte
//                order within a row), then their 8 E4M3 scale bytes
//                [r0 A, r0 B, r1 A, r1 B, r2 A, r2 B, r3 A, r3 B]  (A = block 2P, B = block 2P + 1);
//   then the last N mod 4 rows in ModelOpt layout: their codes (K/2 bytes a row), then their scales
//   (K/16 bytes a row).
// The same N·K/2 + N·K/16 bytes as the ModelOpt pair (codes, scales), permuted. Only weights whose
// scales are all finite and non-negative (bytes 0x00 … 0x7E, as quantisers write them) are packed,
// so rows4 kernels widen a scale to its f32 bits with one shift (scaleBitsRows4). Kernels address a
// row group as: row r's pair P codes at c + r·cr + P·cp, its scales at s + r·sr + P·sp, groups
// cg / sg apart (codeRow … scaleGroup below give these from K):
//   ModelOpt: cr = K/2 (nvfp4-s24: K/4), cp = 16 (8), cg = 4·cr;  sr = K/16, sp = 2, sg = 4·sr;
//             nvfp4-s24 positions at p + r·pr + 4P, pr = K/8 (positionRow).
//   rows4:    cr = 16,  cp = 72, cg = 72·K/32;  s = c + 64, sr = 2, sp = 72, sg = cg.

/** Bytes of one chunk: a pair of blocks of 4 rows, codes then scales. */
export const CHUNK: i32 = 72;

/** Bytes of one group of 4 rows in rows4 (K ≡ 0 mod 32). */
@inline export function groupBytes(K: i32): usize {
  return <usize>(K >> 5) * CHUNK;
}

/** Code bytes per 16-element block: 8 (nvfp4, F = u8) or 4 (nvfp4-s24, F = u16; ModelOpt only). */
@inline export function codeBytes<F>(): usize {
  return sizeof<F>() == 1 ? 8 : 4;
}

// The strides above for format F (u8 nvfp4, u16 nvfp4-s24) in ModelOpt (rows4 false) or rows4.
/** cr: from one row's codes to the next row's in its group. */
@inline export function codeRow<F>(K: i32, rows4: bool): usize {
  return rows4 ? 16 : <usize>(K >> 4) * codeBytes<F>();
}
/** cp: from one pair of blocks' codes to the next in a row. */
@inline export function codePair<F>(rows4: bool): usize {
  return rows4 ? <usize>CHUNK : 2 * codeBytes<F>();
}
/** cg: from one group of 4 rows' codes to the next. */
@inline export function codeGroup<F>(K: i32, rows4: bool): usize {
  return rows4 ? groupBytes(K) : 4 * codeRow<F>(K, false);
}
/** sr: from one row's scales to the next row's in its group. */
@inline export function scaleRow(K: i32, rows4: bool): usize {
  return rows4 ? 2 : <usize>(K >> 4);
}
/** sp: from one pair of blocks' scales to the next in a row. */
@inline export function scalePair(rows4: bool): usize {
  return rows4 ? <usize>CHUNK : 2;
}
/** sg: from one group of 4 rows' scales to the next. */
@inline export function scaleGroup(K: i32, rows4: bool): usize {
  return rows4 ? groupBytes(K) : 4 * scaleRow(K, false);
}
/** pr: from one row's s24 position bytes (K/8, 4 per pair, ModelOpt) to the next; 0 for nvfp4. */
@inline export function positionRow<F>(K: i32): usize {
  return sizeof<F>() == 1 ? 0 : <usize>(K >> 3);
}

/** Whether this build's kernels take an nvfp4 weight (N, K) in rows4: SIMD builds, whole pairs of blocks, a group of 4 rows. */
export function rows4_supported(K: i32, N: i32): bool {
  return ASC_FEATURE_SIMD && (K & 31) == 0 && K > 0 && N >= 4;
}

/**
 * ModelOpt codes (N, K/2) and scales (N, K/16) → rows4 at dst (N·K/2 + N·K/16 bytes, not
 * overlapping the sources); false, with dst untouched, when a scale byte is negative or NaN
 * (≥ 0x7F: the weight stays ModelOpt). Requires rows4_supported(K, N).
 */
export function nvfp4_pack_rows4(codes: usize, scales: usize, dst: usize, K: i32, N: i32): bool {
  const nScales = <usize>N * <usize>(K >> 4);
  for (let i: usize = 0; i < nScales; i++) if (load<u8>(scales + i) >= 0x7f) return false;
  const np = K >> 5;
  const cr = <usize>(K >> 1);
  const sr = <usize>(K >> 4);
  const N4 = N & ~3;
  let o = dst;
  for (let n = 0; n < N4; n += 4) {
    for (let P = 0; P < np; P++) {
      for (let r = 0; r < 4; r++) {
        memory.copy(o + <usize>(16 * r), codes + <usize>(n + r) * cr + (<usize>P << 4), 16);
        store<u16>(o + <usize>(64 + 2 * r), load<u16>(scales + <usize>(n + r) * sr + <usize>(2 * P)));
      }
      o += CHUNK;
    }
  }
  const tail = <usize>(N - N4);
  memory.copy(o, codes + <usize>N4 * cr, tail * cr);
  memory.copy(o + tail * cr, scales + <usize>N4 * sr, tail * sr);
  return true;
}

/** The 8 scale bytes of a rows4 chunk (at s = chunk + 64; each in 0x00 … 0x7E) as the high halves of their f32 bits times 2⁻¹²⁰, in i16 lanes: fp4_q16_matvec.ts scaleBits8 without its sign and NaN steps. */
@inline export function scaleBitsRows4(s: usize): v128 {
  return i16x8.shl(i16x8.extend_low_i8x16_u(v128.load64_zero(s)), 4);
}
