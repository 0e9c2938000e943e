// Column concatenation (spec §11, the MTP block's [enorm(e), hnorm(h)] before eh_proj):
// Y[t, c] = A[t, c] for c < n, B[t, c − n] for n ≤ c < n + m; A (T, n), B (T, m), Y (T, n + m).
// One thread per element of Y; the grid may be 2-D: i = x + y · (64 · workgroups along x).

struct Params {
  rows: u32,
  n: u32,
  m: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>; // (rows, n)
@group(0) @binding(2) var<storage, read> B: array<f32>; // (rows, m)
@group(0) @binding(3) var<storage, read_write> Y: array<f32>; // (rows, n + m)

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = g.x + g.y * nw.x * 64u;
  let width = P.n + P.m;
  if (i >= P.rows * width) {
    return;
  }
  let t = i / width;
  let c = i % width;
  if (c < P.n) {
    Y[i] = A[t * P.n + c];
  } else {
    Y[i] = B[t * P.m + (c - P.n)];
  }
}
