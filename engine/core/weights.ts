// spec §12: the tensors a NemotronH checkpoint must hold, and the lazy tensor store every
// loader (safetensors, later GGUF and the edge pack) presents to the backends. A linear weight
// may be a float matrix or, with its sidecars, nvfp4 / nvfp4-s24 (spec §14.1, DESIGN §3), or
// ModelOpt FP8 (f8_e4m3 with a per-tensor scale), which reads as bf16 (engine/formats/fp8.ts).
// The checkpoint's quantisation config (engine/formats/modelopt.ts) is checked against the
// stored dtypes where they disagree in a way that changes the numbers.

import { FP8_SCALE_DTYPES, fp8AsBf16 } from '../formats/fp8.js';
import { CHECKPOINT_QUANT_ALGOS, moduleQuant, parseQuantScheme, QUANT_ALGOS, type QuantScheme } from '../formats/modelopt.js';
import { NVFP4_BLOCK } from '../formats/nvfp4.js';
import type { LayerSpec, ModelConfig } from './config.js';
import { MissingTensorError, QuantizedLayoutError, TensorShapeError, TruncatedTensorError, UnsupportedDTypeError, UnsupportedQuantizationError } from './errors.js';

/** ggml block types a linear weight may keep as stored (engine/formats/ggml-blocks.ts), in the order they were added. */
export const GGML_BLOCK_DTYPES = ['q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k', 'q4_1', 'q5_0', 'q5_1'] as const;
export type GgmlBlockDType = (typeof GGML_BLOCK_DTYPES)[number];

/** Element types a tensor may be stored in (safetensors spelling lower-cased). */
export type DType = 'f32' | 'f16' | 'bf16' | 'f64' | 'u8' | 'i8' | 'i32' | 'i64' | 'f8_e4m3' | GgmlBlockDType;

/** Bytes per element of each dtype (a ggml block dtype: block bytes / block values, engine/formats/ggml-blocks.ts). */
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
  q8_0: 34 / 32,
  q4_0: 18 / 32,
  q4_k: 144 / 256,
  q5_k: 176 / 256,
  q6_k: 210 / 256,
  q4_1: 20 / 32,
  q5_0: 22 / 32,
  q5_1: 24 / 32,
};

/** Dtypes a linear weight may have on the CPU backends today: float, or ggml blocks kept as stored. */
export const LINEAR_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', ...GGML_BLOCK_DTYPES];
/**
 * Storage formats of a linear weight [out, in] (DESIGN §3): a float dtype, or NVFP4 (spec §14.1,
 * ModelOpt layout) dense or 2:4 sparse. Format names are append-only.
 */
export type LinearFormat = 'f32' | 'f16' | 'bf16' | 'nvfp4' | 'nvfp4-s24' | GgmlBlockDType;
/** Every linear-weight format, in the order they were added. */
export const LINEAR_FORMATS: readonly LinearFormat[] = ['f32', 'f16', 'bf16', 'nvfp4', 'nvfp4-s24', ...GGML_BLOCK_DTYPES];

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
  /** A linear weight [out, in]: it may also be stored in a 4-bit format with sidecars. */
  readonly linear?: boolean;
}

/** Alternative spellings accepted for a tensor name (spec §12: tiny test repos). */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  'backbone.embeddings.weight': ['backbone.embedding.weight', 'model.embed_tokens.weight'],
};

/** Look a tensor up under its canonical name or any accepted alias. */
export function findTensor(store: WeightStore, name: string): TensorEntry | undefined {
  return store.get(name) ?? ALIASES[name]?.map((a) => store.get(a)).find((t) => t !== undefined);
}

const linearSpec = (name: string, rows: number, cols: number): TensorSpec => ({ name, shape: [rows, cols], dtypes: LINEAR_DTYPES, linear: true });

