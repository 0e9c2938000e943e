// spec §12: the tensors a NemotronH checkpoint must hold, and the lazy tensor store every
// loader (safetensors, later GGUF and the edge pack) presents to the backends.

import type { LayerSpec, ModelConfig } from './config.js';
import { MissingTensorError, TensorShapeError, UnsupportedDTypeError } from './errors.js';

/** Element types a tensor may be stored in (safetensors spelling lower-cased). */
export type DType = 'f32' | 'f16' | 'bf16' | 'f64' | 'u8' | 'i8' | 'i32' | 'i64' | 'f8_e4m3';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  f64: 8,
  u8: 1,
  i8: 1,
  i32: 4,
  i64: 8,
  f8_e4m3: 1,
};

/** Float dtypes a linear weight may have on the CPU backends today. */
export const LINEAR_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16'];
/** Float dtypes for small parameter vectors (norms, conv, A_log, D, dt_bias, router bias). */
export const PARAM_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'f64'];

/** One tensor in a checkpoint. Bytes are read only when a backend asks for them. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** Read the raw little-endian bytes into `dst` (dst.byteLength === byteLength). */
  readInto(dst: Uint8Array): Promise<void>;
}

/** A checkpoint's tensors by name, loaded lazily. */
export interface WeightStore {
  /** Human-readable origin (a path or URL) used in error messages. */
  readonly source: string;
  get(name: string): TensorEntry | undefined;
  names(): string[];
  /** Release file handles. */
  close(): Promise<void>;
}

/** What the config says a tensor must look like. */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtypes: readonly DType[];
}

/** Alternative spellings accepted for a tensor name (spec §12: tiny test repos). */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  'backbone.embeddings.weight': ['backbone.embedding.weight', 'model.embed_tokens.weight'],
};

/** Look a tensor up under its canonical name or any accepted alias. */
export function findTensor(store: WeightStore, name: string): TensorEntry | undefined {
  return store.get(name) ?? ALIASES[name]?.map((a) => store.get(a)).find((t) => t !== undefined);
}

function layerTensors(config: ModelConfig, layer: LayerSpec): TensorSpec[] {
  const d = config.dModel;
  const p = layer.prefix;
  const m = `${p}mixer.`;
  const out: TensorSpec[] = [{ name: `${p}norm.weight`, shape: [d], dtypes: PARAM_DTYPES }];
  const lin = (name: string, rows: number, cols: number) => out.push({ name: `${m}${name}.weight`, shape: [rows, cols], dtypes: LINEAR_DTYPES });
  const vec = (name: string, shape: number[]) => out.push({ name: `${m}${name}`, shape, dtypes: PARAM_DTYPES });
  switch (layer.kind) {
    case 'M': {
      const c = config.mamba!;
      lin('in_proj', c.inProjDim, d); // (T, d) → (T, 2·dInner + 2·G·N + H)
      vec('conv1d.weight', [c.convDim, 1, c.convKernel]);
      if (c.useConvBias) vec('conv1d.bias', [c.convDim]);
      vec('dt_bias', [c.nHeads]);
      vec('A_log', [c.nHeads]);
      vec('D', [c.nHeads]);
      vec('norm.weight', [c.dInner]);
      lin('out_proj', d, c.dInner);
      break;
    }
    case '*': {
      const a = config.attention!;
      lin('q_proj', a.nHeads * a.headDim, d);
      lin('k_proj', a.nKvHeads * a.headDim, d);
      lin('v_proj', a.nKvHeads * a.headDim, d);
      lin('o_proj', d, a.nHeads * a.headDim);
      break;
    }
    case 'E': {
      const e = config.moe!;
      const w = e.latentDim ?? d; // experts act in latent space for LatentMoE (spec §8)
      lin('gate', e.nExperts, d);
      vec('gate.e_score_correction_bias', [e.nExperts]);
      for (let x = 0; x < e.nExperts; x++) {
        lin(`experts.${x}.up_proj`, e.expertDim, w);
        lin(`experts.${x}.down_proj`, w, e.expertDim);
      }
      lin('shared_experts.up_proj', e.sharedDim, d);
      lin('shared_experts.down_proj', d, e.sharedDim);
      if (e.latentDim !== null) {
        lin('fc1_latent_proj', e.latentDim, d);
        lin('fc2_latent_proj', d, e.latentDim);
      }
      break;
    }
    case '-':
      lin('up_proj', config.mlpDim!, d);
      lin('down_proj', d, config.mlpDim!);
      break;
  }
  return out;
}

/**
 * Every tensor the trunk needs (spec §12), with its shape from the config. MTP tensors are
 * listed only when `withMtp` is set.
 * @example
 * for (const t of expectedTensors(config)) console.log(t.name, t.shape);
 */
export function expectedTensors(config: ModelConfig, withMtp = false): TensorSpec[] {
  const d = config.dModel;
  const out: TensorSpec[] = [
    { name: 'backbone.embeddings.weight', shape: [config.vocabSize, d], dtypes: LINEAR_DTYPES },
    { name: 'backbone.norm_f.weight', shape: [d], dtypes: PARAM_DTYPES },
  ];
  if (!config.tieEmbeddings) out.push({ name: 'lm_head.weight', shape: [config.vocabSize, d], dtypes: LINEAR_DTYPES });
  for (const layer of config.layers) {
    if (layer.il < config.nTrunkLayers || withMtp) out.push(...layerTensors(config, layer));
  }
  if (withMtp && config.mtp) {
    // spec §11: the MTP block's input norms and projection sit on its first sub-layer, the final
    // norm on its last: z = eh_proj · [enorm(Emb(x_{t+1})), hnorm(h_t)], ĥ = final_layernorm(z).
    const sub = config.layers.slice(config.nTrunkLayers);
    const first = sub[0].prefix;
    out.push(
      { name: `${first}enorm.weight`, shape: [d], dtypes: PARAM_DTYPES },
      { name: `${first}hnorm.weight`, shape: [d], dtypes: PARAM_DTYPES },
      { name: `${first}eh_proj.weight`, shape: [d, 2 * d], dtypes: LINEAR_DTYPES },
      { name: `${sub[sub.length - 1].prefix}final_layernorm.weight`, shape: [d], dtypes: PARAM_DTYPES },
    );
  }
  return out;
}

/** Canonical name of the output projection (the embedding when tied). */
export function headTensorName(config: ModelConfig): string {
  return config.tieEmbeddings ? 'backbone.embeddings.weight' : 'lm_head.weight';
}

/**
 * Check that the store holds every tensor the config needs, with the right shape and a usable
 * dtype. Throws the first problem as a named error; returns the tensors by canonical name.
 */
export function validateWeights(config: ModelConfig, store: WeightStore, withMtp = false): Map<string, TensorEntry> {
  const found = new Map<string, TensorEntry>();
  for (const spec of expectedTensors(config, withMtp)) {
    const t = findTensor(store, spec.name);
    if (!t) throw new MissingTensorError(spec.name, store.source);
    const shape = spec.name.endsWith('conv1d.weight') && t.shape.length === 2 ? [t.shape[0], 1, t.shape[1]] : t.shape;
    if (shape.length !== spec.shape.length || shape.some((v, i) => v !== spec.shape[i])) {
      throw new TensorShapeError(spec.name, spec.shape, t.shape);
    }
    if (!spec.dtypes.includes(t.dtype)) throw new UnsupportedDTypeError(spec.name, t.dtype, spec.dtypes);
    found.set(spec.name, t);
  }
  return found;
}
