// The memory plan of a model on a backend, made from the config and the tensor list
// alone (no weight byte is read), and the refusal of a model that cannot fit.
//   weights: as they will be resident. wasm (assembly/backend/tensors.ts): f32 / bf16 linear
//     weights keep their bytes, f16 linear weights are widened to f32 (×2), 4-bit weights keep
//     codes + E4M3 scales + position codes (weight_scale_2 becomes a number), vectors and conv
//     weights become f32; every block is rounded up to 16 bytes (heap.ts). reference: the bytes
//     as stored. webgpu: as stored, vectors as f32, on the device.
//   load transient: wasm repacks a 4-bit weight to rows4 beside its ModelOpt copy, so the heap
//     briefly holds the largest such weight twice; an f16 weight is read through a JS copy.
//   state (serve/fit.ts sequenceStateBytes): conv + SSM of 'M' layers (fixed) and K + V rows of
//     '*' layers (per token); f32 on wasm / webgpu, f64 on reference (×2).
//   activations (an estimate, not exact): a prefill of T tokens holds about T × (widest linear
//     output + 3·d) floats at once, plus one row of logits.
// wasm holds all of it in one memory of at most 4 GiB (MAX_PAGES); the process needs it on top
// of what it already uses, so it is compared with this machine's available memory
// (/proc/meminfo MemAvailable, else os.freemem()). The longest context is what fits both, capped
// at max_position_embeddings. State counts every layer in config.layers, the MTP block's too
// (`--mtp K`). Not counted: V8's own heap growth, speculative snapshots (copies of the fixed
// state) and allocator fragmentation beyond the repack transient. Weights are exact: the
// embedded nvfp4 default plans to the byte what the wasm heap holds after loading.

import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import type { ModelConfig } from '../engine/core/config.js';
import { EdgetronError } from '../engine/core/errors.js';
import { sidecarNames, type TensorEntry } from '../engine/core/weights.js';
import { MAX_PAGES, PAGE_BYTES, ALIGN } from '../assembly/backend/heap.js';
import { EMBEDDING, isConvWeight } from '../assembly/backend/tensors.js';
import { sequenceStateBytes } from '../serve/fit.js';

/** Bytes one wasm32 memory can address (4 GiB), less the page the heap reserves at address 0. */
export const WASM_LIMIT_BYTES = MAX_PAGES * PAGE_BYTES - PAGE_BYTES;

/** Stored and resident bytes of the tensors of one on-disk dtype (4-bit weights as 'nvfp4'). */
export interface DTypeBytes {
  readonly dtype: string;
  readonly stored: number;
  readonly resident: number;
}

/** What a model will need on a backend, and the longest context that fits. */
export interface MemoryPlan {
  readonly backend: string;
  readonly byDtype: readonly DTypeBytes[];
  /** Weights as resident on the backend. */
  readonly weightBytes: number;
  /** Extra bytes held only while loading (the rows4 repack, an f16 read). */
  readonly loadTransientBytes: number;
  /** Conv windows and SSM states of one sequence. */
  readonly fixedStateBytes: number;
  /** K + V rows of one token over every attention layer. */
  readonly kvBytesPerToken: number;
  /** Prefill activations per prompt token (estimate). */
  readonly activationBytesPerToken: number;
  /** One row of logits and the final hidden row. */
  readonly headBytes: number;
  /** One WASM memory's limit, or null where the backend has none. */
  readonly limitBytes: number | null;
  /** This machine's available memory. */
  readonly availableBytes: number;
  /** What the plan must fit: the smaller of the two (Infinity on webgpu, whose device memory is not known here). */
  readonly roomBytes: number;
  /** The longest context (prompt + generated tokens) that fits; 0 when not even the weights fit. */
  readonly maxContext: number;
  /** Bytes needed for `requestedContext` tokens. */
  readonly neededBytes: number;
  readonly requestedContext: number;
}

/** Where the plan's memory lives: one WASM memory, the JS heap, or a GPU (host memory not checked). */
type Residency = 'wasm' | 'host' | 'gpu';

const residencyOf = (backend: string): Residency => (backend.startsWith('wasm') ? 'wasm' : backend === 'webgpu' ? 'gpu' : 'host');
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const elements = (e: TensorEntry) => e.shape.reduce((a, b) => a * b, 1);

