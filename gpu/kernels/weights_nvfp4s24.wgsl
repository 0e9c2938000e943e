// Weight decoder, nvfp4-s24 (DESIGN §3, engine/sparse24.ts), fused into the kernels that read
// weights. Group g = ⌊i/4⌋ of row r keeps 2 elements at in-group indices i0 < i1, given by the
// position code pc = i0 | i1 << 2 (positions u8 (rows, K/8), even group in the low nibble); their
// E2M1 codes are the low / high nibble of codes byte (r, g) (codes u8 (rows, K/4)). The others are 0.
//   W[r, i] = E2M1(code) · E4M3(scale[r, ⌊i/16⌋]) · weight_scale_2
// Needs fp4_codecs.wgsl. Wscale2 holds weight_scale_2 of each matrix in the bound part (experts
// are stacked, P.rowsPerMatrix rows each).
@group(0) @binding(3) var<storage, read> W: array<u32>; // (rows, K/4) kept codes
@group(0) @binding(4) var<storage, read> Wscale: array<u32>; // (rows, K/16) E4M3
@group(0) @binding(5) var<storage, read> Wpos: array<u32>; // (rows, K/8) position codes
@group(0) @binding(7) var<storage, read> Wscale2: array<f32>; // (matrices)

fn weight(r: u32, i: u32, K: u32) -> f32 {
  let gi = r * (K / 4u) + (i >> 2u);
  let pc = (byte_of(Wpos[gi >> 3u], gi >> 1u) >> ((gi & 1u) * 4u)) & 15u;
  let byte = byte_of(W[gi >> 2u], gi);
  let j = i & 3u;
  var code: u32;
  if (j == (pc & 3u)) {
    code = byte & 15u;
  } else if (j == ((pc >> 2u) & 3u)) {
    code = byte >> 4u;
  } else {
    return 0.0;
  }
  let sb = r * (K / 16u) + (i >> 4u);
  return e2m1(code) * e4m3(byte_of(Wscale[sb >> 2u], sb)) * Wscale2[r / P.rowsPerMatrix];
}
