// spec §8: the sigmoid-routed MoE mixer of an 'E' layer (plain and LatentMoE), in f64.
// Router, per token (always at full width d):
//   1. r = W_g · u   2. s = σ(r)   3. s' = s + b (correction bias: selection only)
//   4. if n_group > 1: group score = sum of the top-2 s' in each group; keep the topk_group best
//      groups, s' = −∞ elsewhere
//   5. idx = the K largest s'; ties go to the LOWER expert index (and the lower group index in 4)
//   6. w_k = s[idx_k] (unbiased)   7. if normTopK: w_k ← w_k / (Σ w + 1e-20)   8. w_k ← w_k · routedScale
// Experts (non-gated relu²): e_k(x) = W_down,k · relu(W_up,k · x)²
//   plain:  routed = Σ_k w_k e_k(u)
//   latent: u_ℓ = W_fc1 · u;  routed = W_fc2 · Σ_k w_k e_k(u_ℓ)
// Output: routed + shared(u), shared = the relu² MLP of width S at full width d, always on.
// Only the routed experts' weights are read. Error budget: f64 rounding only.

import type { ModelConfig, MoeConfig } from '../core/config.js';
import { RefAct } from './act.js';
import { sigmoid } from './activations.js';
import { matmul } from './matmul.js';
import { relu2Mlp } from './mlp.js';
import type { TensorCache } from './tensors.js';

/** The experts one token is routed to, in selection order, with their final weights. */
export interface Route {
  readonly experts: number[]; // (K) expert indices
  readonly weights: number[]; // (K) w_k after renormalisation and scaling
}

// a before b when a's score is higher, or equal with the lower index
const byScoreThenIndex = (score: ArrayLike<number>) => (a: number, b: number) => score[b] - score[a] || a - b;

/**
 * Steps 2–8 of the router for one token, from its router logits r (E) and the correction bias
 * b (E).
 * @example
 * route(new Float64Array([0, Math.log(3)]), new Float64Array(2), { ...moe, topK: 1 })
 * // { experts: [1], weights: [routedScale] }   (σ = 0.5, 0.75; renormalised to 1)
 */
export function route(r: ArrayLike<number>, bias: ArrayLike<number>, cfg: MoeConfig): Route {
  const E = cfg.nExperts;
  // 2. s = σ(r);  3. s' = s + b
  const s = Array.from({ length: E }, (_, e) => sigmoid(r[e]));
  const biased = s.map((v, e) => v + bias[e]);
  // 4. group-limited routing
  if (cfg.nGroup > 1) {
    const gs = E / cfg.nGroup; // experts per group
    const groupScore = Array.from({ length: cfg.nGroup }, (_, g) => {
      const members = biased.slice(g * gs, (g + 1) * gs).sort((x, y) => y - x);
      return members.slice(0, 2).reduce((acc, v) => acc + v, 0);
    });
    const groups = groupScore.map((_, g) => g).sort(byScoreThenIndex(groupScore));
    const kept = new Set(groups.slice(0, cfg.topkGroup));
    for (let e = 0; e < E; e++) if (!kept.has(Math.floor(e / gs))) biased[e] = -Infinity;
  }
  // 5. top-K of s', ties to the lower index
  const experts = biased
    .map((_, e) => e)
    .sort(byScoreThenIndex(biased))
    .slice(0, cfg.topK);
  // 6. unbiased weights;  7. renormalise;  8. scale
  let weights = experts.map((e) => s[e]);
  if (cfg.normTopK) {
    const sum = weights.reduce((acc, w) => acc + w, 0) + 1e-20;
    weights = weights.map((w) => w / sum);
  }
  return { experts, weights: weights.map((w) => w * cfg.routedScale) };
}

/**
 * The MoE mixer of layer il on u (T, d): (T, d) → (T, d).
 * @example const out = moe(config, cache, il, u);
 */
export function moe(config: ModelConfig, cache: TensorCache, il: number, u: RefAct): RefAct {
  const cfg = config.moe!;
  const pre = `${config.layers[il].prefix}mixer.`;
  const T = u.rows;

  // 1. router logits in f64: (T, d) → (T, E); steps 2–8 per token
  const logits = matmul(u, cache.linear(`${pre}gate.weight`), cache.tap);
  const bias = cache.vector(`${pre}gate.e_score_correction_bias`); // (E)
  const routes = Array.from({ length: T }, (_, t) => route(logits.row(t), bias, cfg));

  // expert input: u, or u_ℓ = W_fc1 · u for LatentMoE: (T, d) → (T, ℓ)
  const xe = cfg.latentDim === null ? u : matmul(u, cache.linear(`${pre}fc1_latent_proj.weight`), cache.tap);
  const w = xe.cols; // d or ℓ
  const routed = RefAct.zeros(T, w); // (T, w) Σ_k w_k e_k
  for (let e = 0; e < cfg.nExperts; e++) {
    // the tokens routed to expert e, with their weights
    const tokens: number[] = [];
    const gains: number[] = [];
    routes.forEach((r, t) => {
      const k = r.experts.indexOf(e);
      if (k >= 0) {
        tokens.push(t);
        gains.push(r.weights[k]);
      }
    });
    if (tokens.length === 0) continue;
    const xs = RefAct.zeros(tokens.length, w); // (n_e, w) gathered rows
    tokens.forEach((t, i) => xs.data.set(xe.row(t), i * w));
    const ys = relu2Mlp(xs, cache.linear(`${pre}experts.${e}.up_proj.weight`), cache.linear(`${pre}experts.${e}.down_proj.weight`), cache.tap);
    tokens.forEach((t, i) => {
      for (let c = 0; c < w; c++) routed.data[t * w + c] += gains[i] * ys.data[i * w + c];
    });
  }
  // LatentMoE: back to width d: (T, ℓ) → (T, d)
  const out = cfg.latentDim === null ? routed : matmul(routed, cache.linear(`${pre}fc2_latent_proj.weight`), cache.tap);

  // shared expert at full width, always added
  const shared = relu2Mlp(u, cache.linear(`${pre}shared_experts.up_proj.weight`), cache.linear(`${pre}shared_experts.down_proj.weight`), cache.tap);
  for (let i = 0; i < out.data.length; i++) out.data[i] += shared.data[i];
  return out;
}
