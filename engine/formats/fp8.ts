// spec §12 (FP8 sidecars), §14.1 (E4M3): ModelOpt FP8 linear weights, as NVIDIA's `-FP8`
// repositories ship them, dequantised to bf16 when a backend reads them (DESIGN §3):
//
//   W[n, k] = E4M3(code[n, k]) · weight_scale         codes f8_e4m3 [out, in], weight_scale a scalar
//   stored  = bf16(W[n, k]), rounded once, nearest, ties to even (f64ToBf16Bits)
//
// E4M3 × an f32 scale has at most 4 + 24 significant bits, so W is exact in f64 and the one
// rounding to bf16 is the only error: |Δ| ≤ 2⁻⁹·|W| (half a bf16 ulp). The product takes 256
// values per tensor, so the decode is one table lookup per element (`fp8Bf16Table`).
// `input_scale` (the calibrated activation scale of W8A8) is validated and kept beside the weight
// but never used: edgetron keeps activations in f32 (W8A16), as it runs NVFP4 as W4A16.
// Every backend and `convert` then sees an ordinary bf16 linear weight.
// This file imports no engine/core module (engine/core/weights.ts imports it): a tensor is the
// structural `StoredTensor` below, which every TensorEntry is.

import { QuantizedLayoutError } from '../core/errors.js';
import { E4M3_VALUES } from './nvfp4.js';

/** A stored tensor as engine/core/weights.ts `TensorEntry` describes it (dtype in safetensors spelling, lower-cased). */
export interface StoredTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
  readInto(dst: Uint8Array): Promise<void>;
}

/** Dtypes a per-tensor FP8 scale may have. */
export const FP8_SCALE_DTYPES = ['f32', 'bf16'] as const;

/** The parts of one FP8 linear weight as stored (ModelOpt names). */
export interface Fp8Parts {
  readonly weight: StoredTensor; // X.weight        f8_e4m3 [out, in]
  readonly scale: StoredTensor; // X.weight_scale  f32 (or bf16) [] or [1]
  readonly inputScale?: StoredTensor; // X.input_scale  f32 [] or [1], kept, unused (W8A16)
}

