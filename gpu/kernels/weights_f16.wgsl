// Weight decoder (DESIGN §3), f16 without the shader-f16 feature: unpack2x16float (core WGSL)
// widens the word's two halves exactly; element e = r·K + i is half e mod 2 of word e/2.
// Prepended to matmul.wgsl and embed.wgsl.
@group(0) @binding(3) var<storage, read> W: array<u32>; // (rows, K) f16, two per word

fn weight(r: u32, i: u32, K: u32) -> f32 {
  let e = r * K + i;
  return unpack2x16float(W[e >> 1u])[e & 1u];
}
