// spec §7: the training pass of a '*' layer: NoPE causal grouped-query attention, in f32.
//   q = u·W_qᵀ (BT, n_q·hd), k = u·W_kᵀ, v = u·W_vᵀ (BT, n_kv·hd); query head i reads kv head ⌊i/(n_q/n_kv)⌋
//   per sequence and head: S = q_h·k_hᵀ / √hd (T, T), P = softmax over j ≤ i (causal), o_h = P·v_h
//   y = concat_heads(o)·W_oᵀ
// backward per sequence and head: ∂P = ∂o_h·v_hᵀ, ∂v_h += Pᵀ·∂o_h,
//   ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P)), ∂q_h = ∂S·k_h/√hd, ∂k_h += ∂Sᵀ·q_h/√hd
// The per-head products run on linalg (the masked upper triangle is computed and zeroed).

import type { BlockFactory, BlockPass, TensorMap } from '../block.js';
import { addMatmulAtB, matmulAB, matmulABt } from '../linalg.js';

interface AttentionCache {
  readonly B: number;
  readonly T: number;
  readonly u: Float32Array; // (BT, d)
  readonly q: Float32Array; // (BT, n_q·hd)
  readonly k: Float32Array; // (BT, n_kv·hd)
  readonly v: Float32Array; // (BT, n_kv·hd)
  readonly p: Float32Array[]; // per (b, head): (T, T) softmax, zero above the diagonal
  readonly o: Float32Array; // (BT, n_q·hd)
}

/** Columns [c0, c0 + w) of rows [r0, r0 + T) of a (·, stride) matrix: (T, w). */
function slice(a: Float32Array, stride: number, r0: number, T: number, c0: number, w: number): Float32Array {
  const out = new Float32Array(T * w);
  for (let t = 0; t < T; t++) out.set(a.subarray((r0 + t) * stride + c0, (r0 + t) * stride + c0 + w), t * w);
  return out;
}

/** a[rows r0.., cols c0..] += s · src (T, w). */
function addSlice(a: Float32Array, stride: number, r0: number, c0: number, src: Float32Array, T: number, w: number, s: number): void {
  for (let t = 0; t < T; t++) {
    const off = (r0 + t) * stride + c0;
    for (let e = 0; e < w; e++) a[off + e] += s * src[t * w + e];
  }
}

/**
 * The attention mixer of layer `layer` (spec §7), scale 1/√hd as the reference backend uses.
 * @example const pass = attentionBlock(config, config.layers[3]);
 */
export const attentionBlock: BlockFactory = (config, layer) => {
  const { nHeads, nKvHeads, headDim: hd } = config.attention!;
  const d = config.dModel;
  const pre = `${layer.prefix}mixer.`;
  const [wq, wk, wv, wo] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((n) => `${pre}${n}.weight`);
  const qW = nHeads * hd;
  const kvW = nKvHeads * hd;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(hd);

  const pass: BlockPass<AttentionCache> = {
    forward(params: TensorMap, u, { B, T }) {
      const R = B * T;
      // 1. projections: (BT, d) → (BT, n_q·hd), (BT, n_kv·hd) ×2
      const q = matmulABt(u, params.get(wq)!, R, d, qW);
      const k = matmulABt(u, params.get(wk)!, R, d, kvW);
      const v = matmulABt(u, params.get(wv)!, R, d, kvW);
      const o = new Float32Array(R * qW);
      const p: Float32Array[] = [];
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < nHeads; i++) {
          const j = Math.floor(i / group);
          // 2. S = q_h·k_hᵀ·scale, causal softmax per row
          const s = matmulABt(slice(q, qW, b * T, T, i * hd, hd), slice(k, kvW, b * T, T, j * hd, hd), T, hd, T);
          for (let t = 0; t < T; t++) {
            const row = t * T;
            let max = -Infinity;
            for (let c = 0; c <= t; c++) max = Math.max(max, s[row + c] * scale);
            let sum = 0;
            for (let c = 0; c <= t; c++) sum += s[row + c] = Math.exp(s[row + c] * scale - max);
            for (let c = 0; c <= t; c++) s[row + c] /= sum;
            s.fill(0, row + t + 1, row + T);
          }
          p.push(s);
          // 3. o_h = P·v_h
          addSlice(o, qW, b * T, i * hd, matmulAB(s, slice(v, kvW, b * T, T, j * hd, hd), T, T, hd), T, hd, 1);
        }
      }
      // 4. y = o·W_oᵀ: (BT, n_q·hd) → (BT, d)
      return { y: matmulABt(o, params.get(wo)!, R, qW, d), cache: { B, T, u, q, k, v, p, o } };
    },

    backward(params, grads, cache, dy) {
      const { B, T, u, q, k, v, p, o } = cache;
      const R = B * T;
      addMatmulAtB(grads.get(wo)!, dy, o, R, d, qW);
      const dO = matmulAB(dy, params.get(wo)!, R, d, qW); // (BT, n_q·hd)
      const dq = new Float32Array(R * qW);
      const dk = new Float32Array(R * kvW);
      const dv = new Float32Array(R * kvW);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < nHeads; i++) {
          const j = Math.floor(i / group);
          const P = p[b * nHeads + i];
          const dOh = slice(dO, qW, b * T, T, i * hd, hd);
          const vh = slice(v, kvW, b * T, T, j * hd, hd);
          // ∂v_h += Pᵀ·∂o_h;  ∂P = ∂o_h·v_hᵀ
          addSlice(dv, kvW, b * T, j * hd, addMatmulAtB(new Float32Array(T * hd), P, dOh, T, T, hd), T, hd, 1);
          const dS = matmulABt(dOh, vh, T, hd, T);
          // ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P))
          for (let t = 0; t < T; t++) {
            const row = t * T;
            let dot = 0;
            for (let c = 0; c <= t; c++) dot += dS[row + c] * P[row + c];
            for (let c = 0; c < T; c++) dS[row + c] = c <= t ? P[row + c] * (dS[row + c] - dot) : 0;
          }
          addSlice(dq, qW, b * T, i * hd, matmulAB(dS, slice(k, kvW, b * T, T, j * hd, hd), T, T, hd), T, hd, scale);
          addSlice(dk, kvW, b * T, j * hd, addMatmulAtB(new Float32Array(T * hd), dS, slice(q, qW, b * T, T, i * hd, hd), T, T, hd), T, hd, scale);
        }
      }
      addMatmulAtB(grads.get(wq)!, dq, u, R, qW, d);
      addMatmulAtB(grads.get(wk)!, dk, u, R, kvW, d);
      addMatmulAtB(grads.get(wv)!, dv, u, R, kvW, d);
      const du = matmulAB(dq, params.get(wq)!, R, qW, d);
      const duk = matmulAB(dk, params.get(wk)!, R, kvW, d);
      const duv = matmulAB(dv, params.get(wv)!, R, kvW, d);
      for (let n = 0; n < du.length; n++) du[n] += duk[n] + duv[n];
      return du;
    },
  };
  return pass as BlockPass;
};
