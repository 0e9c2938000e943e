// The WASM backend's weights, copied once into WASM memory at load:
//   linear weights [out, in] (and the embedding) keep their f32 or bf16 bytes, or their ggml blocks
//     (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K as the GGUF stores them, ggml-linear.ts); f16 is widened
//     to f32 at load (exact), since there is no f16 kernel;
//   4-bit linear weights (spec §14.1, DESIGN §3) keep their packed form as stored: the E2M1 codes
//     (nvfp4 (out, in/2), nvfp4-s24 (out, in/4)), the E4M3 scales (out, in/16), for s24 the
//     position codes (out, in/8), checked at load (IllegalPositionCodeError), and weight_scale_2
//     as a number; the fused kernels decode them in registers;
//   nvfp4 and nvfp4-s24 weights the kernels multiply (all but the embedding, whose rows are
//     gathered) are then repacked into the rows4 layout where the build takes it
//     (assembly/kernels/fp4_rows4.ts, nvfp4s24_gather.ts: the same bytes, 4 rows read as one
//     stream; `layout` says which);
//   small vectors (norms, biases, D, dt_bias, router bias) become f32;
//   conv1d.weight [C, 1, K] is stored transposed as `…conv1d.weightT` (K, C), channels contiguous;
//   A_log becomes `…mixer.A` = −exp(A_log) (spec §6.3), computed in f64 and rounded once.
// Tensors are read in the order they are stored (shard, then offset), whatever order the pack was
// written in, so a shard streamed front to back (serve/shard-stream.ts) is fetched once per load.

import type { ModelConfig } from '../../engine/core/config.js';
import { MissingTensorError, UnsupportedDTypeError } from '../../engine/core/errors.js';
import { linearWeight, sidecarNames, type TensorEntry } from '../../engine/core/weights.js';
import { decodeAll, f16ToF32 } from '../../engine/formats/dtype.js';
import { GGML_BLOCK_DTYPES, isGgmlBlock, type GgmlBlockDType } from '../../engine/formats/ggml-blocks.js';
import { checkPositionCodes } from '../../engine/formats/sparse24.js';
import type { Heap } from './heap.js';

/**
 * A linear weight (rows = out, cols = in) in WASM memory: `ptr` holds the f32 / bf16 matrix or,
 * for the 4-bit formats, the packed codes, beside `scales` and (s24) `positions` (0 otherwise).
 */
export interface WasmLinear {
  readonly name: string;
  readonly format: 'f32' | 'bf16' | 'nvfp4' | 'nvfp4-s24' | GgmlBlockDType;
  /** 4-bit: 'rows4' when `ptr` holds codes, scales (and s24 positions) repacked (fp4_rows4.ts, nvfp4s24_gather.ts; `scales`, `positions` are then 0), else 'modelopt'. */
  readonly layout: 'modelopt' | 'rows4';
  readonly rows: number;
  readonly cols: number;
  readonly ptr: number;
  readonly scales: number; // E4M3 (rows, cols/16)
  readonly positions: number; // u8 (rows, cols/8), nvfp4-s24 only
  readonly scale2: number; // weight_scale_2 (1 for float formats)
}

/** The kernels' rows4 packers (assembly/kernels/fp4_rows4.ts, nvfp4s24_gather.ts), where the build has them. */
export interface Rows4Packer {
  rows4_supported(K: number, N: number): number;
  nvfp4_pack_rows4(codes: number, scales: number, dst: number, K: number, N: number): number;
  nvfp4s24_pack_rows4(codes: number, positions: number, scales: number, dst: number, K: number, N: number): number;
}

/** A tensor and what the load does with its bytes (copy them in, decode them, finish a 4-bit weight). */
type Read = [TensorEntry, () => Promise<void>];

/** Order of two tensors in their checkpoint (file, then byte offset) where the store says; else 0. */
function storedBefore(a: TensorEntry, b: TensorEntry): number {
  const x = a as { file?: string; offset?: number };
  const y = b as { file?: string; offset?: number };
  if (x.file !== y.file) return (x.file ?? '') < (y.file ?? '') ? -1 : 1;
  return (x.offset ?? 0) - (y.offset ?? 0);
}

/** Depthwise conv weights are stored transposed as f32 (see the header); cli/memory-plan.ts sizes them so. */
export const isConvWeight = (name: string) => name.endsWith('conv1d.weight');
/** The one linear weight whose rows are gathered (linear.ts linearRow), never multiplied unless tied: it keeps the ModelOpt layout. */
/** The embedding table: gathered, never repacked (cli/memory-plan.ts sizes it so). */
export const EMBEDDING = 'backbone.embeddings.weight';
const isALog = (name: string) => name.endsWith('mixer.A_log');

