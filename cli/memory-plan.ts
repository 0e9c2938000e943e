// The memory plan of a model on a backend, made from the config and the tensor list
// alone (no weight byte is read), and the refusal of a model that cannot fit.
//   weights: as they will be resident. wasm (assembly/backend/tensors.ts): f32 / bf16 linear
//     weights keep their bytes, f16 linear weights are widened to f32 (×2), 4-bit weights keep
//     codes + E4M3 scales + position codes (weight_scale_2 becomes a number), vectors and conv
//     weights become f32, ggml blocks (GGUF Q8_0 … Q6_K) keep their bytes; every block is rounded up
//     to 16 bytes (heap.ts). reference: the bytes as stored. webgpu: as stored, vectors and ggml
//     blocks as f32, on the device.
//   FP8 (ModelOpt) linear weights are read as bf16 (engine/formats/fp8.ts): resident as bf16,
//     listed as 'bf16 (fp8)' with their E4M3 bytes as stored.
//   load transient: wasm repacks a 4-bit weight to rows4 beside its ModelOpt copy, so the heap
//     briefly holds the largest such weight twice; an f16 weight is read through a JS copy.
//   state (serve/fit.ts sequenceStateBytes): conv + SSM of 'M' layers (fixed) and K + V rows of
//     '*' layers (per token); f32 on wasm / webgpu, f64 on reference (×2).
//   activations (an estimate, not exact): a prefill pass of T tokens holds about T × (widest
//     linear output + 3·d) floats at once, plus one row of logits; a prompt goes through in
//     passes of at most PREFILL_CHUNK tokens (engine/core/model.ts), so this is a fixed cost,
//     not one per token of context.
// wasm holds all of it in one memory of at most 4 GiB (MAX_PAGES); the process needs it on top
// of what it already uses, so it is compared with this machine's available memory
// (/proc/meminfo MemAvailable, else os.freemem()). The longest context is what fits both, capped
// at max_position_embeddings. State counts every layer in config.layers, the MTP block's too
// (`--mtp K`). Not counted: V8's own heap growth, speculative snapshots (copies of the fixed
// state) and allocator fragmentation beyond the repack transient. Weights are exact: the
// embedded nvfp4 default plans to the byte what the wasm heap holds after loading.

import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { isGgmlBlock } from '../engine/formats/ggml-blocks.js';
import type { ModelConfig } from '../engine/core/config.js';
import { PREFILL_CHUNK } from '../engine/core/model.js';
import { EdgetronError } from '../engine/core/errors.js';
import { sidecarNames, type TensorEntry } from '../engine/core/weights.js';
import type { Fp8Bf16Entry } from '../engine/formats/fp8.js';
import type { KvDtype } from '../assembly/backend/act.js';
import { MAX_PAGES, PAGE_BYTES, ALIGN } from '../assembly/backend/heap.js';
import { EMBEDDING, isConvWeight } from '../assembly/backend/tensors.js';
import { sequenceStateBytes } from '../serve/fit.js';
import { splitLayers, type ShardSpec } from '../engine/shard/split.js';

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
  /** One entry per WASM memory (one, unless the model is split); other backends: one. */
  readonly shards: readonly ShardPlan[];
}

/** Where the plan's memory lives: one WASM memory, the JS heap, or a GPU (host memory not checked). */
type Residency = 'wasm' | 'host' | 'gpu';

const residencyOf = (backend: string): Residency => (backend.startsWith('wasm') ? 'wasm' : backend === 'webgpu' ? 'gpu' : 'host');
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const elements = (e: TensorEntry) => e.shape.reduce((a, b) => a * b, 1);

/** Resident bytes and load transient of each tensor (a 4-bit weight carries its sidecars'; they count 0). */
interface TensorResidency {
  readonly dtype: string;
  readonly stored: number;
  readonly resident: number;
  readonly transient: number;
}

