// Weight decoder (DESIGN §3), f16 with the shader-f16 feature: the weights are read as f16 and
// widened to f32 (exact). Used instead of weights_f16.wgsl when the adapter offers shader-f16.
enable f16;

@group(0) @binding(3) var<storage, read> W: array<f16>; // (rows, K)

fn weight(r: u32, i: u32, K: u32) -> f32 {
  return f32(W[r * K + i]);
}
