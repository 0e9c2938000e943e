// Weight decoder, nvfp4 (spec §14.1, DESIGN §3), fused into the kernels that read weights:
//   W[r, i] = E2M1(code[r, i]) · E4M3(scale[r, ⌊i/16⌋]) · weight_scale_2
// codes u8 (rows, K/2): byte j holds element 2j in its low nibble; scales u8 (rows, K/16).
// Needs fp4_codecs.wgsl. Wscale2 holds weight_scale_2 of each matrix in the bound part (experts
// are stacked, P.rowsPerMatrix rows each).
@group(0) @binding(3) var<storage, read> W: array<u32>; // (rows, K/2) codes, 4 bytes per word
@group(0) @binding(4) var<storage, read> Wscale: array<u32>; // (rows, K/16) E4M3, 4 per word
@group(0) @binding(7) var<storage, read> Wscale2: array<f32>; // (matrices)

fn weight(r: u32, i: u32, K: u32) -> f32 {
  let cb = r * (K / 2u) + (i >> 1u);
  let code = (byte_of(W[cb >> 2u], cb) >> ((i & 1u) * 4u)) & 15u;
  let sb = r * (K / 16u) + (i >> 4u);
  return e2m1(code) * e4m3(byte_of(Wscale[sb >> 2u], sb)) * Wscale2[r / P.rowsPerMatrix];
}
