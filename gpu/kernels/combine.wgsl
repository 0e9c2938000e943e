// spec §8 expert combine, one thread per (column c, token t):
//   out[t, c] = Σ_k w_k · Yk[t·K + k, c]      (the routed sum of the token's K expert outputs)

struct Params {
  T: u32,
  K: u32,
  W: u32, // width of a row (d, or ℓ for LatentMoE)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Yk: array<f32>; // (T·K, W)
@group(0) @binding(2) var<storage, read_write> Out: array<f32>; // (T, W)
@group(0) @binding(3) var<storage, read> Gain: array<f32>; // (T·K)

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let c = g.x;
  let t = g.y;
  if (c >= P.W || t >= P.T) {
    return;
  }
  var acc = 0.0;
  for (var k = 0u; k < P.K; k++) {
    acc += Gain[t * P.K + k] * Yk[(t * P.K + k) * P.W + c];
  }
  Out[t * P.W + c] = acc;
}
