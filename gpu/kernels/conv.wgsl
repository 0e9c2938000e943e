// spec §6.2 causal depthwise conv + SiLU with the conv window, one thread per channel c:
//   v_t[c] = SiLU(b[c] + Σ_{k<K} W[c, k] · s_{t+k}[c])
// over the stream s = [window (K−1 rows, oldest first); xBC_0 … xBC_{T−1}], xBC_t[c] =
// Proj[t, inOff + c] (the in_proj output). Afterwards the window holds the stream's last K−1 rows
// (row r ← s_{T+r}; reading s_{T+r} with T ≥ 1 never reads a row already overwritten).

struct Params {
  T: u32,
  C: u32, // convDim
  K: u32, // conv kernel width
  inW: u32, // row stride of Proj
  inOff: u32, // column of xBC in Proj
  hasBias: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Proj: array<f32>; // (T, inW)
@group(0) @binding(2) var<storage, read_write> V: array<f32>; // (T, C)
@group(0) @binding(3) var<storage, read_write> Win: array<f32>; // (K−1, C)
@group(0) @binding(4) var<storage, read> Wc: array<f32>; // (C, K)
@group(0) @binding(5) var<storage, read> Bc: array<f32>; // (C)

fn stream(tau: u32, c: u32) -> f32 {
  if (tau < P.K - 1u) {
    return Win[tau * P.C + c];
  }
  return Proj[(tau - (P.K - 1u)) * P.inW + P.inOff + c];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let c = g.x;
  if (c >= P.C) {
    return;
  }
  let b = select(0.0, Bc[c], P.hasBias == 1u);
  for (var t = 0u; t < P.T; t++) {
    var acc = 0.0;
    for (var k = 0u; k < P.K; k++) {
      acc += Wc[c * P.K + k] * stream(t + k, c);
    }
    let a = b + acc;
    V[t * P.C + c] = a / (1.0 + exp(-a));
  }
  for (var r = 0u; r + 1u < P.K; r++) {
    Win[r * P.C + c] = stream(P.T + r, c);
  }
}