function layerTensors(config: ModelConfig, layer: LayerSpec): TensorSpec[] {
  const d = config.dModel;
  const p = layer.prefix;
  const m = `${p}mixer.`;
  const out: TensorSpec[] = [{ name: `${p}norm.weight`, shape: [d], dtypes: PARAM_DTYPES }];
  const lin = (name: string, rows: number, cols: number) => out.push(linearSpec(`${m}${name}.weight`, rows, cols));
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
    linearSpec('backbone.embeddings.weight', config.vocabSize, d),
    { name: 'backbone.norm_f.weight', shape: [d], dtypes: PARAM_DTYPES },
  ];
  if (!config.tieEmbeddings) out.push(linearSpec('lm_head.weight', config.vocabSize, d));
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
      linearSpec(`${first}eh_proj.weight`, d, 2 * d),
      { name: `${sub[sub.length - 1].prefix}final_layernorm.weight`, shape: [d], dtypes: PARAM_DTYPES },
    );
  }
  return out;
}

/** Canonical name of the output projection (the embedding when tied). */
export function headTensorName(config: ModelConfig): string {
  return config.tieEmbeddings ? 'backbone.embeddings.weight' : 'lm_head.weight';
}

/** Names of a quantised linear weight's sidecar tensors (ModelOpt names, spec §12; `weight_pos` is edgetron's). */
export interface SidecarNames {
  readonly scale: string; // X.weight_scale    E4M3 [out, in/16]
  readonly scale2: string; // X.weight_scale_2  f32 [] or [1]
  readonly positions: string; // X.weight_pos  u8 [out, in/8] (nvfp4-s24 only)
  readonly inputScale: string; // X.input_scale  f32 scalar: checked, never applied (activations stay f32: W4A16, W8A16)
}

/**
 * Sidecar names of the linear weight `X.weight`.
 * @example sidecarNames('lm_head.weight').scale // 'lm_head.weight_scale'
 */
export function sidecarNames(weightName: string): SidecarNames {
  const base = weightName.replace(/\.weight$/, '');
  return { scale: `${base}.weight_scale`, scale2: `${base}.weight_scale_2`, positions: `${base}.weight_pos`, inputScale: `${base}.input_scale` };
}

/**
 * A linear weight [rows = out, cols = in] in one of the LinearFormats, as the parts the backends
 * read: `weight` (the float matrix, or the packed E2M1 codes), and for the 4-bit formats `scale`
 * (E4M3 [rows, cols/16]), `scale2` (f32 scalar) and, for nvfp4-s24, `positions` (u8 [rows, cols/8]).
 */
export interface LinearWeight<T = TensorEntry> {
  readonly name: string;
  readonly format: LinearFormat;
  readonly rows: number;
  readonly cols: number;
  readonly weight: T;
  readonly scale?: T;
  readonly scale2?: T;
  readonly positions?: T;
}

/**
 * The `LinearWeight` view of linear tensor `name` in a validated tensor map (`validateWeights`
 * puts the sidecars beside the weight under canonical names).
 * @example
 * const w = linearWeight(validateWeights(config, store), 'lm_head.weight'); // w.format: 'nvfp4'
 */
