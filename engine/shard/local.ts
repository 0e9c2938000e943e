// Shards in this thread (docs/design.md §2, "Shards"): each shard is its own LoadedModel on the
// given backend (for wasm: its own WASM instance and memory), reached by a direct call. The
// portable transport: what threads and Durable Objects carry as bytes, this passes as objects.

import type { Backend } from '../core/backend.js';
import type { ModelConfig } from '../core/config.js';
import type { TensorEntry } from '../core/weights.js';
import type { ShardLink, ShardReply, ShardRequest } from './protocol.js';
import { ShardServer } from './server.js';
import { ShardedModel } from './sharded-model.js';
import type { ShardSpec } from './split.js';

/** A link to a ShardServer in this thread; it is never lost. */
export class LocalShardLink implements ShardLink {
  readonly lost = false;

  constructor(readonly server: ShardServer) {}

  call(request: ShardRequest): ShardReply {
    return this.server.handle(request);
  }

  revive(): void {}

  dispose(): void {
    this.server.dispose();
  }
}

/**
 * The tensors of one shard: those `spec` names, out of the validated map.
 * @example const mine = shardTensors(tensors, spec); // Map with spec.names only
 */
export function shardTensors(tensors: ReadonlyMap<string, TensorEntry>, spec: ShardSpec): Map<string, TensorEntry> {
  return new Map(spec.names.map((name) => [name, tensors.get(name)!]));
}

/**
 * Load each shard of `specs` as its own model on `backend`, in this thread, and join them.
 * `onProgress` gets bytes read over all shards.
 * @example
 * const specs = splitLayers(config, tensors.keys(), (n) => tensors.get(n)!.byteLength, 2 ** 30);
 * const model = new Model(await loadLocalShards(wasmBackend, config, tensors, specs));
 */
export async function loadLocalShards(
  backend: Backend,
  config: ModelConfig,
  tensors: ReadonlyMap<string, TensorEntry>,
  specs: readonly ShardSpec[],
  onProgress?: (loadedBytes: number, totalBytes: number) => void,
): Promise<ShardedModel> {
  const total = [...tensors.values()].reduce((n, e) => n + e.byteLength, 0);
  const links: LocalShardLink[] = [];
  let before = 0;
  try {
    for (const spec of specs) {
      const mine = shardTensors(tensors, spec);
      const loaded = await backend.load(config, mine, (n) => onProgress?.(before + n, total));
      before += [...mine.values()].reduce((n, e) => n + e.byteLength, 0);
      links.push(new LocalShardLink(new ShardServer(loaded)));
    }
  } catch (e) {
    for (const link of links) link.dispose();
    throw e;
  }
  return new ShardedModel(config, backend.name, specs.map((spec, i) => ({ spec, link: links[i] })));
}
