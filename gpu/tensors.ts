// DESIGN §3 on the device: the model's weights, resident in GPU buffers for the model's life.
// A linear weight keeps its stored bytes (f32, f16, bf16, or the packed nvfp4 / nvfp4-s24 codes
// with their E4M3 scales, weight_scale_2 and position codes); the kernels decode them on the fly
// (weights_*.wgsl). The routed experts of a layer are stacked into one matrix of E·I rows
// (`experts.*.up_proj.weight`) so one dispatch serves all of a token's experts.
// A matrix above the device's largest storage binding is split by rows into parts (whole experts
// for a stack); every part is its own buffer. Parameter vectors are decoded to f32. ggml block
// types (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) are dequantised to f32 at load: no WGSL block kernels yet.

import { MissingTensorError, OutOfMemoryError } from '../engine/core/errors.js';
import { linearWeight, sidecarNames, type DType, type LinearFormat, type LinearWeight, type TensorEntry } from '../engine/core/weights.js';
import { decodeAll } from '../engine/formats/dtype.js';
import { GGML_BLOCKS, isGgmlBlock, type GgmlBlockDType } from '../engine/formats/ggml-blocks.js';
import { checkPositionCodes } from '../engine/formats/sparse24.js';
import type { GpuDevice } from './device.js';

/** A tensor's bytes as the host sent them. */
export interface HostTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** A ggml block-typed tensor (engine/formats/ggml-blocks.ts) dequantised to f32: there are no WGSL block kernels yet. */
function ggmlToF32(h: HostTensor): HostTensor {
  const n = h.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  GGML_BLOCKS[h.dtype as GgmlBlockDType].dequant(h.bytes, values, n);
  return { ...h, dtype: 'f32', bytes: new Uint8Array(values.buffer) };
}

/** Stacked rows [start, end) of a linear weight, in one buffer per component. */
export interface GpuPart {
  readonly start: number;
  readonly end: number;
  readonly w: GPUBuffer; // (end − start, ·) codes or floats
  readonly scale?: GPUBuffer; // (end − start, K/16) E4M3
  readonly positions?: GPUBuffer; // (end − start, K/8)
  readonly scale2?: GPUBuffer; // (matrices in the part) f32
}

/** A linear weight ([rows, cols] per matrix, `count` matrices stacked) on the device. */
export interface GpuLinear {
  readonly name: string;
  readonly format: LinearFormat;
  readonly rows: number;
  readonly cols: number;
  readonly count: number;
  readonly parts: readonly GpuPart[];
}

const EXPERT = /^(.*\.experts\.)(\d+)(\.(?:up|down)_proj\.weight)$/;
const SIDECAR = /\.(weight_scale|weight_scale_2|weight_pos|input_scale)$/;

/** Bytes of one row of each component of a linear weight with `cols` columns. */
function rowBytes(format: LinearFormat, cols: number): { w: number; scale: number; positions: number } {
  const w = ({ f32: cols * 4, f16: cols * 2, bf16: cols * 2, nvfp4: cols / 2, 'nvfp4-s24': cols / 4 } as Partial<Record<LinearFormat, number>>)[format]!; // ggml blocks arrive as f32 (load)
  const quant = format === 'nvfp4' || format === 'nvfp4-s24';
  return { w, scale: quant ? cols / 16 : 0, positions: format === 'nvfp4-s24' ? cols / 8 : 0 };
}

/**
 * The resident weights of one model.
 * @example const t = await GpuTensors.load(gpu, hostTensors); t.linear('lm_head.weight').parts.length // 1
 */
export class GpuTensors {
  private readonly linears = new Map<string, GpuLinear>();
  private readonly vectors = new Map<string, GPUBuffer>();
  private readonly derived = new Map<string, GPUBuffer>();
  private readonly values = new Map<string, Float64Array>(); // the vectors' host values (small)
  private host: ReadonlyMap<string, HostTensor>;
  bytes = 0;

  private constructor(
    private readonly gpu: GpuDevice,
    host: ReadonlyMap<string, HostTensor>,
  ) {
    this.host = host;
  }

  /** Upload every tensor: linear weights (experts stacked per layer), then vectors. */
  static async load(gpu: GpuDevice, host: ReadonlyMap<string, HostTensor>): Promise<GpuTensors> {
    host = new Map([...host].map(([name, h]) => [name, isGgmlBlock(h.dtype) ? ggmlToF32(h) : h]));
    const t = new GpuTensors(gpu, host);
    const entries = new Map<string, TensorEntry>();
    for (const [name, h] of host) entries.set(name, { name, dtype: h.dtype, shape: h.shape, byteLength: h.bytes.byteLength, readInto: async () => {} });
    const stacks = new Map<string, LinearWeight[]>();
    for (const [name, h] of host) {
      if (SIDECAR.test(name)) continue;
      if (h.dtype !== 'u8' && h.shape.length !== 2) continue;
      if (name.endsWith('conv1d.weight')) continue;
      const view = linearWeight(entries, name);
      const m = EXPERT.exec(name);
      if (!m) {
        await t.addLinear(name, [view]);
        continue;
      }
      const key = `${m[1]}*${m[3]}`;
      const list = stacks.get(key) ?? [];
      list[Number(m[2])] = view;
      stacks.set(key, list);
    }
    for (const [key, list] of stacks) await t.addLinear(key, list);
    for (const [name, h] of host) {
      if (t.linears.has(name) || EXPERT.test(name) || SIDECAR.test(name)) continue;
      const values = decodeAll(h.dtype, h.bytes, name);
      t.values.set(name, values);
      t.vectors.set(name, t.track(gpu.upload(Float32Array.from(values), name)));
    }
    t.host = new Map(); // the host copies are no longer needed
    return t;
  }