/** Resident bytes of every tensor, by name (see the header). */
function residencyByTensor(residency: Residency, tensors: ReadonlyMap<string, TensorEntry>): Map<string, TensorResidency> {
  const sidecars = new Set<string>();
  for (const [name, e] of tensors) if (e.dtype === 'u8') for (const side of Object.values(sidecarNames(name))) sidecars.add(side);
  const out = new Map<string, TensorResidency>();
  for (const [name, e] of tensors) {
    if (sidecars.has(name)) {
      out.set(name, { dtype: 'nvfp4', stored: 0, resident: 0, transient: 0 });
    } else if (e.dtype === 'u8') {
      const side = sidecarNames(name);
      const parts = [e, tensors.get(side.scale), tensors.get(side.positions)].filter((p): p is TensorEntry => p !== undefined);
      const stored = parts.reduce((n, p) => n + p.byteLength, 0) + (tensors.get(side.scale2)?.byteLength ?? 0);
      const resident = residency === 'wasm' ? parts.reduce((n, p) => n + align(p.byteLength), 0) : stored;
      const transient = residency === 'wasm' && name !== EMBEDDING ? align(parts.reduce((n, p) => n + p.byteLength, 0)) : 0;
      out.set(name, { dtype: 'nvfp4', stored, resident, transient });
    } else if ((e as Partial<Fp8Bf16Entry>).fp8) {
      const { weight, scale, inputScale } = (e as Fp8Bf16Entry).fp8;
      const stored = weight.byteLength + scale.byteLength + (inputScale?.byteLength ?? 0);
      out.set(name, { dtype: 'bf16 (fp8)', stored, resident: residency === 'wasm' ? align(e.byteLength) : e.byteLength, transient: 0 });
    } else if (residency === 'host') {
      out.set(name, { dtype: e.dtype, stored: e.byteLength, resident: e.byteLength, transient: 0 });
    } else if (e.shape.length === 2 && !isConvWeight(name)) {
      const widened = e.dtype === 'f16' && residency === 'wasm';
      const gpuF32 = residency === 'gpu' && isGgmlBlock(e.dtype); // gpu/tensors.ts dequantises ggml blocks to f32
      const resident = residency === 'wasm' ? align(widened ? elements(e) * 4 : e.byteLength) : gpuF32 ? elements(e) * 4 : e.byteLength;
      out.set(name, { dtype: e.dtype, stored: e.byteLength, resident, transient: widened ? e.byteLength : 0 });
    } else {
      out.set(name, { dtype: e.dtype, stored: e.byteLength, resident: residency === 'wasm' ? align(elements(e) * 4) : elements(e) * 4, transient: 0 });
    }
  }
  return out;
}

