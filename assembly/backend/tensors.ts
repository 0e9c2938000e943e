// The WASM backend's weights, copied once into WASM memory at load:
//   linear weights [out, in] (and the embedding) keep their f32 or bf16 bytes; f16 is widened
//     to f32 at load (exact), since there is no f16 kernel;
//   small vectors (norms, biases, D, dt_bias, router bias) become f32;
//   conv1d.weight [C, 1, K] is stored transposed as `…conv1d.weightT` (K, C), channels contiguous;
//   A_log becomes `…mixer.A` = −exp(A_log) (spec §6.3), computed in f64 and rounded once.

import type { ModelConfig } from '../../engine/config.js';
import { decodeAll, f16ToF32 } from '../../engine/dtype.js';
import { MissingTensorError, UnsupportedDTypeError } from '../../engine/errors.js';
import type { TensorEntry } from '../../engine/weights.js';
import type { Heap } from './heap.js';

/** A linear weight (rows = out, cols = in) in WASM memory. */
export interface WasmLinear {
  readonly name: string;
  readonly dtype: 'f32' | 'bf16';
  readonly rows: number;
  readonly cols: number;
  readonly ptr: number;
}

const isConvWeight = (name: string) => name.endsWith('conv1d.weight');
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

  private constructor(private readonly heap: Heap) {}

  /** Copy every tensor into `heap`; `onProgress` gets source bytes read so far. */
  static async load(
    heap: Heap,
    config: ModelConfig,
    tensors: ReadonlyMap<string, TensorEntry>,
    onProgress?: (loadedBytes: number, totalBytes: number) => void,
  ): Promise<WasmTensors> {
    const out = new WasmTensors(heap);
    const totalBytes = [...tensors.values()].reduce((n, e) => n + e.byteLength, 0);
    let loaded = 0;
    for (const [name, entry] of tensors) {
      if (isConvWeight(name)) await out.loadConv(name, entry, config.mamba!.convKernel);
      else if (entry.shape.length === 2) await out.loadLinear(name, entry);
      else await out.loadVector(isALog(name) ? name.replace(/A_log$/, 'A') : name, entry, isALog(name));
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

  private async loadLinear(name: string, entry: TensorEntry): Promise<void> {
    const [rows, cols] = entry.shape;
    if (entry.dtype === 'f32' || entry.dtype === 'bf16') {
      const ptr = this.track(entry.byteLength);
      await entry.readInto(this.heap.u8(ptr, entry.byteLength));
      this.linears.set(name, { name, dtype: entry.dtype, rows, cols, ptr });
    } else if (entry.dtype === 'f16') {
      const raw = new Uint8Array(entry.byteLength);
      await entry.readInto(raw);
      const bits = new Uint16Array(raw.buffer, raw.byteOffset, rows * cols);
      const ptr = this.track(rows * cols * 4);
      const dst = this.heap.f32(ptr, rows * cols);
      for (let i = 0; i < bits.length; i++) dst[i] = f16ToF32(bits[i]);
      this.linears.set(name, { name, dtype: 'f32', rows, cols, ptr });
    } else {
      throw new UnsupportedDTypeError(name, entry.dtype, ['f32', 'bf16', 'f16']);
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
