// Linear layer Y = X · Wᵀ for plain weights with the `subgroups` feature (matmul.wgsl is the
// fallback and serves routed experts): one subgroup per output column o and block of 4 rows;
// lane l sums the columns i ≡ l (mod subgroup size), subgroupAdd combines the lanes:
//   Y[r, o] = act(Σ_i X[r, i] · W[o, i]),  r ∈ [4·y, 4·y + 4)
// Params, X and Y from matmul_params.wgsl (gather is always 0 here). Invalid subgroups compute on row 0
// and write nothing, so every lane reaches subgroupAdd. W through weight(r, i, K) (weights_*.wgsl).
// Error: ≤ (K/s + log₂ s)·u·Σ|x w| for subgroup size s.
enable subgroups;
diagnostic(off, subgroup_uniformity);

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
  @builtin(subgroup_size) sg: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let col = wg.x * (64u / sg) + li / sg;
  let r0 = wg.y * 4u;
  let o = P.colStart + min(col, P.nCols - 1u);
  let valid = col < P.nCols && r0 < P.rows && o >= P.partStart && o < P.partEnd;
  let lr = select(0u, o - P.partStart, valid);
  let last = P.rows - 1u;
  let x0 = min(r0, last) * P.K;
  let x1 = min(r0 + 1u, last) * P.K;
  let x2 = min(r0 + 2u, last) * P.K;
  let x3 = min(r0 + 3u, last) * P.K;
  var acc = vec4<f32>(0.0);
  for (var i = lane; i < P.K; i += sg) {
    let w = weight(lr, i, P.K);
    acc += vec4<f32>(X[x0 + i], X[x1 + i], X[x2 + i], X[x3 + i]) * w;
  }
  var tot = subgroupAdd(acc);
  if (valid && lane == 0u) {
    if (P.relu2 == 1u) {
      let a = max(tot, vec4<f32>(0.0));
      tot = a * a;
    }
    for (var k = 0u; k < 4u && r0 + k < P.rows; k++) {
      Y[(r0 + k) * P.nOut + o] = tot[k];
    }
  }
}