export function linearWeight(tensors: ReadonlyMap<string, TensorEntry>, name: string): LinearWeight {
  const weight = tensors.get(name);
  if (!weight) throw new MissingTensorError(name, 'the validated tensors');
  const rows = weight.shape[0];
  if (weight.dtype !== 'u8') return { name, format: weight.dtype as LinearFormat, rows, cols: weight.shape[1], weight };
  const side = sidecarNames(name);
  const positions = tensors.get(side.positions);
  const scale = tensors.get(side.scale);
  const scale2 = tensors.get(side.scale2);
  const cols = scale!.shape[1] * NVFP4_BLOCK;
  return positions
    ? { name, format: 'nvfp4-s24', rows, cols, weight, scale, scale2, positions }
    : { name, format: 'nvfp4', rows, cols, weight, scale, scale2 };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Check one tensor's shape, dtype and byte length against what it must be. */
function checkTensor(name: string, t: TensorEntry, shape: readonly number[], dtypes: readonly DType[]): void {
  if (!sameShape(t.shape, shape)) throw new TensorShapeError(name, shape, t.shape);
  if (!dtypes.includes(t.dtype)) throw new UnsupportedDTypeError(name, t.dtype, dtypes);
  const bytes = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
  if (t.byteLength !== bytes) throw new TruncatedTensorError(name, bytes, t.byteLength);
}

/**
 * A u8 linear weight is nvfp4 (codes [out, in/2]) or, with a `weight_pos` sidecar, nvfp4-s24
 * (codes [out, in/4]); check it and its sidecars against the logical shape [out, in] and add
 * them to `found` under canonical names.
 */
function validateQuantized(spec: TensorSpec, t: TensorEntry, store: WeightStore, found: Map<string, TensorEntry>): void {
  const [rows, cols] = spec.shape;
  if (cols % NVFP4_BLOCK !== 0) throw new QuantizedLayoutError(spec.name, `K = ${cols} is not a multiple of ${NVFP4_BLOCK}, the NVFP4 block`);
  const stored = sidecarNames(t.name);
  const canonical = sidecarNames(spec.name);
  const get = (name: string) => {
    const e = store.get(name);
    if (!e) throw new MissingTensorError(name, store.source);
    return e;
  };
  const positions = store.get(stored.positions);
  checkTensor(spec.name, t, [rows, positions ? cols / 4 : cols / 2], ['u8']);
  found.set(spec.name, t);
  const scale = get(stored.scale);
  checkTensor(stored.scale, scale, [rows, cols / NVFP4_BLOCK], ['f8_e4m3']);
  found.set(canonical.scale, scale);
  const scale2 = get(stored.scale2);
  checkTensor(stored.scale2, scale2, scalarShape(scale2), ['f32']);
  found.set(canonical.scale2, scale2);
  if (positions) {
    checkTensor(stored.positions, positions, [rows, cols / 8], ['u8']);
    found.set(canonical.positions, positions);
  }
  checkInputScale(store, stored.inputScale);
}

/** A scalar scale's shape: [] or [1], as stored. */
const scalarShape = (t: TensorEntry) => (t.shape.length === 0 ? [] : [1]);

/** `X.input_scale`, where there is one, must be a float scalar (it is kept, never applied). */
function checkInputScale(store: WeightStore, name: string): TensorEntry | undefined {
  const t = store.get(name);
  if (t) checkTensor(name, t, scalarShape(t), FP8_SCALE_DTYPES);
  return t;
}

/**
 * An f8_e4m3 linear weight is ModelOpt FP8 (spec §12): codes [out, in] with a per-tensor
 * `weight_scale` (f32 or bf16 scalar) and usually an `input_scale`; it enters `found` as the bf16
 * view that decodes E4M3 · weight_scale (engine/formats/fp8.ts).
 */
function validateFp8(spec: TensorSpec, t: TensorEntry, store: WeightStore, found: Map<string, TensorEntry>): void {
  checkTensor(spec.name, t, spec.shape, ['f8_e4m3']);
  const stored = sidecarNames(t.name);
  const scale = store.get(stored.scale);
  if (!scale) throw new MissingTensorError(stored.scale, `${store.source} (the per-tensor scale of the FP8 weight ${t.name})`);
  if (scale.shape.length > 1 || (scale.shape.length === 1 && scale.shape[0] !== 1)) {
    throw new QuantizedLayoutError(stored.scale, `shape [${scale.shape.join(', ')}]: FP8 weights load with one per-tensor scale ([] or [1]); per-channel or block scales are not supported`);
  }
  checkTensor(stored.scale, scale, scalarShape(scale), FP8_SCALE_DTYPES);
  const inputScale = checkInputScale(store, stored.inputScale);
  found.set(spec.name, fp8AsBf16({ weight: t, scale, inputScale }) as TensorEntry);
}

/** Float dtypes: a weight stored so is read as it is, whatever the quantisation config says. */
const isFloat = (t: TensorEntry) => PARAM_DTYPES.includes(t.dtype);

/**
 * Check linear weight `spec` (stored as `t`, if present) against the checkpoint's quantisation
 * config where it matters: an algorithm edgetron cannot load for a weight not stored in float, an
 * NVFP4 group size other than 16, FP8 in the config but NVFP4 codes in the file (or the reverse),
 * and a float weight with a `weight_scale` beside it that the config calls quantised (is it
 * dequantised already?). A quantised module the config excludes, or a float one it quantises
 * (ModelOpt leaves some, e.g. the router gate), loads as stored.
 */
function checkQuantConfig(scheme: QuantScheme, spec: TensorSpec, t: TensorEntry | undefined, store: WeightStore): void {
  const name = t?.name ?? spec.name;
  const module = name.replace(/\.weight$/, '');
  const canonical = spec.name.replace(/\.weight$/, '');
  const q = canonical === module ? moduleQuant(scheme, module) : moduleQuant(scheme, module) && moduleQuant(scheme, canonical);
  if (!q || (t && isFloat(t) && !store.get(sidecarNames(name).scale))) return;
  const algo = q.algo || '(no quant_algo)';
  if (!(QUANT_ALGOS as readonly string[]).includes(algo)) throw new UnsupportedQuantizationError(name, algo, scheme.source, scheme.method === 'modelopt' ? CHECKPOINT_QUANT_ALGOS : ['quant_method "modelopt"']);
  if (algo === 'NVFP4' && q.groupSize !== null && q.groupSize !== NVFP4_BLOCK) {
    throw new UnsupportedQuantizationError(name, `NVFP4 with group_size ${q.groupSize}`, scheme.source, [`group_size ${NVFP4_BLOCK}`]);
  }
  if (!t) return;
  const storedAs = t.dtype === 'u8' ? 'NVFP4' : t.dtype === 'f8_e4m3' ? 'FP8' : null;
  if (storedAs === null) {
    throw new QuantizedLayoutError(name, `${scheme.source} quantises ${module} as ${algo} and ${sidecarNames(name).scale} is present, but the weight is stored as ${t.dtype}; is it already dequantised? Remove the scale or store the ${algo} codes`);
  }
  if (storedAs !== algo) {
    throw new QuantizedLayoutError(name, `${scheme.source} quantises ${module} as ${algo}, but it is stored as ${t.dtype} (${storedAs})`);
  }
}

/**
 * Check that the store holds every tensor the config needs, with the right shape, a usable dtype
 * and as many bytes as those imply. A linear weight may be a float matrix or nvfp4 / nvfp4-s24
 * with its sidecars (DESIGN §3), which are added to the result beside it, or ModelOpt FP8, which
 * enters as its bf16 view; `X.input_scale` is checked (a float scalar), never applied. The
 * config's `quantization_config` (engine/formats/modelopt.ts) is checked against the stored
 * dtypes (`checkQuantConfig`). Throws the first problem as a named error; returns the tensors by
 * canonical name.
 */
export function validateWeights(config: ModelConfig, store: WeightStore, withMtp = false): Map<string, TensorEntry> {
  const found = new Map<string, TensorEntry>();
  const scheme = parseQuantScheme(config.raw?.quantization_config);
  for (const spec of expectedTensors(config, withMtp)) {
    const t = findTensor(store, spec.name);
    if (spec.linear && scheme) checkQuantConfig(scheme, spec, t, store);
    if (!t) throw new MissingTensorError(spec.name, store.source);
    if (spec.linear && t.dtype === 'u8') {
      validateQuantized(spec, t, store, found);
      continue;
    }
    if (spec.linear && t.dtype === 'f8_e4m3') {
      validateFp8(spec, t, store, found);
      continue;
    }
    const shape = spec.name.endsWith('conv1d.weight') && t.shape.length === 2 ? [t.shape[0], 1, t.shape[1]] : t.shape;
    if (!sameShape(shape, spec.shape)) throw new TensorShapeError(spec.name, spec.shape, t.shape);
    if (!spec.dtypes.includes(t.dtype)) {
      throw new UnsupportedDTypeError(spec.name, t.dtype, spec.linear ? [...spec.dtypes, 'u8 (nvfp4, nvfp4-s24)', 'f8_e4m3 (FP8)'] : spec.dtypes);
    }
    const bytes = spec.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.byteLength !== bytes) throw new TruncatedTensorError(spec.name, bytes, t.byteLength);
    found.set(spec.name, t);
  }
  return found;
}
