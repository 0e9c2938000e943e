// spec §5 RMSNorm and spec §6.7 gated group RMSNorm, one thread per (row, group):
//   ỹ = x ⊙ SiLU(z) when gated (z read from row r of Z at stride zStride), else ỹ = x
//   y_c = w_c · ỹ_c / sqrt(mean_{c' ∈ group(c)} ỹ_{c'}² + ε)      groups of cols/groups channels
// SiLU(a) = a / (1 + e^−a). Error: the sum of squares in order, ≤ (cols/groups)·u relative.

struct Params {
  rows: u32,
  cols: u32,
  groups: u32,
  gated: u32,
  zStride: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>; // (rows, cols)
@group(0) @binding(2) var<storage, read_write> Y: array<f32>; // (rows, cols)
@group(0) @binding(3) var<storage, read> Wn: array<f32>; // (cols)
@group(0) @binding(4) var<storage, read> Z: array<f32>; // (rows, zStride), gate in its first cols

fn gated(r: u32, c: u32) -> f32 {
  let x = X[r * P.cols + c];
  if (P.gated == 0u) {
    return x;
  }
  let z = Z[r * P.zStride + c];
  return x * (z / (1.0 + exp(-z)));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let grp = g.x;
  let r = g.y;
  if (grp >= P.groups || r >= P.rows) {
    return;
  }
  let gs = P.cols / P.groups;
  let c0 = grp * gs;
  var ss = 0.0;
  for (var c = c0; c < c0 + gs; c++) {
    let v = gated(r, c);
    ss += v * v;
  }
  let inv = 1.0 / sqrt(ss / f32(gs) + P.eps);
  for (var c = c0; c < c0 + gs; c++) {
    Y[r * P.cols + c] = Wn[c] * (gated(r, c) * inv);
  }
}
