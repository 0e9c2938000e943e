// spec §4 and §11: the whole NemotronH training pass over config.layers, in f32.
// Trunk: x = Emb[x_t]; per layer u = RMSNorm_il(x), x += Mixer_kind(u); h = RMSNorm_f(x);
//   L_main = CE(h·W_lmᵀ, x_{t+1}).
// MTP (when config.mtp is set): z = W_eh·[enorm(Emb(x_{t+1})), hnorm(h_t)]; per MTP sub-layer
//   u = RMSNorm(z), z += Mixer(u); ĥ = final_layernorm(z); L_mtp = CE(ĥ·W_lmᵀ, x_{t+2}) with the
//   shared lm_head. The objective is L_main + MTP_LOSS_WEIGHT·L_mtp; both are reported.
// Each step reads B windows of T + 1 (+1 with MTP) tokens: inputs x_0..x_{T−1}, targets shifted.

import type { LayerKind, ModelConfig } from '../../engine/core/config.js';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { headTensorName } from '../../engine/core/weights.js';
import type { BlockFactory, BlockPass, TensorMap } from './block.js';
import { attentionBlock } from './blocks/attention.js';
import { embedBackward, embedForward } from './blocks/embedding.js';
import { headLoss } from './blocks/head.js';
import { mamba2Block } from './blocks/mamba2.js';
import { mlpBlock } from './blocks/mlp.js';
import { moeBlock, type MoeCache } from './blocks/moe.js';
import { rmsnormBackward, rmsnormForward, type RmsnormCache } from './blocks/rmsnorm.js';
import { matmulAB, matmulABt, addMatmulAtB } from './linalg.js';

/** Weight of the MTP loss in the objective (spec §11: loss scale 0.3). */
export const MTP_LOSS_WEIGHT = 0.3;

/** The pass of every layer kind. */
export const BLOCK_FACTORIES: Record<LayerKind, BlockFactory> = { M: mamba2Block, '*': attentionBlock, E: moeBlock, '-': mlpBlock };

/** What one step of lossAndGrads measured. */
export interface StepStats {
  /** Mean next-token cross-entropy of the trunk (nats). */
  readonly loss: number;
  /** Mean cross-entropy of the MTP head on x_{t+2} (nats), or null without MTP. */
  readonly mtpLoss: number | null;
  /** Tokens routed to each expert, per MoE layer prefix (for the bias update). */
  readonly loads: Map<string, Float32Array>;
}

interface LayerRun {
  readonly norm: RmsnormCache;
  readonly cache: unknown;
}

/**
 * Tokens per training window: T inputs plus the shifted targets (one more with MTP).
 * @example windowLength(config, 256) // 258 for the demo preset (MTP)
 */
export function windowLength(config: ModelConfig, T: number): number {
  return T + 1 + (config.mtp ? 1 : 0);
}

/**
 * The training graph of one config: forward, loss, backward.
 * @example
 * const model = new TrainModel(config);
 * const stats = model.lossAndGrads(params, grads, windows, B, T); // grads accumulated
 */
export class TrainModel {
  private readonly passes: BlockPass[];

  constructor(readonly config: ModelConfig) {
    if (config.mtp && config.mtp.nPredict !== 1) throw new InvalidOptionError('num_nextn_predict_layers', config.mtp.nPredict, '1 for training');
    this.passes = config.layers.map((layer) => BLOCK_FACTORIES[layer.kind](config, layer));
  }

