// Test helper: checkpoints held in memory, with no file I/O. `memoryStore` turns a record of
// {dtype, shape, data} into a WeightStore whose entries also read synchronously (so the reference
// backend loads them lazily); `randomModelTensors` fills every tensor a config needs with seeded
// values of a sensible scale. Deterministic on every machine: a mulberry32 PRNG per tensor,
// seeded from the model seed and the tensor's name, so one tensor's values do not depend on
// which others were generated first.

import type { ModelConfig } from '../../engine/core/config.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../../engine/formats/dtype.js';
import { CorruptWeightsError } from '../../engine/core/errors.js';
import { DTYPE_BYTES, expectedTensors, validateWeights, type DType, type TensorEntry, type WeightStore } from '../../engine/core/weights.js';
import type { SyncTensorEntry } from '../../engine/reference/tensors.js';

/**
 * One tensor in memory. `data` holds the elements: a Float32Array for f32, a Uint16Array of bit
 * patterns for bf16/f16, or the raw little-endian bytes (Uint8Array) for any dtype.
 */
export interface MemoryTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Uint16Array | Uint8Array;
}

/**
 * mulberry32: a tiny 32-bit PRNG with uniform floats in [0, 1).
 * @example const rand = mulberry32(42); rand(); // 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a string (u32), to give each tensor its own PRNG stream. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function bytesOf(name: string, t: MemoryTensor): Uint8Array {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const want = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
  if (bytes.byteLength !== want) {
    throw new CorruptWeightsError('memory', `tensor ${name}: ${bytes.byteLength} bytes of data for ${t.dtype} [${t.shape.join(', ')}] (${want} bytes)`);
  }
  return bytes;
}

/**
 * A WeightStore over tensors in memory. `data` is read only when an entry is read, so a record
 * with lazily generated data (see `randomModelTensors`) stays ungenerated until a backend asks.
 * @example
 * const store = memoryStore({ 'w': { dtype: 'f32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } });
 */
export function memoryStore(tensors: Readonly<Record<string, MemoryTensor>>, source = 'memory'): WeightStore {
  const entries = new Map<string, SyncTensorEntry>();
  for (const [name, t] of Object.entries(tensors)) {
    const byteLength = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    const readIntoSync = (dst: Uint8Array) => dst.set(bytesOf(name, t));
    entries.set(name, {
      name,
      dtype: t.dtype,
      shape: t.shape,
      byteLength,
      readIntoSync,
      readInto: async (dst) => readIntoSync(dst),
    });
  }
  return { source, get: (n) => entries.get(n), names: () => [...entries.keys()], close: async () => {} };
}

/**
 * The validated tensors of an in-memory checkpoint, ready for `Backend.load`.
 * @example const model = await referenceBackend.load(config, memoryTensors(config, randomModelTensors(config, 1)));
 */
export function memoryTensors(config: ModelConfig, tensors: Readonly<Record<string, MemoryTensor>>): Map<string, TensorEntry> {
  return validateWeights(config, memoryStore(tensors));
}

/** Element type of the linear weights `randomModelTensors` writes; small vectors are always f32. */
export type RandomLinearDType = 'f32' | 'bf16' | 'f16';

function encode(values: Float64Array, dtype: RandomLinearDType): Float32Array | Uint16Array {
  if (dtype === 'f32') return Float32Array.from(values);
  const bits = dtype === 'bf16' ? f32ToBf16Bits : f32ToF16Bits;
  const out = new Uint16Array(values.length); // a plain loop: TypedArray.from with a map is ~30× slower
  for (let i = 0; i < values.length; i++) out[i] = bits(values[i]);
  return out;
}

// spec §6.3: dt_bias is stored so that softplus(dt_bias) is a time step; invert softplus
const inverseSoftplus = (y: number) => Math.log(Math.expm1(y));

/** Values for one tensor, by what its name says it is. */
function generate(name: string, numel: number, fanIn: number, rand: () => number): Float64Array {
  const out = new Float64Array(numel);
  if (name.endsWith('A_log')) {
    for (let i = 0; i < numel; i++) out[i] = Math.log(1 + 15 * rand()); // ln U[1, 16]
    return out;
  }
  if (name.endsWith('dt_bias')) {
    for (let i = 0; i < numel; i++) out[i] = inverseSoftplus(0.001 + 0.099 * rand()); // softplus⁻¹ U[0.001, 0.1]
    return out;
  }
  // the rest is uniform: center ± halfWidth, where std = halfWidth / √3
  let center = 0;
  let std = 1 / Math.sqrt(fanIn); // linear weights [out, in] and the embedding
  if (name.endsWith('mixer.D') || name.endsWith('norm.weight') || name.endsWith('norm_f.weight')) [center, std] = [1, 0.1 / Math.sqrt(3)];
  else if (name.endsWith('conv1d.weight')) std = 0.5;
  else if (name.endsWith('conv1d.bias')) std = 0.1;
  else if (name.endsWith('e_score_correction_bias')) std = 0.01;
  const halfWidth = std * Math.sqrt(3);
  for (let i = 0; i < numel; i++) out[i] = center + halfWidth * (2 * rand() - 1);
  return out;
}

/**
 * Seeded random values for every tensor `expectedTensors(config, withMtp)` lists, in the real
 * layout: linear weights uniform with std 1/√fan_in (in `linearDType`), norm weights and D near
 * 1, A_log = ln(U[1, 16]), dt_bias = softplus⁻¹(U[0.001, 0.1]), conv weights std 0.5, conv bias
 * std 0.1, router correction bias std 0.01 (all f32). Each tensor's data is generated on first
 * access and then kept, so unread experts cost nothing.
 * @example
 * const tensors = randomModelTensors(config, 7, { linearDType: 'bf16' });
 * const model = await referenceBackend.load(config, memoryTensors(config, tensors));
 */
export function randomModelTensors(
  config: ModelConfig,
  seed: number,
  options: { linearDType?: RandomLinearDType; withMtp?: boolean } = {},
): Record<string, MemoryTensor> {
  const linearDType = options.linearDType ?? 'f32';
  const out: Record<string, MemoryTensor> = {};
  for (const spec of expectedTensors(config, options.withMtp ?? false)) {
    const isLinear = spec.shape.length === 2;
    const dtype: DType = isLinear ? linearDType : 'f32';
    const numel = spec.shape.reduce((a, b) => a * b, 1);
    const fanIn = spec.shape[spec.shape.length - 1];
    let data: Float32Array | Uint16Array | undefined;
    Object.defineProperty(out, spec.name, {
      enumerable: true,
      value: {
        dtype,
        shape: spec.shape,
        get data() {
          data ??= encode(generate(spec.name, numel, fanIn, mulberry32(fnv1a(spec.name) ^ seed)), isLinear ? linearDType : 'f32');
          return data;
        },
      },
    });
  }
  return out;
}
