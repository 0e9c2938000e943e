// DESIGN §2 (webgpu): the device side's GPU context. Every op is encoded into one pending
// command encoder (one compute pass per dispatch); the encoder is submitted only when the host
// needs bytes back (a download, the head's logits, a greedy token), so a whole forward pass is
// one command buffer. Buffers freed while work is pending are destroyed after that submit.
// Pipelines are compiled once per kernel (and weight format) and cached.

import { GpuDeviceError, NoGpuAdapterError, OutOfMemoryError } from '../engine/core/errors.js';

/** Device options the host may pass. */
export interface GpuOptions {
  /** Cap on one storage binding in bytes (below the adapter's); tests use it to force splits. */
  readonly maxBindingBytes?: number;
  /** Cap on workgroups per dimension where a dispatch is split past the limit (linear.ts column blocks, grid()), below the device's; tests use it to force those splits. */
  readonly maxWorkgroups?: number;
  /** Do not use shader-f16 even when the adapter has it. */
  readonly disableF16?: boolean;
  /** Do not use subgroups even when the adapter has them. */
  readonly disableSubgroups?: boolean;
}

/** A uniform field: a number is written as u32, `{ f }` as f32. */
export type Param = number | { readonly f: number };

/** What the host is told about the device. */
export interface GpuInfo {
  readonly adapter: string;
  readonly isFallback: boolean;
  readonly nativeF16: boolean;
  readonly subgroups: boolean;
  /** Largest subgroup size the adapter may use (64 when it does not say). */
  readonly subgroupMaxSize: number;
  readonly maxBindingBytes: number;
  readonly maxBufferBytes: number;
  /** Workgroups one dispatch may have along a dimension (maxComputeWorkgroupsPerDimension, 65535 by default). */
  readonly maxWorkgroups: number;
}

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const WG = 64; // workgroup size of the element-wise kernels

