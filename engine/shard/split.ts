// How a model is cut into shards (docs/design.md §2, "Shards"): contiguous layer ranges, in layer
// order, each within a byte budget (one WASM memory, one isolate). Shard 0 also holds the global
// tensors (embedding, norm_f, head), since the front asks it for the first and last step of every
// pass. The cut is balanced: the fewest shards the budget allows, then the smallest budget that
// still gives that many, so the shards come out near-equal.

import type { ModelConfig } from '../core/config.js';
import { EdgetronError, OpArgumentError } from '../core/errors.js';

/** One shard: layers [from, to) of config.layers, and the tensors it loads. */
export interface ShardSpec {
  readonly index: number;
  readonly from: number;
  readonly to: number;
  /** Tensor names it loads (its layers' and, for shard 0, the global ones). */
  readonly names: readonly string[];
  /** Resident bytes of those tensors. */
  readonly bytes: number;
}

/** A layer (or shard 0's global tensors) alone exceeds the shard budget. */
export class ShardBudgetError extends EdgetronError {
  constructor(
    readonly what: string,
    readonly bytes: number,
    readonly budgetBytes: number,
  ) {
    super(`${what} needs ${bytes} bytes, more than one shard's budget of ${budgetBytes} bytes; raise the budget or quantise the model`);
  }
}

/**
 * The layer il that tensor `name` belongs to, or -1 for a global tensor.
 * @example layerOf(config, 'backbone.layers.12.mixer.in_proj.weight'); // 12
 */
export function layerOf(config: ModelConfig, name: string): number {
  for (const layer of config.layers) if (name.startsWith(layer.prefix)) return layer.il;
  return -1;
}

/** Tensor names and resident bytes per layer (index il), and of the global tensors. */
function groupBytes(config: ModelConfig, names: Iterable<string>, bytesOf: (name: string) => number) {
  const layers = config.layers.map(() => ({ names: [] as string[], bytes: 0 }));
  const global = { names: [] as string[], bytes: 0 };
  for (const name of names) {
    const il = layerOf(config, name);
    const group = il < 0 ? global : layers[il];
    group.names.push(name);
    group.bytes += bytesOf(name);
  }
  return { layers, global };
}

/** Greedy cut under `budget`: the index of each shard's first layer (shard 0 starts with the globals). */
function cut(globalBytes: number, layerBytes: readonly number[], budget: number): number[] {
  const starts = [0];
  let used = globalBytes;
  layerBytes.forEach((b, il) => {
    if (used + b > budget && (il > starts[starts.length - 1] || used > 0)) {
      starts.push(il);
      used = 0;
    }
    used += b;
  });
  return starts;
}

/**
 * Cut `names` (the validated tensors) into shards of at most `budgetBytes` resident bytes each
 * (`bytesOf` gives a tensor's resident bytes on the backend); one shard when everything fits.
 * @example
 * const shards = splitLayers(config, tensors.keys(), (n) => resident.get(n)!, 3.5 * 2 ** 30);
 * shards.map((s) => [s.from, s.to]); // [[0, 22], [22, 42]]
 */
export function splitLayers(config: ModelConfig, names: Iterable<string>, bytesOf: (name: string) => number, budgetBytes: number): ShardSpec[] {
  const { layers, global } = groupBytes(config, names, bytesOf);
  const layerBytes = layers.map((l) => l.bytes);
  if (global.bytes > budgetBytes) throw new ShardBudgetError('the embedding, final norm and head', global.bytes, budgetBytes);
  layerBytes.forEach((b, il) => {
    if (b > budgetBytes) throw new ShardBudgetError(`layer ${il} (${config.layers[il].kind})`, b, budgetBytes);
  });
  const count = cut(global.bytes, layerBytes, budgetBytes).length;
  // the smallest budget that keeps `count` shards (bisection on bytes)
  let low = Math.max(global.bytes, ...layerBytes, 1);
  let high = budgetBytes;
  while (high - low > Math.max(1, high * 1e-4)) {
    const mid = Math.floor((low + high) / 2);
    if (cut(global.bytes, layerBytes, mid).length <= count) high = mid;
    else low = mid + 1;
  }
  const starts = cut(global.bytes, layerBytes, high);
  return starts.map((from, index) => {
    const to = starts[index + 1] ?? config.layers.length;
    const members = layers.slice(from, to);
    const names = [...(index === 0 ? global.names : []), ...members.flatMap((l) => l.names)];
    const bytes = (index === 0 ? global.bytes : 0) + members.reduce((n, l) => n + l.bytes, 0);
    return { index, from, to, names, bytes };
  });
}

/**
 * Which shard of `specs` holds each layer and each tensor, looked up in constant time (the front
 * asks on every pass).
 * @example new ShardOwners(config, specs).tensor('lm_head.weight'); // 0
 */
export class ShardOwners {
  private readonly layers: number[];
  private readonly globals = new Map<string, number>();

  constructor(
    private readonly config: ModelConfig,
    specs: readonly ShardSpec[],
  ) {
    this.layers = config.layers.map((layer) => {
      const s = specs.findIndex((spec) => layer.il >= spec.from && layer.il < spec.to);
      if (s < 0) throw new OpArgumentError('shards', `no shard holds layer ${layer.il}`);
      return s;
    });
    specs.forEach((spec, s) => {
      for (const name of spec.names) if (layerOf(config, name) < 0) this.globals.set(name, s);
    });
  }

  /** The shard holding layer il. */
  layer(il: number): number {
    return this.layers[il];
  }

  /** The shard holding tensor `name` (a layer's, or a global one). */
  tensor(name: string): number {
    const il = layerOf(this.config, name);
    const s = il >= 0 ? this.layers[il] : this.globals.get(name);
    if (s === undefined) throw new OpArgumentError('shards', `no shard holds ${name}`);
    return s;
  }
}
