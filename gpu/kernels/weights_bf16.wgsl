// Weight decoder (DESIGN §3), bf16: the upper 16 bits of an f32, so decoding is a shift (exact).
// Element e = r·K + i sits in word e/2, the even element in the low half. Prepended to
// matmul.wgsl and embed.wgsl.
@group(0) @binding(3) var<storage, read> W: array<u32>; // (rows, K) bf16, two per word

fn weight(r: u32, i: u32, K: u32) -> f32 {
  let e = r * K + i;
  let word = W[e >> 1u];
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (e & 1u) == 1u));
}
