// Residual add in place: X[i] ← X[i] + Y[i], i < n (one rounding). The grid may be 2-D for
// n > 65535·64: i = x + y · (64 · workgroups along x).

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;
@group(0) @binding(2) var<storage, read> Yv: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = g.x + g.y * nw.x * 64u;
  if (i < P.n) {
    X[i] = X[i] + Yv[i];
  }
}
