// Weight decoder (DESIGN §3), f32: W[r, i] stored as f32 (rows, K). Prepended to matmul.wgsl and
// embed.wgsl, which call weight(r, i, K) for row r of the bound part and column i.
@group(0) @binding(3) var<storage, read> W: array<f32>; // (rows, K)

fn weight(r: u32, i: u32, K: u32) -> f32 {
  return W[r * K + i];
}
