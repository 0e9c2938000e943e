// spec §7 NoPE causal GQA attention over the KV cache, one thread per (query head i, token t):
//   j = ⌊i / (n_q / n_kv)⌋;  score_s = q_t,i · k_s,j / √hd for cache rows s ≤ pos + t
//   o_t,i = Σ_s e^(score_s − max) v_s,j / Σ_s e^(score_s − max)
// in one pass over the keys with a running maximum (the sums rescaled when it grows), hd ≤ 256.
// The T new k/v rows are already in the cache at rows [pos, pos + T).

struct Params {
  T: u32,
  pos: u32,
  nH: u32,
  nKv: u32,
  hd: u32,
  scale: f32, // 1/√hd
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>; // (T, nH·hd)
@group(0) @binding(2) var<storage, read_write> O: array<f32>; // (T, nH·hd)
@group(0) @binding(3) var<storage, read> Kc: array<f32>; // (maxTokens, nKv·hd)
@group(0) @binding(4) var<storage, read> Vc: array<f32>; // (maxTokens, nKv·hd)

const MAX_HD: u32 = 256u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  let t = g.y;
  if (i >= P.nH || t >= P.T) {
    return;
  }
  let j = i / (P.nH / P.nKv);
  let kvW = P.nKv * P.hd;
  let qOff = t * P.nH * P.hd + i * P.hd;
  let nKeys = P.pos + t + 1u;
  // one pass with a running maximum m: acc = Σ e^(score − m) v, l = Σ e^(score − m)
  var acc: array<f32, MAX_HD>;
  var m = -3.4e38;
  var l = 0.0;
  for (var s = 0u; s < nKeys; s++) {
    let kOff = s * kvW + j * P.hd;
    var dot = 0.0;
    for (var e = 0u; e < P.hd; e++) {
      dot += Q[qOff + e] * Kc[kOff + e];
    }
    let sc = dot * P.scale;
    if (sc > m) {
      let c = exp(m - sc);
      l *= c;
      for (var e = 0u; e < P.hd; e++) {
        acc[e] *= c;
      }
      m = sc;
    }
    let p = exp(sc - m);
    l += p;
    for (var e = 0u; e < P.hd; e++) {
      acc[e] += p * Vc[kOff + e];
    }
  }
  for (var e = 0u; e < P.hd; e++) {
    O[qOff + e] = acc[e] / l;
  }
}
