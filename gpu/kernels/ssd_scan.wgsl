// spec §6.3–6.5 SSD as a sequential scan over tokens with one thread per (head h, channel p)
// (allowed for prefill by spec §6.6; the one-step decode is the T = 1 case), g = ⌊h / (H/G)⌋:
//   Δ = softplus(dt_t,h + dt_bias_h)  (ln(1 + eᵃ), exactly a for a > 20);  α = exp(Δ · A_h)
//   S_h[p, n] ← α · S_h[p, n] + Δ · B_t[g, n] · x_t[h·P + p]
//   y_t[h·P + p] = Σ_n C_t[g, n] · S_h[p, n] + D_h · x_t[h·P + p]
// x' | B | C are the columns [0, dInner) | [dInner, +G·N) | [dInner + G·N, convDim) of the conv
// output V; dt_t,h = Proj[t, dtOff + h]. Hp holds (dt_bias_h, A_h = −exp(A_log_h), D_h) per head.
// ln(1 + x) is computed as x · ln(u)/(u − 1), u = 1 + x (exact to a few ulp without log1p).

struct Params {
  T: u32,
  H: u32,
  P: u32,
  G: u32,
  N: u32,
  dInner: u32,
  convDim: u32,
  inW: u32,
  dtOff: u32,
}

@group(0) @binding(0) var<uniform> Pr: Params;
@group(0) @binding(1) var<storage, read> V: array<f32>; // (T, convDim)
@group(0) @binding(2) var<storage, read_write> Y: array<f32>; // (T, dInner)
@group(0) @binding(3) var<storage, read_write> S: array<f32>; // (H, P, N)
@group(0) @binding(4) var<storage, read> Proj: array<f32>; // (T, inW)
@group(0) @binding(5) var<storage, read> Hp: array<f32>; // (H, 3)

fn softplus(a: f32) -> f32 {
  if (a > 20.0) {
    return a;
  }
  let x = exp(a);
  let u = 1.0 + x;
  if (u == 1.0) {
    return x;
  }
  return x * log(u) / (u - 1.0);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let idx = g.x;
  if (idx >= Pr.dInner) {
    return;
  }
  let h = idx / Pr.P;
  let grp = h / (Pr.H / Pr.G);
  let dtBias = Hp[h * 3u];
  let A = Hp[h * 3u + 1u];
  let D = Hp[h * 3u + 2u];
  let s0 = idx * Pr.N;
  let bCol = Pr.dInner + grp * Pr.N;
  let cCol = Pr.dInner + Pr.G * Pr.N + grp * Pr.N;
  for (var t = 0u; t < Pr.T; t++) {
    let delta = softplus(Proj[t * Pr.inW + Pr.dtOff + h] + dtBias);
    let alpha = exp(delta * A);
    let row = t * Pr.convDim;
    let xv = V[row + idx];
    let dx = delta * xv;
    var acc = 0.0;
    for (var n = 0u; n < Pr.N; n++) {
      let s = alpha * S[s0 + n] + dx * V[row + bCol + n];
      S[s0 + n] = s;
      acc += V[row + cCol + n] * s;
    }
    Y[t * Pr.dInner + idx] = acc + D * xv;
  }
}
