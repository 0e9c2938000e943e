// Node worker-thread entry of one shard (runtime/node-shards.ts): opens the checkpoint itself,
// loads only its shard's tensors on its own backend instance (its own WASM memory, its own
// kernel threads), then serves the front's requests (engine/shard/server.ts) on its channel
// until the front closes it. A load that fails throws: the thread ends and the supervisor
// reports the error to the front.

import { parentPort, workerData } from 'node:worker_threads';
import { validateWeights } from '../engine/core/weights.js';
import { decodeMessage, encodeMessage, type ShardRequest } from '../engine/shard/protocol.js';
import { ShardServer } from '../engine/shard/server.js';
import { serveChannel } from '../runtime/shard-channel.js';
import { openCheckpoint } from '../weights-tools/checkpoint.js';
import { pickBackend, type BackendOptions } from './backends.js';

/** What the front gives a shard thread (cli/load.ts). */
export interface ShardThreadData {
  readonly channel: SharedArrayBuffer;
  /** The checkpoint to open (a folder or .gguf). */
  readonly path: string;
  /** Whether the MTP block is loaded (as the front decided). */
  readonly mtp: boolean;
  /** The tensors of this shard. */
  readonly names: readonly string[];
  readonly backend: string;
  readonly options: BackendOptions;
}

const data = workerData as ShardThreadData;
const ckpt = await openCheckpoint(data.path);
const tensors = validateWeights(ckpt.config, ckpt.store, data.mtp);
const mine = new Map(data.names.map((name) => [name, tensors.get(name)!]));
const { backend } = await pickBackend(data.backend, data.options);
const loaded = await backend.load(ckpt.config, mine, (bytes) => parentPort!.postMessage({ progress: bytes }));
await ckpt.store.close();
const server = new ShardServer(loaded);
parentPort!.postMessage({ ready: true });
serveChannel(data.channel, (bytes) => encodeMessage(server.handle(decodeMessage<ShardRequest>(bytes))));
server.dispose();