/** Resident bytes of every tensor, by dtype, and the load transient (see the header). */
function weightBytes(residency: Residency, tensors: ReadonlyMap<string, TensorEntry>): { byDtype: DTypeBytes[]; transient: number } {
  const sidecars = new Set<string>();
  for (const [name, e] of tensors) if (e.dtype === 'u8') for (const side of Object.values(sidecarNames(name))) sidecars.add(side);
  const by = new Map<string, { stored: number; resident: number }>();
  let transient = 0;
  const add = (dtype: string, stored: number, resident: number) => {
    const row = by.get(dtype) ?? { stored: 0, resident: 0 };
    row.stored += stored;
    row.resident += resident;
    by.set(dtype, row);
  };
  for (const [name, e] of tensors) {
    if (sidecars.has(name)) continue;
    if (e.dtype === 'u8') {
      const side = sidecarNames(name);
      const parts = [e, tensors.get(side.scale), tensors.get(side.positions)].filter((p): p is TensorEntry => p !== undefined);
      const stored = parts.reduce((n, p) => n + p.byteLength, 0) + (tensors.get(side.scale2)?.byteLength ?? 0);
      const resident = residency === 'wasm' ? parts.reduce((n, p) => n + align(p.byteLength), 0) : stored;
      if (residency === 'wasm' && name !== EMBEDDING) transient = Math.max(transient, align(parts.reduce((n, p) => n + p.byteLength, 0)));
      add('nvfp4', stored, resident);
    } else if (residency === 'host') {
      add(e.dtype, e.byteLength, e.byteLength);
    } else if (e.shape.length === 2 && !isConvWeight(name)) {
      const widened = e.dtype === 'f16' && residency === 'wasm';
      if (widened) transient = Math.max(transient, e.byteLength);
      add(e.dtype, e.byteLength, residency === 'wasm' ? align(widened ? elements(e) * 4 : e.byteLength) : e.byteLength);
    } else {
      add(e.dtype, e.byteLength, residency === 'wasm' ? align(elements(e) * 4) : elements(e) * 4);
    }
  }
  return { byDtype: [...by].map(([dtype, b]) => ({ dtype, ...b })), transient };
}

/** The widest output of any linear weight but the head's (the widest live activation row). */
function widestLinear(config: ModelConfig, tensors: ReadonlyMap<string, TensorEntry>): number {
  let widest = config.dModel;
  for (const [name, e] of tensors) {
    if (e.shape.length === 2 && name !== 'lm_head.weight' && name !== EMBEDDING) widest = Math.max(widest, e.shape[0]);
  }
  return widest;
}

/**
 * This machine's available memory in bytes: MemAvailable from /proc/meminfo (page cache counts
 * as available), else os.freemem().
 * @example availableMemoryBytes(); // e.g. 6.2e9
 */
