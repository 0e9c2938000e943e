// spec §8: the training pass of an 'E' layer (plain and LatentMoE), in f32.
// Router per token: r = u·W_gᵀ (E), s = σ(r); the K experts with the largest s + b (b =
//   e_score_correction_bias, selection only; ties to the lower index); w_k = s_k, renormalised
//   w_k / (Σ w + 1e-20) when norm_topk_prob, × routed_scaling_factor.
// Experts: e_k(x) = W_down,k · relu(W_up,k · x)²; x = u, or u_ℓ = W_fc1·u for LatentMoE, whose
//   routed sum is brought back by W_fc2. Output = routed + shared(u) (the relu² MLP of width S).
// backward: the gradient flows through the selected weights, not through the discrete
//   selection. With S = Σ_k s_k + 1e-20 and c the scaling factor (normalised case):
//   ∂L/∂s_m = (c/S)·(∂w_m − Σ_k ∂w_k·s_k/S);  ∂L/∂r = ∂L/∂s · s(1 − s).
// Balancing (aux-loss-free, as Nemotron 3 / DeepSeek-V3 train): after each optimiser step
//   b_e += γ·sign(mean load − load_e), γ = ROUTER_BIAS_RATE; `load` counts tokens per expert.

import { InvalidOptionError } from '../../../engine/core/errors.js';
import type { BlockFactory, BlockPass, TensorMap } from '../block.js';
import { addMatmulAtB, matmulAB, matmulABt } from '../linalg.js';
import { relu2Backward, relu2Forward, type Relu2Cache } from './mlp.js';

/** γ of the bias update: the step of e_score_correction_bias per optimiser step (DeepSeek-V3
 * uses 1e-3 over ~10⁵ steps; a run of a few hundred steps needs a faster correction). */
export const ROUTER_BIAS_RATE = 1e-2;

/** What the MoE forward saved; `load` (E) is the tokens routed to each expert. */
export interface MoeCache {
  readonly R: number;
  readonly u: Float32Array; // (R, d)
  readonly s: Float32Array; // (R, E) router sigmoid scores
  readonly experts: Int32Array; // (R, K) selected experts
  readonly weights: Float32Array; // (R, K) final gate weights
  readonly routed: Float32Array; // (R, w) Σ_k w_k e_k
  readonly perExpert: ({ rows: Int32Array; slots: Int32Array; ys: Float32Array; cache: Relu2Cache } | null)[];
  readonly shared: Relu2Cache;
  readonly load: Float32Array; // (E)
}

/**
 * The aux-loss-free balancing step: bias_e += γ·sign(mean(load) − load_e).
 * @example updateRouterBias(params.get(`${p}mixer.gate.e_score_correction_bias`)!, load);
 */
export function updateRouterBias(bias: Float32Array, load: ArrayLike<number>, gamma = ROUTER_BIAS_RATE): void {
  let mean = 0;
  for (let e = 0; e < bias.length; e++) mean += load[e] / bias.length;
  for (let e = 0; e < bias.length; e++) bias[e] += gamma * Math.sign(mean - load[e]);
}

/**
 * The MoE mixer of layer `layer` (spec §8).
 * @example const pass = moeBlock(config, config.layers[1]);
 */
