// Linear layer Y = X · Wᵀ with the `subgroups` feature (matmul.wgsl is the fallback): one
// subgroup per output column o and block of 4 rows (1 row, the slot's expert, when gathering
// routed experts); lane l sums the columns i ≡ l (mod subgroup size), subgroupAdd combines them:
//   Y[r, o] = act(Σ_i X[⌊r / xDiv⌋, i] · W[base(r) + o, i])      (matmul.wgsl's formula)
// Params, X and Y from matmul_params.wgsl. Invalid subgroups compute on a clamped row and write
// nothing, so every lane reaches subgroupAdd. W through weight(r, i, K) (weights_*.wgsl).
// Error: ≤ (K/s + log₂ s)·u·Σ|x w| for subgroup size s.
enable subgroups;
diagnostic(off, subgroup_uniformity);

@group(0) @binding(6) var<storage, read> Sel: array<u32>; // (rows) expert of each slot (gather)

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
  @builtin(subgroup_size) sg: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let gather = P.gather == 1u;
  let col = wg.x * (64u / sg) + li / sg;
  let r0 = select(wg.y * 4u, wg.y, gather);
  let last = P.rows - 1u;
  let base = select(0u, Sel[min(r0, last)] * P.rowsPerMatrix, gather);
  let o = P.colStart + min(col, P.nCols - 1u);
  let gr = base + o;
  let valid = col < P.nCols && r0 < P.rows && gr >= P.partStart && gr < P.partEnd;
  let lr = select(0u, gr - P.partStart, valid);
  var x0 = min(r0, last) * P.K;
  var x1 = min(r0 + 1u, last) * P.K;
  var x2 = min(r0 + 2u, last) * P.K;
  var x3 = min(r0 + 3u, last) * P.K;
  if (gather) {
    x0 = (min(r0, last) / P.xDiv) * P.K;
    x1 = x0;
    x2 = x0;
    x3 = x0;
  }
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
    let n = select(4u, 1u, gather);
    for (var k = 0u; k < n && r0 + k < P.rows; k++) {
      Y[(r0 + k) * P.nOut + o] = tot[k];
    }
  }
}