/** A bf16 view of an FP8 weight: reads decode E4M3 × weight_scale; `fp8` holds the stored parts. */
export interface Fp8Bf16Entry extends StoredTensor {
  readonly dtype: 'bf16';
  readonly fp8: Fp8Parts;
  /** Where the codes are (the stored weight's file and offset, when its store says), for load order. */
  readonly file?: string;
  readonly offset?: number;
  readIntoSync?(dst: Uint8Array): void;
  readRangeInto?(dst: Uint8Array, begin: number): Promise<void>;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * bf16 bits of the f64 `x` rounded once, nearest with ties to even. Rounding through f32 first is
 * exact unless the f32 lands on a bf16 tie that x is not on (double rounding); x then decides.
 * @example f64ToBf16Bits(1.00390625 + 2 ** -40) // 0x3f81 (just above the tie 0x3f80|0x3f81: up)
 */
export function f64ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  const f = scratchF32[0];
  const bits = scratchU32[0];
  if (Number.isNaN(f)) return (bits >>> 16) | 0x40; // a quiet NaN
  if (f !== x && (bits & 0xffff) === 0x8000) return Math.abs(x) > Math.abs(f) ? (bits >>> 16) + 1 : bits >>> 16;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/**
 * bf16 bits of E4M3(c) · scale for each of the 256 codes c (NaN codes stay NaN).
 * @example fp8Bf16Table(0.5)[0x38] // 0x3f00 (1 · 0.5)
 */
export function fp8Bf16Table(scale: number): Uint16Array {
  return Uint16Array.from(E4M3_VALUES, (v) => f64ToBf16Bits(v * scale));
}

/**
 * Decode FP8 codes to bf16 in place: the codes lie in the second half of `bytes` (n codes at
 * offset n), the bf16 values (2n bytes, little-endian) fill all of it. Element i's write ends at
 * byte 2i + 1 < n + i + 1, the next code still to be read, so nothing is overwritten early.
 */
function decodeInPlace(bytes: Uint8Array, table: Uint16Array): void {
  const n = bytes.byteLength / 2;
  if (bytes.byteOffset % 2 === 0) {
    // aligned: one u16 store per element (little-endian, as every typed-array view here)
    const out = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = table[bytes[n + i]];
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = table[bytes[n + i]];
    bytes[2 * i] = v & 0xff;
    bytes[2 * i + 1] = v >>> 8;
  }
}

/** The value of a scalar scale tensor's bytes (f32 or bf16, little-endian); one that is not finite and positive is refused. */
function scaleValue(entry: StoredTensor, bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  scratchU32[0] = entry.dtype === 'bf16' ? view.getUint16(0, true) << 16 : view.getUint32(0, true);
  const s = scratchF32[0];
  if (!(Number.isFinite(s) && s > 0)) throw new QuantizedLayoutError(entry.name, `FP8 scale is ${s}; it must be finite and positive`);
  return s;
}

/**
 * The bf16 view of an FP8 weight (parts already checked: codes [rows, cols], scalar scales). Reads
 * (whole, synchronous where both parts read synchronously, by byte range where the codes do)
 * decode into the destination itself: no copy of the tensor is held.
 * @example
 * const w = fp8AsBf16({ weight, scale, inputScale });
 * const bytes = new Uint8Array(w.byteLength); await w.readInto(bytes); // bf16 [out, in]
 */
export function fp8AsBf16(parts: Fp8Parts): Fp8Bf16Entry {
  const { weight, scale } = parts;
  const byteLength = weight.byteLength * 2;
  const stored = weight as Partial<Fp8Bf16Entry>;
  const scaleSync = (scale as Partial<Fp8Bf16Entry>).readIntoSync?.bind(scale);
  const weightSync = stored.readIntoSync?.bind(weight);
  const weightRange = stored.readRangeInto?.bind(weight);
  let table: Uint16Array | null = null;
  const tableAsync = async () => {
    if (!table) {
      const b = new Uint8Array(scale.byteLength);
      await scale.readInto(b);
      table = fp8Bf16Table(scaleValue(scale, b));
    }
    return table;
  };
  const checkDst = (dst: Uint8Array, begin = 0) => {
    if (dst.byteLength % 2 !== 0 || begin % 2 !== 0 || begin < 0 || begin + dst.byteLength > byteLength) {
      throw new RangeError(`tensor ${weight.name}: bf16 range [${begin}, ${begin + dst.byteLength}) is not whole elements of its ${byteLength} bytes`);
    }
  };
  return {
    name: weight.name,
    dtype: 'bf16',
    shape: weight.shape,
    byteLength,
    fp8: parts,
    file: stored.file,
    offset: stored.offset,
    async readInto(dst) {
      checkDst(dst);
      if (dst.byteLength !== byteLength) throw new RangeError(`tensor ${weight.name}: destination has ${dst.byteLength} bytes, tensor has ${byteLength}`);
      const t = await tableAsync();
      await weight.readInto(dst.subarray(byteLength / 2));
      decodeInPlace(dst, t);
    },
    ...(weightSync &&
      scaleSync && {
        readIntoSync(dst: Uint8Array) {
          if (dst.byteLength !== byteLength) throw new RangeError(`tensor ${weight.name}: destination has ${dst.byteLength} bytes, tensor has ${byteLength}`);
          if (!table) {
            const b = new Uint8Array(scale.byteLength);
            scaleSync(b);
            table = fp8Bf16Table(scaleValue(scale, b));
          }
          weightSync(dst.subarray(byteLength / 2));
          decodeInPlace(dst, table);
        },
      }),
    ...(weightRange && {
      async readRangeInto(dst: Uint8Array, begin: number) {
        checkDst(dst, begin);
        const t = await tableAsync();
        await weightRange(dst.subarray(dst.byteLength / 2), begin / 2);
        decodeInPlace(dst, t);
      },
    }),
  };
}