/**
 * Weights by canonical name, resident in one heap.
 * @example
 * const tensors = await WasmTensors.load(heap, config, validated);
 * tensors.linear('backbone.layers.0.mixer.in_proj.weight').ptr;
 */
export class WasmTensors {
  private readonly linears = new Map<string, WasmLinear>();
  private readonly vectors = new Map<string, number>(); // name → ptr of f32 values
  private blocks: number[] = [];
  private total = 0;

  private constructor(
    private readonly heap: Heap,
    private readonly packer: Rows4Packer | null,
  ) {}

  /** Copy every tensor into `heap`, in storage order; `onProgress` gets source bytes read so far; `packer` repacks 4-bit weights to rows4. */
  static async load(
    heap: Heap,
    config: ModelConfig,
    tensors: ReadonlyMap<string, TensorEntry>,
    onProgress?: (loadedBytes: number, totalBytes: number) => void,
    packer: Rows4Packer | null = null,
  ): Promise<WasmTensors> {
    const out = new WasmTensors(heap, packer);
    const totalBytes = [...tensors.values()].reduce((n, e) => n + e.byteLength, 0);
    let loaded = 0;
    const sidecars = new Set<string>();
    for (const [name, entry] of tensors) {
      if (entry.dtype === 'u8') for (const side of Object.values(sidecarNames(name))) sidecars.add(side);
    }
    const reads: Read[] = [];
    for (const [name, entry] of tensors) {
      if (sidecars.has(name)) continue;
      if (isConvWeight(name)) reads.push([entry, () => out.loadConv(name, entry, config.mamba!.convKernel)]);
      else if (entry.dtype === 'u8') reads.push(...out.planQuantized(tensors, name));
      else if (entry.shape.length === 2) reads.push([entry, () => out.loadLinear(name, entry)]);
      else reads.push([entry, () => out.loadVector(isALog(name) ? name.replace(/A_log$/, 'A') : name, entry, isALog(name))]);
    }
    // storage order (stable: stores without offsets keep the map's order)
    reads.sort(([a], [b]) => storedBefore(a, b));
    for (const [entry, read] of reads) {
      await read();
      loaded += entry.byteLength;
      onProgress?.(loaded, totalBytes);
    }
    return out;
  }

  private track(bytes: number): number {
    const ptr = this.heap.alloc(bytes);
    this.blocks.push(ptr);
    this.total += bytes;
    return ptr;
  }

  private untrack(ptr: number, bytes: number): void {
    this.heap.free(ptr);
    this.blocks.splice(this.blocks.indexOf(ptr), 1);
    this.total -= bytes;
  }

  private async copyIn(entry: TensorEntry): Promise<number> {
    const ptr = this.track(entry.byteLength);
    await entry.readInto(this.heap.u8(ptr, entry.byteLength));
    return ptr;
  }

  /**
   * The reads of a 4-bit linear weight and its sidecars, each placed by the load wherever its
   * bytes are stored; the one that completes the set repacks the weight (rows4) and registers it.
   */
  private planQuantized(tensors: ReadonlyMap<string, TensorEntry>, name: string): Read[] {
    const view = linearWeight(tensors, name);
    const side = sidecarNames(name);
    let scale2 = 1;
    let positions = 0;
    let scales = 0;
    let ptr = 0;
    const parts: Read[] = [
      [
        view.scale2!,
        async () => {
          scale2 = (await this.decode(side.scale2, view.scale2!))[0];
        },
      ],
      [
        view.scale!,
        async () => {
          scales = await this.copyIn(view.scale!);
        },
      ],
      [
        view.weight,
        async () => {
          ptr = await this.copyIn(view.weight);
        },
      ],
    ];
    if (view.positions) {
      const entry = view.positions;
      parts.push([
        entry,
        async () => {
          positions = await this.copyIn(entry);
          checkPositionCodes(this.heap.u8(positions, entry.byteLength), side.positions);
        },
      ]);
    }
    let left = parts.length;
    const finish = () => {
      const { rows, cols, format } = view;
      const [codeBytes, scaleBytes, posBytes] = [view.weight.byteLength, view.scale!.byteLength, view.positions?.byteLength ?? 0];
      const fp4 = format as 'nvfp4' | 'nvfp4-s24';
      const packed = name !== EMBEDDING && this.packer?.rows4_supported(cols, rows) ? this.track(codeBytes + scaleBytes + posBytes) : 0;
      const ok = packed !== 0 && (fp4 === 'nvfp4' ? this.packer!.nvfp4_pack_rows4(ptr, scales, packed, cols, rows) : this.packer!.nvfp4s24_pack_rows4(ptr, positions, scales, packed, cols, rows));
      if (ok) {
        this.untrack(ptr, codeBytes);
        this.untrack(scales, scaleBytes);
        if (positions) this.untrack(positions, posBytes);
        this.linears.set(name, { name, format: fp4, layout: 'rows4', rows, cols, ptr: packed, scales: 0, positions: 0, scale2 });
      } else {
        if (packed) this.untrack(packed, codeBytes + scaleBytes + posBytes); // a negative or NaN scale: stays ModelOpt
        this.linears.set(name, { name, format: format as 'nvfp4' | 'nvfp4-s24', layout: 'modelopt', rows, cols, ptr, scales, positions, scale2 });
      }
    };
    return parts.map(([entry, read]) => [
      entry,
      async () => {
        await read();
        if (--left === 0) finish();
      },
    ]);
  }

