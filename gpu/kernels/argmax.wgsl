// Greedy decoding on the device: Idx[r] = argmax_v logits[r, v] (ties to the lower index), one
// workgroup of 256 per row: each thread scans a strided slice, then a tree reduction in
// workgroup memory. Decode reads back 4 bytes per row instead of V floats.

struct Params {
  rows: u32,
  V: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Lg: array<f32>; // (rows, V)
@group(0) @binding(2) var<storage, read_write> Idx: array<u32>; // (rows)

var<workgroup> bestV: array<f32, 256>;
var<workgroup> bestI: array<u32, 256>;

fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
  let r = wg.x;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var v = l; v < P.V; v += 256u) {
    let x = Lg[r * P.V + v];
    if (better(x, v, bv, bi)) {
      bv = x;
      bi = v;
    }
  }
  bestV[l] = bv;
  bestI[l] = bi;
  for (var w = 128u; w > 0u; w >>= 1u) {
    workgroupBarrier();
    if (l < w && better(bestV[l + w], bestI[l + w], bestV[l], bestI[l])) {
      bestV[l] = bestV[l + w];
      bestI[l] = bestI[l + w];
    }
  }
  if (l == 0u) {
    Idx[r] = bestI[0];
  }
}