export const moeBlock: BlockFactory = (config, layer) => {
  const cfg = config.moe!;
  if (cfg.nGroup > 1) throw new InvalidOptionError('n_group', cfg.nGroup, '1 for training (group-limited routing is not trained)');
  const { nExperts: E, topK: K, routedScale, normTopK } = cfg;
  const d = config.dModel;
  const w = cfg.latentDim ?? d;
  const pre = `${layer.prefix}mixer.`;
  const gate = `${pre}gate.weight`;
  const bias = `${pre}gate.e_score_correction_bias`;
  const fc1 = `${pre}fc1_latent_proj.weight`;
  const fc2 = `${pre}fc2_latent_proj.weight`;
  const up = (e: number) => `${pre}experts.${e}.up_proj.weight`;
  const down = (e: number) => `${pre}experts.${e}.down_proj.weight`;
  const sUp = `${pre}shared_experts.up_proj.weight`;
  const sDown = `${pre}shared_experts.down_proj.weight`;
  const latent = cfg.latentDim !== null;

  const pass: BlockPass<MoeCache> = {
    forward(params: TensorMap, u, { B, T }) {
      const R = B * T;
      // 1. router: r = u·W_gᵀ (R, E), s = σ(r), top-K of s + b, weights
      const s = matmulABt(u, params.get(gate)!, R, d, E);
      for (let i = 0; i < s.length; i++) s[i] = 1 / (1 + Math.exp(-s[i]));
      const b = params.get(bias)!;
      const experts = new Int32Array(R * K);
      const weights = new Float32Array(R * K);
      const load = new Float32Array(E);
      const taken = new Uint8Array(E);
      for (let t = 0; t < R; t++) {
        taken.fill(0);
        let sum = 0;
        for (let k = 0; k < K; k++) {
          let best = -1;
          for (let e = 0; e < E; e++) if (!taken[e] && (best < 0 || s[t * E + e] + b[e] > s[t * E + best] + b[best])) best = e;
          taken[best] = 1;
          experts[t * K + k] = best;
          weights[t * K + k] = s[t * E + best];
          sum += s[t * E + best];
          load[best]++;
        }
        const norm = normTopK ? 1 / (sum + 1e-20) : 1;
        for (let k = 0; k < K; k++) weights[t * K + k] *= norm * routedScale;
      }
      // 2. expert input: u, or u_ℓ = u·W_fc1ᵀ (R, ℓ)
      const xe = latent ? matmulABt(u, params.get(fc1)!, R, d, w) : u;
      // 3. each expert on its gathered rows, scattered back with its gate weight
      const routed = new Float32Array(R * w);
      const perExpert: MoeCache['perExpert'] = [];
      for (let e = 0; e < E; e++) {
        const rows: number[] = [];
        const slots: number[] = [];
        for (let i = 0; i < R * K; i++) if (experts[i] === e) (rows.push(Math.floor(i / K)), slots.push(i));
        if (rows.length === 0) {
          perExpert.push(null);
          continue;
        }
        const xs = new Float32Array(rows.length * w); // (n_e, w)
        rows.forEach((t, n) => xs.set(xe.subarray(t * w, (t + 1) * w), n * w));
        const { y: ys, cache } = relu2Forward(params.get(up(e))!, params.get(down(e))!, xs, rows.length);
        rows.forEach((t, n) => {
          const g = weights[slots[n]];
          for (let c = 0; c < w; c++) routed[t * w + c] += g * ys[n * w + c];
        });
        perExpert.push({ rows: Int32Array.from(rows), slots: Int32Array.from(slots), ys, cache });
      }
      // 4. back to width d (LatentMoE), plus the shared expert
      const y = latent ? matmulABt(routed, params.get(fc2)!, R, w, d) : routed.slice();
      const shared = relu2Forward(params.get(sUp)!, params.get(sDown)!, u, R);
      for (let i = 0; i < y.length; i++) y[i] += shared.y[i];
      return { y, cache: { R, u, s, experts, weights, routed, perExpert, shared: shared.cache, load } };
    },

    backward(params, grads, cache, dy) {
      const { R, u, s, experts, weights, routed, perExpert } = cache;
      const du = relu2Backward(params.get(sUp)!, params.get(sDown)!, grads.get(sUp)!, grads.get(sDown)!, cache.shared, dy);
      let dRouted = dy;
      if (latent) {
        addMatmulAtB(grads.get(fc2)!, dy, routed, R, d, w);
        dRouted = matmulAB(dy, params.get(fc2)!, R, d, w); // (R, ℓ)
      }
      const dxe = new Float32Array(R * w);
      const dWeights = new Float32Array(R * K); // ∂L/∂w_k
      perExpert.forEach((pe, e) => {
        if (!pe) return;
        const n = pe.rows.length;
        const dys = new Float32Array(n * w);
        for (let i = 0; i < n; i++) {
          const t = pe.rows[i];
          const g = weights[pe.slots[i]];
          let dg = 0;
          for (let c = 0; c < w; c++) {
            dys[i * w + c] = g * dRouted[t * w + c];
            dg += pe.ys[i * w + c] * dRouted[t * w + c];
          }
          dWeights[pe.slots[i]] = dg;
        }
        const dxs = relu2Backward(params.get(up(e))!, params.get(down(e))!, grads.get(up(e))!, grads.get(down(e))!, pe.cache, dys);
        for (let i = 0; i < n; i++) {
          const t = pe.rows[i];
          for (let c = 0; c < w; c++) dxe[t * w + c] += dxs[i * w + c];
        }
      });
      if (latent) {
        addMatmulAtB(grads.get(fc1)!, dxe, u, R, w, d);
        const dul = matmulAB(dxe, params.get(fc1)!, R, w, d);
        for (let i = 0; i < du.length; i++) du[i] += dul[i];
      } else {
        for (let i = 0; i < du.length; i++) du[i] += dxe[i];
      }
      // router: ∂w → ∂s (selected experts only) → ∂r
      const dr = new Float32Array(R * E);
      for (let t = 0; t < R; t++) {
        let sum = 1e-20;
        for (let k = 0; k < K; k++) sum += s[t * E + experts[t * K + k]];
        let dot = 0; // Σ_k ∂w_k s_k / S
        for (let k = 0; k < K; k++) dot += (dWeights[t * K + k] * s[t * E + experts[t * K + k]]) / sum;
        for (let k = 0; k < K; k++) {
          const e = experts[t * K + k];
          const se = s[t * E + e];
          const ds = normTopK ? (routedScale / sum) * (dWeights[t * K + k] - dot) : routedScale * dWeights[t * K + k];
          dr[t * E + e] = ds * se * (1 - se);
        }
      }
      addMatmulAtB(grads.get(gate)!, dr, u, R, E, d);
      const dug = matmulAB(dr, params.get(gate)!, R, E, d);
      for (let i = 0; i < du.length; i++) du[i] += dug[i];
      return du;
    },
  };
  return pass as BlockPass;
};
