// spec §8 router steps 2–8, one thread per token t, from the router logits r (T, E):
//   s = σ(r);  s' = s + b (selection only)
//   n_group > 1: group score = sum of the top-2 s' of each group; keep the topk_group best groups
//   idx = the K largest s' (ties to the lower index; in groups too)
//   w_k = s[idx_k];  normTopK: w_k ← w_k / (Σ w + 1e-20);  w_k ← w_k · routedScale
// Scr (T, E) is scratch for s'; a taken or excluded expert is set to NONE.

struct Params {
  T: u32,
  E: u32,
  K: u32,
  nGroup: u32,
  topkGroup: u32,
  normTopK: u32,
  routedScale: f32,
}

const NONE: f32 = -3.4e38;
const MAX_GROUPS: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> L: array<f32>; // (T, E) router logits
@group(0) @binding(2) var<storage, read> Bias: array<f32>; // (E)
@group(0) @binding(3) var<storage, read_write> Scr: array<f32>; // (T, E)
@group(0) @binding(4) var<storage, read_write> Idx: array<u32>; // (T, K)
@group(0) @binding(5) var<storage, read_write> Gain: array<f32>; // (T, K)

fn sigmoid(a: f32) -> f32 {
  return 1.0 / (1.0 + exp(-a));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let t = g.x;
  if (t >= P.T) {
    return;
  }
  let o = t * P.E;
  for (var e = 0u; e < P.E; e++) {
    Scr[o + e] = sigmoid(L[o + e]) + Bias[e];
  }
  if (P.nGroup > 1u) {
    let gs = P.E / P.nGroup;
    var gscore: array<f32, MAX_GROUPS>;
    for (var q = 0u; q < P.nGroup; q++) {
      var m1 = NONE;
      var m2 = NONE;
      for (var e = q * gs; e < (q + 1u) * gs; e++) {
        let v = Scr[o + e];
        if (v > m1) {
          m2 = m1;
          m1 = v;
        } else if (v > m2) {
          m2 = v;
        }
      }
      gscore[q] = m1 + m2;
    }
    var keep: array<bool, MAX_GROUPS>;
    for (var k = 0u; k < P.topkGroup; k++) {
      var best = 0u;
      var bv = NONE;
      var found = false;
      for (var q = 0u; q < P.nGroup; q++) {
        if (!keep[q] && (!found || gscore[q] > bv)) {
          best = q;
          bv = gscore[q];
          found = true;
        }
      }
      keep[best] = true;
    }
    for (var e = 0u; e < P.E; e++) {
      if (!keep[e / gs]) {
        Scr[o + e] = NONE;
      }
    }
  }
  var sum = 0.0;
  for (var k = 0u; k < P.K; k++) {
    var best = 0u;
    var bv = NONE;
    var found = false;
    for (var e = 0u; e < P.E; e++) {
      let v = Scr[o + e];
      if (v > NONE && (!found || v > bv)) {
        best = e;
        bv = v;
        found = true;
      }
    }
    Scr[o + best] = NONE;
    let w = sigmoid(L[o + best]);
    Idx[t * P.K + k] = best;
    Gain[t * P.K + k] = w;
    sum += w;
  }
  let norm = select(1.0, 1.0 / (sum + 1e-20), P.normTopK == 1u);
  for (var k = 0u; k < P.K; k++) {
    Gain[t * P.K + k] = Gain[t * P.K + k] * norm * P.routedScale;
  }
}
