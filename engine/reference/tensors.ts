// The reference backend's weights: each tensor's raw little-endian bytes exactly as the store
// holds them, read on first use and kept (never a second, decoded copy). Elements are decoded to
// f64 where a kernel uses them (engine/formats/dtype.ts), so a bf16 [1856, 2688] expert stays 10 MB.
//
// The op interface is synchronous, so a lazy read needs a synchronous source: a TensorEntry that
// also has `readIntoSync` (the in-memory store; a file loader can give one with fs.readSync).
// Entries without it are read eagerly, once, by `load()`.

import { decodeAll } from '../formats/dtype.js';
import { MissingTensorError } from '../core/errors.js';
import { checkPositionCodes } from '../formats/sparse24.js';
import type { RefAct } from './act.js';
import { linearWeight, sidecarNames, type DType, type TensorEntry } from '../core/weights.js';

/** A TensorEntry that can also fill `dst` synchronously. */
export interface SyncTensorEntry extends TensorEntry {
  readIntoSync(dst: Uint8Array): void;
}

function canReadSync(entry: TensorEntry): entry is SyncTensorEntry {
  return typeof (entry as Partial<SyncTensorEntry>).readIntoSync === 'function';
}

/** Sees the input X (T, in) of every projection with linear weight `weight` (calibration, tracing). */
export type LinearTap = (weight: string, x: RefAct) => void;

/** The sidecars of a 4-bit linear weight (spec §14.1, DESIGN §3), raw. */
export interface QuantParts {
  readonly format: 'nvfp4' | 'nvfp4-s24';
  readonly scale: Uint8Array; // E4M3 (rows, cols/16)
  readonly scale2: number; // weight_scale_2 (f32 value)
  readonly positions?: Uint8Array; // nvfp4-s24: (rows, cols/8) packed legal position codes
}

/**
 * A tensor's raw bytes seen as a matrix (rows = shape[0], cols = the rest). For a 4-bit linear
 * weight, rows × cols is the logical shape [out, in], `bytes` the packed E2M1 codes and `quant`
 * the sidecars.
 */
export interface RawTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly rows: number;
  readonly cols: number;
  readonly bytes: Uint8Array; // rows · cols elements of dtype, or the packed codes
  readonly quant?: QuantParts;
}

/**
 * Lazily read, cached raw tensors by canonical name.
 * @example
 * const cache = new TensorCache(validateWeights(config, store));
 * const w = cache.get('lm_head.weight'); // read now, kept: { dtype, rows: V, cols: d, bytes }
 */
export class TensorCache {
  private readonly raw = new Map<string, RawTensor>();
  private readonly linears = new Map<string, RawTensor>(); // 4-bit weights with their sidecars
  private resident = 0;
  /** Observer of every projection's input, or null (set by calibration tools, e.g. Wanda). */
  tap: LinearTap | null = null;

  constructor(
    private readonly entries: ReadonlyMap<string, TensorEntry>,
    private readonly source = 'the loaded tensors',
  ) {}

  /** Read every entry that cannot be read synchronously later; reports bytes as they arrive. */
  async readUnsyncable(onProgress?: (loadedBytes: number, totalBytes: number) => void): Promise<void> {
    const eager = [...this.entries].filter(([, e]) => !canReadSync(e));
    const total = eager.reduce((n, [, e]) => n + e.byteLength, 0);
    for (const [name, entry] of eager) {
      const bytes = new Uint8Array(entry.byteLength);
      await entry.readInto(bytes);
      this.keep(name, entry, bytes);
      onProgress?.(this.resident, total);
    }
  }

  /** The raw tensor `name`, read now if this is its first use. */
  get(name: string): RawTensor {
    const hit = this.raw.get(name);
    if (hit) return hit;
    const entry = this.entries.get(name);
    if (!entry || !canReadSync(entry)) throw new MissingTensorError(name, this.source);
    const bytes = new Uint8Array(entry.byteLength);
    entry.readIntoSync(bytes);
    return this.keep(name, entry, bytes);
  }

  /**
   * The linear weight `name` ([out, in]) in any LinearFormat: a float matrix as `get` gives it, or
   * the packed codes with their sidecars. Position codes are checked when first read
   * (`IllegalPositionCodeError`).
   */
  linear(name: string): RawTensor {
    const hit = this.linears.get(name);
    if (hit) return hit;
    const view = linearWeight(this.entries, name);
    if (view.format !== 'nvfp4' && view.format !== 'nvfp4-s24') return this.get(name);
    const side = sidecarNames(name);
    const positions = view.positions ? this.get(side.positions).bytes : undefined;
    if (positions) checkPositionCodes(positions, side.positions);
    const quant: QuantParts = { format: view.format, scale: this.get(side.scale).bytes, scale2: this.vector(side.scale2)[0], positions };
    const t: RawTensor = { ...this.get(name), rows: view.rows, cols: view.cols, quant };
    this.linears.set(name, t);
    return t;
  }

  /** A small parameter vector (norm weight, conv bias, A_log, …) decoded to f64. */
  vector(name: string): Float64Array {
    const t = this.get(name);
    return decodeAll(t.dtype, t.bytes, name);
  }

  /** Whether tensor `name` has been read. */
  isResident(name: string): boolean {
    return this.raw.has(name);
  }

  /** Bytes of raw tensors held. */
  residentBytes(): number {
    return this.resident;
  }

  clear(): void {
    this.raw.clear();
    this.linears.clear();
    this.resident = 0;
  }

  // `name` is the canonical name, which may differ from entry.name (an accepted alias)
  private keep(name: string, entry: TensorEntry, bytes: Uint8Array): RawTensor {
    const rows = entry.shape[0] ?? 1;
    const numel = entry.shape.reduce((a, b) => a * b, 1);
    const t: RawTensor = { name, dtype: entry.dtype, rows, cols: rows === 0 ? 0 : numel / rows, bytes };
    this.raw.set(name, t);
    this.resident += bytes.byteLength;
    return t;
  }
}
