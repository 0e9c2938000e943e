// spec §4.1 embedding gather: X[t, i] = Emb[tokens[t], i]  (T) → (T, d), exact for every format
// (the decoders are exact). Emb may be split by rows over several bindings: this dispatch writes
// the tokens in [partStart, partEnd) only. Emb is read through weight(r, i, K) (weights_*.wgsl).

struct Params {
  T: u32,
  K: u32, // d
  partStart: u32,
  partEnd: u32,
  rowsPerMatrix: u32, // rows of Emb (one matrix)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Tok: array<u32>; // (T)
@group(0) @binding(2) var<storage, read_write> Y: array<f32>; // (T, d)

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let t = g.y;
  if (g.x >= P.K || t >= P.T) {
    return;
  }
  let tok = Tok[t];
  if (tok < P.partStart || tok >= P.partEnd) {
    return;
  }
  Y[t * P.K + g.x] = weight(tok - P.partStart, g.x, P.K);
}
