// Parameters and activation bindings shared by matmul.wgsl and matmul_subgroup.wgsl (composed
// in front of either by gpu/shaders.ts):
//   Y[r, o] = act(Σ_i X[⌊r / xDiv⌋, i] · W[base(r) + o, i]) for o ∈ [colStart, colStart + nCols)
// restricted to the stacked weight rows [partStart, partEnd) bound in this dispatch.

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
