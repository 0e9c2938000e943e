// Linear layer Y = X · Wᵀ (the primitive under every projection), one thread per output column:
//   Y[r, o] = act(Σ_i X[⌊r / xDiv⌋, i] · W[base(r) + o, i])     X (·, K), Y (rows, nOut)
// base(r) = 0 for a plain weight; for routed experts (gather = 1) the weights of all experts are
// stacked (E·rowsPerMatrix, K) and base(r) = Sel[r]·rowsPerMatrix, with X row ⌊r / xDiv⌋ the
// token of slot r (xDiv = top-K for the up projection, 1 for the down projection).
// A weight larger than one binding is split by rows: this dispatch sees the stacked rows
// [partStart, partEnd) only, and skips the others. act = relu² when P.relu2 = 1 (spec §9).
// W is read through weight(r, i, K), the decoder prepended for the weight's format (weights_*.wgsl);
// Params, X and Y come from matmul_params.wgsl.
// Error: a length-K f32 dot summed in order, ≤ K·u·Σ|x w| (random-walk ≲ √K·u·Σ|x w|).

@group(0) @binding(6) var<storage, read> Sel: array<u32>; // (rows) expert of each slot

// Plain weights: a thread computes output o for 4 consecutive rows (the weight is decoded once per
// element for 4 rows; rows past the end read the last row and are not written).
fn plain(o: u32, r0: u32) {
  if (o < P.partStart || o >= P.partEnd) {
    return;
  }
  let lr = o - P.partStart;
  let last = P.rows - 1u;
  let x0 = r0 * P.K;
  let x1 = min(r0 + 1u, last) * P.K;
  let x2 = min(r0 + 2u, last) * P.K;
  let x3 = min(r0 + 3u, last) * P.K;
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < P.K; i++) {
    let w = weight(lr, i, P.K);
    acc += vec4<f32>(X[x0 + i], X[x1 + i], X[x2 + i], X[x3 + i]) * w;
  }
  if (P.relu2 == 1u) {
    let a = max(acc, vec4<f32>(0.0));
    acc = a * a;
  }
  for (var k = 0u; k < 4u && r0 + k < P.rows; k++) {
    Y[(r0 + k) * P.nOut + o] = acc[k];
  }
}

// Routed experts: one row per thread, the weight of the slot's expert.
fn gathered(o: u32, r: u32) {
  let gr = Sel[r] * P.rowsPerMatrix + o;
  if (gr < P.partStart || gr >= P.partEnd) {
    return;
  }
  let lr = gr - P.partStart;
  let xo = (r / P.xDiv) * P.K;
  var acc = 0.0;
  for (var i = 0u; i < P.K; i++) {
    acc += X[xo + i] * weight(lr, i, P.K);
  }
  if (P.relu2 == 1u) {
    let a = max(acc, 0.0);
    acc = a * a;
  }
  Y[r * P.nOut + o] = acc;
}

// grid: x over the output columns of this dispatch, y over row blocks (4 rows plain, 1 gathered)
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let o = P.colStart + g.x;
  if (P.gather == 1u) {
    if (g.x < P.nCols && g.y < P.rows) {
      gathered(o, g.y);
    }
  } else if (g.x < P.nCols && g.y * 4u < P.rows) {
    plain(o, g.y * 4u);
  }
}