export function availableMemoryBytes(): number {
  try {
    const kb = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

export interface PlanInput {
  readonly backend: string;
  readonly config: ModelConfig;
  /** The validated tensors (engine/core/weights.ts validateWeights): only their dtypes and shapes are used. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly availableBytes: number;
  /** Tokens the command needs at least (prompt + generated); default 1. */
  readonly requestedContext?: number;
}

/**
 * The memory plan of `tensors` on `backend` (see the header for what each term counts).
 * @example
 * const plan = planMemory({ backend: 'wasm', config, tensors, availableBytes: availableMemoryBytes() });
 * plan.maxContext; // e.g. 262144
 */
export function planMemory(input: PlanInput): MemoryPlan {
  const { backend, config, tensors, availableBytes, requestedContext = 1 } = input;
  const residency = residencyOf(backend);
  const float = residency === 'host' ? 8 : 4;
  const { byDtype, transient } = weightBytes(residency, tensors);
  const weights = byDtype.reduce((n, b) => n + b.resident, 0);
  const scale = float / 4; // sequenceStateBytes counts f32
  const fixedStateBytes = sequenceStateBytes(config, 0) * scale;
  const kvBytesPerToken = sequenceStateBytes(config, 1) * scale - fixedStateBytes;
  const activationBytesPerToken = (widestLinear(config, tensors) + 3 * config.dModel) * float;
  const headBytes = (config.vocabSize + config.dModel) * float;
  const limitBytes = residency === 'wasm' ? WASM_LIMIT_BYTES : null;
  const base = weights + transient + fixedStateBytes + headBytes;
  const perToken = kvBytesPerToken + activationBytesPerToken;
  // a GPU keeps it all on the device, whose memory is not known here: only the context cap applies
  const room = residency === 'gpu' ? Infinity : Math.min(limitBytes ?? Infinity, availableBytes);
  const fits = Math.floor((room - base) / perToken);
  const maxContext = Math.max(0, Math.min(config.maxPositionEmbeddings, fits));
  return {
    backend,
    byDtype,
    weightBytes: weights,
    loadTransientBytes: transient,
    fixedStateBytes,
    kvBytesPerToken,
    activationBytesPerToken,
    headBytes,
    limitBytes,
    availableBytes,
    roomBytes: room,
    maxContext,
    neededBytes: base + perToken * requestedContext,
    requestedContext,
  };
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const kib = (n: number) => `${(n / 2 ** 10).toFixed(1)} KiB`;
const size = (n: number) => (n >= 2 ** 30 ? gib(n) : n >= 2 ** 20 ? mib(n) : kib(n));

/**
 * The plan as text: a short block (a TTY), or one line.
 * @example io.stderr.write(formatPlan(plan, !io.stderr.isTTY));
 */
export function formatPlan(plan: MemoryPlan, oneLine: boolean): string {
  const dtypes = plan.byDtype.map((b) => `${b.dtype} ${size(b.resident)}${size(b.resident) !== size(b.stored) ? ` (${size(b.stored)} on disk)` : ''}`).join(', ');
  const limit = plan.limitBytes === null ? (plan.backend === 'webgpu' ? 'GPU memory not checked' : 'no memory limit') : `limit ${gib(plan.limitBytes)} per WASM memory`;
  const lines = [
    `memory plan (${plan.backend}): weights ${size(plan.weightBytes)} [${dtypes}]${plan.loadTransientBytes ? ` + ${size(plan.loadTransientBytes)} while loading` : ''}`,
    `state ${size(plan.fixedStateBytes)} + ${kib(plan.kvBytesPerToken)} KV per token; activations ~${kib(plan.activationBytesPerToken)} per prompt token`,
    `${limit}; available ${size(plan.availableBytes)}; longest context that fits ${plan.maxContext} tokens`,
  ];
  return oneLine ? `${lines.join('; ')}\n` : `${lines.join('\n  ')}\n`;
}

/**
 * Prints a plan on `stderr`: a block on a terminal, else one line when `offTty` (e.g. `run --stats`), else nothing.
 * @example loadForCli(model, backend, {}, { report: planReporter(io.stderr, values.stats === true) });
 */
export function planReporter(stderr: { write(chunk: string): unknown; readonly isTTY?: boolean }, offTty: boolean): (plan: MemoryPlan) => void {
  return (plan) => {
    if (stderr.isTTY || offTty) stderr.write(formatPlan(plan, !stderr.isTTY));
  };
}

/**
 * The model does not fit: the WASM memory limit or this machine's available memory is below
 * what the plan needs. Raised before any weight is read.
 * @example throw new ModelDoesNotFitError('models/nano-4b', plan);
 */
export class ModelDoesNotFitError extends EdgetronError {
  constructor(
    readonly source: string,
    readonly plan: MemoryPlan,
  ) {
    const { limitBytes, availableBytes, neededBytes, requestedContext, weightBytes, roomBytes: room } = plan;
    const byLimit = limitBytes !== null && limitBytes < availableBytes;
    const what = byLimit ? 'one WASM memory holds at most' : 'this machine has available';
    const weightsFit = weightBytes + plan.loadTransientBytes + plan.fixedStateBytes < room;
    const fix = weightsFit
      ? `ask for less context (a shorter prompt, a smaller --max-tokens or --context): at most ${plan.maxContext} tokens fit`
      : `quantise it (edgetron convert --quant nvfp4 ${source} OUT)${byLimit ? '' : ' or free memory'}`;
    super(
      `${source}: needs ${size(neededBytes)} on ${plan.backend} (weights ${size(weightBytes)}, ${requestedContext} tokens of context) but ${what} ${size(room)} (available ${size(availableBytes)}${limitBytes === null ? '' : `, limit ${gib(limitBytes)}`}); ${fix}`,
    );
  }
}

/**
 * `plan`, or ModelDoesNotFitError when `plan.requestedContext` tokens do not fit.
 * @example assertPlanFits('models/x', planMemory(input));
 */
export function assertPlanFits(source: string, plan: MemoryPlan): MemoryPlan {
  if (plan.neededBytes > plan.roomBytes) throw new ModelDoesNotFitError(source, plan);
  return plan;
}