  /**
   * Loss on B windows (B × windowLength(T) token ids, row-major) and its gradient ADDED into
   * `grads` (same names and sizes as `params`).
   */
  lossAndGrads(params: TensorMap, grads: TensorMap, windows: Int32Array, B: number, T: number): StepStats {
    const { config } = this;
    const d = config.dModel;
    const eps = config.normEps;
    const W = windowLength(config, T);
    if (windows.length !== B * W) throw new InvalidOptionError('windows', windows.length, `B·(T+${W - T}) = ${B * W} token ids`);
    const shifted = (s: number) => Int32Array.from({ length: B * T }, (_, i) => windows[Math.floor(i / T) * W + (i % T) + s]);
    const shape = { B, T };
    const emb = 'backbone.embeddings.weight';
    const head = headTensorName(config);
    const loads = new Map<string, Float32Array>();

    // x ← x + Mixer(RMSNorm(x)) per layer; each layer's input stays intact (its norm cache holds it)
    const runLayers = (x0: Float32Array, first: number, count: number): { x: Float32Array; runs: LayerRun[] } => {
      let x = x0;
      const runs = config.layers.slice(first, first + count).map((layer) => {
        const { y: u, cache: norm } = rmsnormForward(x, params.get(`${layer.prefix}norm.weight`)!, eps);
        const { y, cache } = this.passes[layer.il].forward(params, u, shape);
        for (let i = 0; i < y.length; i++) y[i] += x[i];
        x = y;
        if (layer.kind === 'E') loads.set(layer.prefix, (cache as MoeCache).load);
        return { norm, cache };
      });
      return { x, runs };
    };
    const backLayers = (dx: Float32Array, first: number, runs: LayerRun[]) => {
      for (let j = runs.length - 1; j >= 0; j--) {
        const layer = config.layers[first + j];
        const du = this.passes[layer.il].backward(params, grads, runs[j].cache, dx);
        const w = `${layer.prefix}norm.weight`;
        const dn = rmsnormBackward(params.get(w)!, grads.get(w)!, runs[j].norm, du);
        for (let i = 0; i < dx.length; i++) dx[i] += dn[i];
      }
    };

    // trunk forward: x = Emb[x_t]; layers; h = RMSNorm_f(x); L_main
    const inputs = shifted(0);
    const { x, runs: trunk } = runLayers(embedForward(params.get(emb)!, inputs, d), 0, config.nTrunkLayers);
    const { y: h, cache: normF } = rmsnormForward(x, params.get('backbone.norm_f.weight')!, eps);
    const main = headLoss(params.get(head)!, h, shifted(1), d, grads.get(head)!, 1);
    const dh = main.dh;

    let mtpLoss: number | null = null;
    if (config.mtp) {
      const sub = config.layers.slice(config.nTrunkLayers);
      const p0 = sub[0].prefix;
      const pLast = sub[sub.length - 1].prefix;
      // z = W_eh·[enorm(Emb(x_{t+1})), hnorm(h_t)]: (BT, 2d) → (BT, d)
      const next = shifted(1);
      const { y: en, cache: enCache } = rmsnormForward(embedForward(params.get(emb)!, next, d), params.get(`${p0}enorm.weight`)!, eps);
      const { y: hn, cache: hnCache } = rmsnormForward(h, params.get(`${p0}hnorm.weight`)!, eps);
      const R = B * T;
      const cat = new Float32Array(R * 2 * d);
      for (let r = 0; r < R; r++) {
        cat.set(en.subarray(r * d, (r + 1) * d), r * 2 * d);
        cat.set(hn.subarray(r * d, (r + 1) * d), r * 2 * d + d);
      }
      const { x: z, runs } = runLayers(matmulABt(cat, params.get(`${p0}eh_proj.weight`)!, R, 2 * d, d), config.nTrunkLayers, sub.length);
      const fl = `${pLast}final_layernorm.weight`;
      const { y: hh, cache: flCache } = rmsnormForward(z, params.get(fl)!, eps);
      const mtp = headLoss(params.get(head)!, hh, shifted(2), d, grads.get(head)!, MTP_LOSS_WEIGHT);
      mtpLoss = mtp.loss;
      // MTP backward
      const dz = rmsnormBackward(params.get(fl)!, grads.get(fl)!, flCache, mtp.dh);
      backLayers(dz, config.nTrunkLayers, runs);
      addMatmulAtB(grads.get(`${p0}eh_proj.weight`)!, dz, cat, R, d, 2 * d);
      const dcat = matmulAB(dz, params.get(`${p0}eh_proj.weight`)!, R, d, 2 * d);
      const den = new Float32Array(R * d);
      const dhn = new Float32Array(R * d);
      for (let r = 0; r < R; r++) {
        den.set(dcat.subarray(r * 2 * d, r * 2 * d + d), r * d);
        dhn.set(dcat.subarray(r * 2 * d + d, (r + 1) * 2 * d), r * d);
      }
      const de = rmsnormBackward(params.get(`${p0}enorm.weight`)!, grads.get(`${p0}enorm.weight`)!, enCache, den);
      embedBackward(grads.get(emb)!, next, de, d);
      const dhFromMtp = rmsnormBackward(params.get(`${p0}hnorm.weight`)!, grads.get(`${p0}hnorm.weight`)!, hnCache, dhn);
      for (let i = 0; i < dh.length; i++) dh[i] += dhFromMtp[i];
    }

    // trunk backward
    const dx = rmsnormBackward(params.get('backbone.norm_f.weight')!, grads.get('backbone.norm_f.weight')!, normF, dh);
    backLayers(dx, 0, trunk);
    embedBackward(grads.get(emb)!, inputs, dx, d);
    return { loss: main.loss, mtpLoss, loads };
  }
}