  private track(buf: GPUBuffer): GPUBuffer {
    this.bytes += buf.size;
    return buf;
  }

  private bytesOf(name: string): Uint8Array {
    const h = this.host.get(name);
    if (!h) throw new MissingTensorError(name, 'the tensors sent to the device');
    return h.bytes;
  }

  // Stack `views` (one per matrix, same format and shape) and split into parts of at most one binding.
  private async addLinear(name: string, views: readonly LinearWeight[]): Promise<void> {
    const { format, rows, cols } = views[0];
    const rb = rowBytes(format, cols);
    const total = rows * views.length;
    let perPart = Math.floor(this.gpu.info.maxBindingBytes / rb.w);
    if (views.length > 1) perPart = Math.floor(perPart / rows) * rows;
    if (perPart < 1) throw new OutOfMemoryError('webgpu', rows * rb.w, this.gpu.info.maxBindingBytes);
    const parts: GpuPart[] = [];
    for (let start = 0; start < total; start += perPart) {
      const end = Math.min(total, start + perPart);
      const fill = (component: (v: LinearWeight) => Uint8Array, bytesPerRow: number) => (dst: Uint8Array) => {
        for (let m = Math.floor(start / rows); m * rows < end; m++) {
          const r0 = Math.max(start, m * rows) - m * rows;
          const r1 = Math.min(end, (m + 1) * rows) - m * rows;
          dst.set(component(views[m]).subarray(r0 * bytesPerRow, r1 * bytesPerRow), (m * rows + r0 - start) * bytesPerRow);
        }
      };
      const n = end - start;
      const part: GpuPart = { start, end, w: this.track(await this.gpu.weight(n * rb.w, `${name} rows [${start}, ${end})`, fill((v) => this.bytesOf(v.name), rb.w))) };
      if (rb.scale > 0) {
        const matrices = views.slice(Math.floor(start / rows), Math.ceil(end / rows));
        const scale2 = Float32Array.from(matrices, (v) => decodeAll('f32', this.bytesOf(sidecarNames(v.name).scale2))[0]);
        Object.assign(part, {
          scale: this.track(await this.gpu.weight(n * rb.scale, `${name} scale rows [${start}, ${end})`, fill((v) => this.bytesOf(sidecarNames(v.name).scale), rb.scale))),
          scale2: this.track(this.gpu.upload(scale2, `${name} weight_scale_2`)),
        });
      }
      if (rb.positions > 0) {
        const positions = (v: LinearWeight) => {
          const b = this.bytesOf(sidecarNames(v.name).positions);
          checkPositionCodes(b, sidecarNames(v.name).positions);
          return b;
        };
        Object.assign(part, { positions: this.track(await this.gpu.weight(n * rb.positions, `${name} positions rows [${start}, ${end})`, fill(positions, rb.positions))) });
      }
      parts.push(part);
    }
    this.linears.set(name, { name, format, rows, cols, count: views.length, parts });
  }

  /** The linear weight `name` (or a stack `…experts.*.up_proj.weight`). */
  linear(name: string): GpuLinear {
    const w = this.linears.get(name);
    if (!w) throw new MissingTensorError(name, 'the weights on the device');
    return w;
  }

  /** The parameter vector `name` as f32. */
  vector(name: string): GPUBuffer {
    const v = this.vectors.get(name);
    if (!v) throw new MissingTensorError(name, 'the weights on the device');
    return v;
  }

  /** A small f32 buffer computed once from the weights (e.g. per-head Mamba constants), cached by key. */
  cached(key: string, make: () => Float32Array): GPUBuffer {
    let b = this.derived.get(key);
    if (!b) {
      b = this.track(this.gpu.upload(make(), key));
      this.derived.set(key, b);
    }
    return b;
  }

  /** Host values of the parameter vector `name` (for constants derived on the host). */
  hostVector(name: string): Float64Array {
    const v = this.values.get(name);
    if (!v) throw new MissingTensorError(name, 'the weights on the device');
    return v;
  }

  dispose(): void {
    for (const w of this.linears.values()) {
      for (const p of w.parts) for (const b of [p.w, p.scale, p.positions, p.scale2]) b?.destroy();
    }
    for (const b of [...this.vectors.values(), ...this.derived.values()]) b.destroy();
    this.linears.clear();
    this.vectors.clear();
    this.derived.clear();
    this.values.clear();
  }
}
