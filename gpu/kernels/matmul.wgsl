// Linear layer Y = X · Wᵀ (the primitive under every projection), one thread per output:
//   Y[r, o] = act(Σ_i X[⌊r / xDiv⌋, i] · W[base(r) + o, i])     X (·, K), Y (rows, nOut)
// base(r) = 0 for a plain weight; for routed experts (gather = 1) the weights of all experts are
// stacked (E·rowsPerMatrix, K) and base(r) = Sel[r]·rowsPerMatrix, with X row ⌊r / xDiv⌋ the
// token of slot r (xDiv = top-K for the up projection, 1 for the down projection).
// A weight larger than one binding is split by rows: this dispatch sees the stacked rows
// [partStart, partEnd) only, and skips the others. act = relu² when P.relu2 = 1 (spec §9).
// W is read through weight(r, i, K), the decoder prepended for the weight's format (weights_*.wgsl).
// Error: a length-K f32 dot summed in order, ≤ K·u·Σ|x w| (random-walk ≲ √K·u·Σ|x w|).

struct Params {
  rows: u32, // rows of Y
  K: u32,
  nOut: u32, // row stride of Y
  colStart: u32, // first output column of this dispatch
  nCols: u32, // output columns in this dispatch
  partStart: u32,
  partEnd: u32,
  gather: u32,
  xDiv: u32,
  rowsPerMatrix: u32,
  relu2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<storage, read> Sel: array<u32>; // (rows) expert of each slot

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let r = g.y;
  if (g.x >= P.nCols || r >= P.rows) {
    return;
  }
  let o = P.colStart + g.x;
  var base = 0u;
  if (P.gather == 1u) {
    base = Sel[r] * P.rowsPerMatrix;
  }
  let gr = base + o;
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
