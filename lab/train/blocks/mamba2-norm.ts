// spec §6.7: the Mamba-2 gated group RMSNorm for training, forward and backward (gate BEFORE the norm).
//   g_c = y_c·SiLU(z_c);  r = 1/sqrt(mean_{c'∈group(c)} g_{c'}² + ε);  ŷ_c = w_c·g_c·r
// over contiguous groups of gs = dInner/G channels. Backward, with u_c = dŷ_c·w_c:
//   dw_c += dŷ_c·g_c·r;  dg_c = r·u_c − g_c·r³·(Σ_{c'∈group} u_{c'}·g_{c'})/gs
//   dy_c = dg_c·SiLU(z_c);  dz_c = dg_c·y_c·SiLU'(z_c),  SiLU'(z) = σ(z)·(1 + z·(1 − σ(z)))
// Error budget: f32 storage, f64 sums over a group.

import { sigmoid, silu } from '../../../engine/reference/activations.js';

/**
 * Forward over `rows` rows of y, z (rows, dInner): returns ŷ (rows, dInner) and r (rows, G).
 * @example const { out, r } = gatedNormForward(y, z, w, G, 1e-5, B * T);
 */
export function gatedNormForward(y: Float32Array, z: Float32Array, w: Float32Array, G: number, eps: number, rows: number): { out: Float32Array; r: Float32Array } {
  const dInner = w.length;
  const gs = dInner / G;
  const out = new Float32Array(rows * dInner); // (rows, dInner)
  const r = new Float32Array(rows * G); // (rows, G)
  for (let row = 0; row < rows; row++) {
    for (let grp = 0; grp < G; grp++) {
      const o = row * dInner + grp * gs;
      let ss = 0;
      for (let c = 0; c < gs; c++) {
        const gv = y[o + c] * silu(z[o + c]);
        out[o + c] = gv;
        ss += gv * gv;
      }
      const inv = 1 / Math.sqrt(ss / gs + eps);
      r[row * G + grp] = inv;
      for (let c = 0; c < gs; c++) out[o + c] *= w[grp * gs + c] * inv;
    }
  }
  return { out, r };
}

/**
 * Backward: from dŷ (rows, dInner) returns ∂L/∂y and ∂L/∂z (rows, dInner each) and adds ∂L/∂w into dw.
 * @example const { dy, dz } = gatedNormBackward(y, z, w, r, G, dOut, dNormW);
 */
export function gatedNormBackward(
  y: Float32Array,
  z: Float32Array,
  w: Float32Array,
  r: Float32Array,
  G: number,
  dOut: Float32Array,
  dw: Float32Array,
): { dy: Float32Array; dz: Float32Array } {
  const dInner = w.length;
  const gs = dInner / G;
  const rows = y.length / dInner;
  const dy = new Float32Array(y.length); // (rows, dInner)
  const dz = new Float32Array(y.length); // (rows, dInner)
  const dwAcc = new Float64Array(dInner); // (dInner)
  const sg = new Float64Array(gs); // (gs) σ(z) over one group
  for (let row = 0; row < rows; row++) {
    for (let grp = 0; grp < G; grp++) {
      const o = row * dInner + grp * gs;
      const inv = r[row * G + grp];
      let ug = 0;
      for (let c = 0; c < gs; c++) {
        sg[c] = sigmoid(z[o + c]);
        const gv = y[o + c] * z[o + c] * sg[c];
        dwAcc[grp * gs + c] += dOut[o + c] * gv * inv;
        ug += dOut[o + c] * w[grp * gs + c] * gv;
      }
      const k = (inv * inv * inv * ug) / gs;
      for (let c = 0; c < gs; c++) {
        const zv = z[o + c];
        const s = sg[c];
        const dg = inv * dOut[o + c] * w[grp * gs + c] - y[o + c] * zv * s * k;
        dy[o + c] = dg * zv * s;
        dz[o + c] = dg * y[o + c] * s * (1 + zv * (1 - s));
      }
    }
  }
  for (let c = 0; c < dInner; c++) dw[c] += dwAcc[c];
  return { dy, dz };
}