/** Bytes rounded up to a multiple of 16 (≥ 16): buffers and bindings must not be empty. */
function padded(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

/**
 * A WebGPU device with a pending encoder, a pipeline cache and error tracking.
 * @example const gpu = await GpuDevice.create(navigator.gpu, {}); gpu.dispatch('add', src, { 1: x, 2: y }, [n], [16]);
 */
export class GpuDevice {
  private encoder: GPUCommandEncoder | null = null;
  private readonly trash: GPUBuffer[] = [];
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private firstError: string | null = null;
  /** Why the device was lost, or null while it lives. */
  lostReason: string | null = null;
  /** A 16-byte buffer bound where a kernel declares a binding it does not use in this call. */
  readonly dummy: GPUBuffer;

  private constructor(
    readonly device: GPUDevice,
    readonly info: GpuInfo,
  ) {
    device.lost.then((l) => {
      this.lostReason = l.message || l.reason;
    });
    device.onuncapturederror = (e) => {
      this.firstError ??= e.error.message;
    };
    this.dummy = this.storage(16, 'unused binding');
  }

  /** Request an adapter and a device with the largest storage bindings the adapter allows. */
  static async create(gpu: GPU | undefined, options: GpuOptions): Promise<GpuDevice> {
    if (!gpu) throw new NoGpuAdapterError('navigator.gpu is not available');
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new NoGpuAdapterError('requestAdapter() returned null');
    const nativeF16 = !options.disableF16 && adapter.features.has('shader-f16');
    const subgroups = !options.disableSubgroups && adapter.features.has('subgroups');
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: [...(nativeF16 ? ['shader-f16' as const] : []), ...(subgroups ? ['subgroups' as const] : [])],
      requiredLimits: { maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, maxBufferSize: limits.maxBufferSize },
    });
    const a = adapter.info;
    const info: GpuInfo = {
      adapter: [a.vendor, a.architecture, a.device, a.description].filter((s) => s).join(' / '),
      isFallback: Boolean((a as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      nativeF16,
      subgroups,
      subgroupMaxSize: (a as { subgroupMaxSize?: number }).subgroupMaxSize || 64,
      maxBindingBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, options.maxBindingBytes ?? Infinity),
      maxBufferBytes: limits.maxBufferSize,
      maxWorkgroups: Math.min(device.limits.maxComputeWorkgroupsPerDimension, options.maxWorkgroups ?? Infinity),
    };
    return new GpuDevice(device, info);
  }

  /** A zeroed storage buffer of at least `bytes` bytes. */
  storage(bytes: number, label = 'activation'): GPUBuffer {
    return this.device.createBuffer({ size: padded(bytes), usage: STORAGE, label });
  }

  /** A storage buffer holding `data` (copied now). */
  upload(data: ArrayBufferView, label = 'upload'): GPUBuffer {
    const buf = this.device.createBuffer({ size: padded(data.byteLength), usage: STORAGE, mappedAtCreation: true, label });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
    return buf;
  }

  /**
   * A weight buffer of `bytes` bytes filled by `fill`; a device out of memory is a named error
   * (`OutOfMemoryError`), so a model that does not fit is refused at load.
   */
  async weight(bytes: number, label: string, fill: (dst: Uint8Array) => void): Promise<GPUBuffer> {
    if (bytes > this.info.maxBufferBytes) throw new OutOfMemoryError('webgpu', bytes, this.info.maxBufferBytes);
    this.device.pushErrorScope('out-of-memory');
    const buf = this.device.createBuffer({ size: padded(bytes), usage: STORAGE, mappedAtCreation: true, label });
    const oom = await this.device.popErrorScope();
    if (oom) throw new OutOfMemoryError('webgpu', bytes, this.info.maxBufferBytes);
    fill(new Uint8Array(buf.getMappedRange(), 0, bytes));
    buf.unmap();
    return buf;
  }

  /** Destroy `buf` once the work already encoded has been submitted. */
  release(buf: GPUBuffer): void {
    if (this.encoder) this.trash.push(buf);
    else buf.destroy();
  }

  private pending(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private pipeline(key: string, source: string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: source, label: key });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * Encode one dispatch of kernel `key` (compiled from `source`) over `groups` workgroups, with
   * `bindings` by binding number and `params` as the uniform at binding 0.
   */
  dispatch(key: string, source: string, bindings: Record<number, GPUBuffer>, params: readonly Param[], groups: readonly number[]): void {
    const uniform = this.device.createBuffer({ size: padded(params.length * 4), usage: 0x40 | 0x8, mappedAtCreation: true, label: `${key} params` }); // UNIFORM | COPY_DST
    const view = new DataView(uniform.getMappedRange());
    params.forEach((p, i) => (typeof p === 'number' ? view.setUint32(i * 4, p, true) : view.setFloat32(i * 4, p.f, true)));
    uniform.unmap();
    const pipeline = this.pipeline(key, source);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
    for (const [b, buffer] of Object.entries(bindings)) entries.push({ binding: Number(b), resource: { buffer } });
    const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: key });
    const pass = this.pending().beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
    pass.end();
    this.trash.push(uniform);
  }

  /** Workgroups for n threads in groups of 64, 2-D past the per-dimension limit (maxWorkgroups). */
  grid(n: number): [number, number] {
    const groups = Math.ceil(n / WG);
    const max = this.info.maxWorkgroups;
    return groups <= max ? [Math.max(1, groups), 1] : [max, Math.ceil(groups / max)];
  }

  /** Encode a buffer-to-buffer copy. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes > 0) this.pending().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submit the pending encoder and destroy what was released meanwhile. */
  flush(): void {
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    for (const b of this.trash.splice(0)) b.destroy();
  }

  /** Submit everything pending and read `bytes` bytes of `buf` from `offset` back to the host. */
  async read(buf: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size: padded(bytes), usage: 0x1 | 0x8, label: 'read back' }); // MAP_READ | COPY_DST
    this.pending().copyBufferToBuffer(buf, offset, staging, 0, Math.ceil(bytes / 4) * 4);
    this.flush();
    try {
      await staging.mapAsync(1); // GPUMapMode.READ
    } catch (e) {
      this.check();
      throw new GpuDeviceError(`read back failed: ${(e as Error).message}`);
    }
    this.check();
    const out = staging.getMappedRange().slice(0, bytes);
    staging.destroy();
    return out;
  }

  /** Throw the first error the device reported since the last check. */
  check(): void {
    const e = this.firstError;
    this.firstError = null;
    if (e !== null) throw new GpuDeviceError(e);
  }

  destroy(): void {
    this.flush();
    this.device.destroy();
  }
}