  private async loadLinear(name: string, entry: TensorEntry): Promise<void> {
    const [rows, cols] = entry.shape;
    const float = { layout: 'modelopt' as const, scales: 0, positions: 0, scale2: 1 };
    if (entry.dtype === 'f32' || entry.dtype === 'bf16' || isGgmlBlock(entry.dtype)) {
      const ptr = await this.copyIn(entry);
      this.linears.set(name, { name, format: entry.dtype, rows, cols, ptr, ...float });
    } else if (entry.dtype === 'f16') {
      const raw = new Uint8Array(entry.byteLength);
      await entry.readInto(raw);
      const bits = new Uint16Array(raw.buffer, raw.byteOffset, rows * cols);
      const ptr = this.track(rows * cols * 4);
      const dst = this.heap.f32(ptr, rows * cols);
      for (let i = 0; i < bits.length; i++) dst[i] = f16ToF32(bits[i]);
      this.linears.set(name, { name, format: 'f32', rows, cols, ptr, ...float });
    } else {
      throw new UnsupportedDTypeError(name, entry.dtype, ['f32', 'bf16', 'f16', 'u8 (nvfp4, nvfp4-s24)', ...GGML_BLOCK_DTYPES]);
    }
  }

  private async decode(name: string, entry: TensorEntry): Promise<Float64Array> {
    const raw = new Uint8Array(entry.byteLength);
    await entry.readInto(raw);
    return decodeAll(entry.dtype, raw, name);
  }

  private async loadVector(key: string, entry: TensorEntry, negExp: boolean): Promise<void> {
    const values = await this.decode(entry.name, entry);
    const ptr = this.track(values.length * 4);
    const dst = this.heap.f32(ptr, values.length);
    for (let i = 0; i < values.length; i++) dst[i] = negExp ? -Math.exp(values[i]) : values[i];
    this.vectors.set(key, ptr);
  }

  // (C, 1, K) or (C, K) → (K, C)
  private async loadConv(name: string, entry: TensorEntry, K: number): Promise<void> {
    const values = await this.decode(name, entry);
    const C = values.length / K;
    const ptr = this.track(values.length * 4);
    const dst = this.heap.f32(ptr, values.length);
    for (let c = 0; c < C; c++) for (let k = 0; k < K; k++) dst[k * C + c] = values[c * K + k];
    this.vectors.set(`${name}T`, ptr);
  }

  /** The linear weight `name`. */
  linear(name: string): WasmLinear {
    const t = this.linears.get(name);
    if (!t) throw new MissingTensorError(name, 'the wasm backend');
    return t;
  }

  /** Whether tensor `name` is resident (a shard holds only its own layers' tensors). */
  has(name: string): boolean {
    return this.linears.has(name) || this.vectors.has(name);
  }

  /** Address of the f32 vector `name` (see the header for the derived `…A` and `…weightT`). */
  vector(name: string): number {
    const p = this.vectors.get(name);
    if (p === undefined) throw new MissingTensorError(name, 'the wasm backend');
    return p;
  }

  /** Bytes of weights resident in WASM memory. */
  get bytes(): number {
    return this.total;
  }

  /** Free every weight. */
  dispose(): void {
    for (const p of this.blocks) this.heap.free(p);
    this.blocks = [];
    this.linears.clear();
    this.vectors.clear();
    this.total = 0;
  }
}