/** Stored and resident bytes by dtype (4-bit weights as 'nvfp4'), in first-seen order. */
function byDtype(tensors: ReadonlyMap<string, TensorResidency>): DTypeBytes[] {
  const by = new Map<string, { stored: number; resident: number }>();
  for (const t of tensors.values()) {
    if (t.stored === 0 && t.resident === 0) continue;
    const row = by.get(t.dtype) ?? { stored: 0, resident: 0 };
    row.stored += t.stored;
    row.resident += t.resident;
    by.set(t.dtype, row);
  }
  return [...by].map(([dtype, b]) => ({ dtype, ...b }));
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

/**
 * Weight bytes one shard holds when a model is split over WASM memories (engine/shard): 3 GiB,
 * leaving about 1 GiB of each 4 GiB memory for its state, activations and the load transient.
 */
export const SHARD_WEIGHT_BYTES = 3 * 2 ** 30;

/** One shard of the plan: its layers and tensors (engine/shard/split.ts), and what its memory needs. */
export interface ShardPlan extends ShardSpec {
  /** Conv windows and SSM states of its 'M' layers, one sequence. */
  readonly fixedStateBytes: number;
  /** K + V rows of its '*' layers, per token. */
  readonly kvBytesPerToken: number;
  /** Bytes its memory needs for the requested context. */
  readonly neededBytes: number;
  /** The longest context its memory holds. */
  readonly maxContext: number;
}

export interface PlanInput {
  readonly backend: string;
  readonly config: ModelConfig;
  /** The validated tensors (engine/core/weights.ts validateWeights): only their dtypes and shapes are used. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly availableBytes: number;
  /** Tokens the command needs at least (prompt + generated); default 1. */
  readonly requestedContext?: number;
  /**
   * wasm: split into shards of at most this many weight bytes each, even when one memory would
   * hold the model. Default: split only when it would not, at SHARD_WEIGHT_BYTES.
   */
  readonly shardBudgetBytes?: number;
  /** wasm: the attention caches' element type (default f32; bf16 halves the KV bytes per token). */
  readonly kvDtype?: KvDtype;
}

/**
 * The memory plan of `tensors` on `backend` (see the header for what each term counts). On wasm,
 * a model one memory cannot hold is planned as shards (engine/shard/split.ts), each in its own
 * memory; the machine must hold them all.
 * @example
 * const plan = planMemory({ backend: 'wasm', config, tensors, availableBytes: availableMemoryBytes() });
 * plan.maxContext; // e.g. 262144
 */
export function planMemory(input: PlanInput): MemoryPlan {
  const { backend, config, tensors, availableBytes, requestedContext = 1 } = input;
  const residency = residencyOf(backend);
  const float = residency === 'host' ? 8 : 4;
  const perTensor = residencyByTensor(residency, tensors);
  const resident = (name: string) => perTensor.get(name)!.resident;
  const weights = [...perTensor.values()].reduce((n, t) => n + t.resident, 0);
  const transientOf = (names: Iterable<string>) => {
    let most = 0;
    for (const n of names) most = Math.max(most, perTensor.get(n)!.transient);
    return most;
  };
  const transient = transientOf(perTensor.keys());
  const scale = float / 4; // sequenceStateBytes counts f32
  const kvScale = residency === 'wasm' && input.kvDtype === 'bf16' ? 0.5 : 1; // bf16 caches: 2 bytes an element
  const stateOf = (layers: ModelConfig['layers']) => {
    const fixed = sequenceStateBytes(config, 0, layers) * scale;
    return { fixed, kv: (sequenceStateBytes(config, 1, layers) * scale - fixed) * kvScale };
  };
  const all = stateOf(config.layers);
  const activationBytesPerToken = (widestLinear(config, tensors) + 3 * config.dModel) * float;
  const headBytes = (config.vocabSize + config.dModel) * float;
  const limitBytes = residency === 'wasm' ? WASM_LIMIT_BYTES : null;
  const activations = activationBytesPerToken * Math.min(requestedContext, PREFILL_CHUNK);
  const oneMemory = weights + transient + all.fixed + headBytes + activations + all.kv * requestedContext;
  const split = residency === 'wasm' && (input.shardBudgetBytes !== undefined || oneMemory > limitBytes!);
  const specs: ShardSpec[] = split
    ? splitLayers(config, tensors.keys(), resident, input.shardBudgetBytes ?? SHARD_WEIGHT_BYTES)
    : [{ index: 0, from: 0, to: config.layers.length, names: [...tensors.keys()], bytes: weights }];
  let base = 0; // what the machine holds for every shard before any token: weights, transient, fixed state, head
  const shards: ShardPlan[] = specs.map((spec) => {
    const state = stateOf(config.layers.slice(spec.from, spec.to));
    // each shard holds its own activations of a pass
    const own = spec.bytes + transientOf(spec.names) + state.fixed + (spec.index === 0 ? headBytes : 0) + activations;
    base += own;
    const maxContext = limitBytes === null ? Infinity : Math.max(0, Math.floor((limitBytes - own) / state.kv));
    return { ...spec, fixedStateBytes: state.fixed, kvBytesPerToken: state.kv, neededBytes: own + state.kv * requestedContext, maxContext };
  });
  const perToken = all.kv;
  // a GPU keeps it all on the device, whose memory is not known here: only the context cap applies
  const machineRoom = residency === 'gpu' ? Infinity : availableBytes;
  const machineContext = Math.floor((machineRoom - base) / perToken);
  const maxContext = Math.max(0, Math.min(config.maxPositionEmbeddings, machineContext, ...shards.map((sh) => sh.maxContext)));
  // what is checked: a shard's memory that overflows its limit, else the machine
  const overflowing = limitBytes === null ? undefined : shards.find((sh) => sh.neededBytes > limitBytes);
  const [neededBytes, roomBytes] = overflowing ? [overflowing.neededBytes, limitBytes!] : [base + perToken * requestedContext, Math.min(machineRoom, limitBytes === null || split ? Infinity : limitBytes)];
  return {
    backend,
    byDtype: byDtype(perTensor),
    weightBytes: weights,
    loadTransientBytes: transient,
    fixedStateBytes: all.fixed,
    kvBytesPerToken: all.kv,
    activationBytesPerToken,
    headBytes,
    limitBytes,
    availableBytes,
    roomBytes,
    maxContext,
    neededBytes,
    requestedContext,
    shards,
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
    `state ${size(plan.fixedStateBytes)} + ${kib(plan.kvBytesPerToken)} KV per token; activations ~${size(plan.activationBytesPerToken * Math.min(plan.requestedContext, PREFILL_CHUNK))} a prefill pass (${Math.min(plan.requestedContext, PREFILL_CHUNK)} tokens)`,
    `${limit}; available ${size(plan.availableBytes)}; longest context that fits ${plan.maxContext} tokens`,
  ];
  if (plan.shards.length > 1) {
    const layers = (sh: ShardPlan) => (sh.to > sh.from ? `layers ${sh.from}-${sh.to - 1}` : '');
    const each = plan.shards.map((sh) => `${sh.index === 0 ? ['embedding, head', layers(sh)].filter(Boolean).join(' + ') : layers(sh)} ${size(sh.bytes)}`);
    lines.splice(1, 0, `${plan.shards.length} shards, one WASM memory and thread each: ${each.join('; ')}`);
  }
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
    const byLimit = limitBytes !== null && room === limitBytes;
    const shards = plan.shards.length > 1 ? ` in ${plan.shards.length} shards` : '';
    const what = byLimit ? 'one WASM memory holds at most' : 'this machine has available';
    const fix = plan.maxContext > 0
      ? `ask for less context (a shorter prompt, a smaller --max-tokens or --context): at most ${plan.maxContext} tokens fit`
      : `quantise it (edgetron convert --quant nvfp4 ${source} OUT)${byLimit ? '' : ' or free memory'}`;
    super(
      `${source}: needs ${size(neededBytes)} on ${plan.backend}${byLimit && shards ? ' in one shard' : shards} (weights ${size(weightBytes)}, ${requestedContext} tokens of context) but ${what} ${size(room)} (available ${size(availableBytes)}${limitBytes === null ? '' : `, limit ${gib(limitBytes)}`}); ${fix}`,
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
