// Node: the shards of a sharded model (engine/shard) in worker threads, each with its own WASM
// instance and memory, so a model larger than one 4 GiB memory runs. The front talks to each
// over a shared-memory channel (shard-channel.ts); a supervisor thread (shard-supervisor.ts)
// starts them and marks a shard GONE when its thread ends, so the front never waits on a dead
// one. A lost shard is started again (its weights reloaded) by `revive`, on the next sequence.

import { Worker } from 'node:worker_threads';
import { ShardLostError } from '../engine/core/errors.js';
import { decodeMessage, encodeMessage, type ShardLink, type ShardReply, type ShardRequest } from '../engine/shard/protocol.js';
import type { ShardSpec } from '../engine/shard/split.js';
import { compiledBeside } from './paths.js';
import { ChannelFront, ChannelGoneError, GONE, newChannel } from './shard-channel.js';


/** How the shard threads are started. */
export interface ThreadShardOptions {
  /**
   * The shard thread's entry module (a file path). It receives `workerData` with `channel` added,
   * loads its shard, posts `{ progress: bytes }` while loading and `{ ready: true }` when done,
   * then serves the channel (serveChannel); a load that fails should throw (the thread ends).
   */
  readonly entry: string;
  /** What shard `spec`'s entry receives (structured-cloneable), e.g. the checkpoint path and its tensor names. */
  readonly workerData: (spec: ShardSpec) => unknown;
  /** Source bytes read so far over all shards. */
  readonly onProgress?: (loadedBytes: number) => void;
}

type SupervisorMessage = { id: number; progress?: number; ready?: boolean; gone?: string };

/** The supervisor thread, shared by one model's shards; it ends with the last of them. */
class Supervisor {
  private readonly worker = new Worker(compiledBeside(import.meta.url, 'shard-supervisor.js'));
  private readonly listeners = new Map<number, (m: SupervisorMessage) => void>();
  private users = 0;

  constructor() {
    this.worker.unref();
    this.worker.on('message', (m: SupervisorMessage) => this.listeners.get(m.id)?.(m));
  }

  post(message: object): void {
    this.worker.postMessage(message);
  }

  listen(id: number, listener: ((m: SupervisorMessage) => void) | null): void {
    if (listener) this.listeners.set(id, listener);
    else this.listeners.delete(id);
  }

  hold(): void {
    this.users++;
  }

  release(): void {
    if (--this.users === 0) void this.worker.terminate();
  }
}

/** A link to a shard in a worker thread (see the header). */
export class ThreadShardLink implements ShardLink {
  private readonly front: ChannelFront;

  constructor(
    private readonly supervisor: Supervisor,
    readonly spec: ShardSpec,
    private readonly entry: string,
    private readonly workerData: unknown,
  ) {
    this.front = new ChannelFront(newChannel());
    supervisor.hold();
  }

  /** Start the thread; resolves once its shard serves (ShardLostError if it ends first). */
  start(onProgress?: (bytes: number) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.supervisor.listen(this.spec.index, (m) => {
        if (m.progress !== undefined) onProgress?.(m.progress);
        if (m.ready) resolve();
        if (m.gone !== undefined) reject(new ShardLostError(this.spec.index, 'load', m.gone));
      });
      this.spawn();
    });
  }

  private spawn(): void {
    this.front.reset();
    this.supervisor.post({ spawn: { id: this.spec.index, entry: this.entry, channel: this.front.buffer, workerData: this.workerData } });
  }

  call(request: ShardRequest): ShardReply {
    try {
      return decodeMessage<ShardReply>(this.front.exchange(encodeMessage(request)));
    } catch (e) {
      if (e instanceof ChannelGoneError) throw new ShardLostError(this.spec.index, request.op, e.reason);
      throw e;
    }
  }

  get lost(): boolean {
    return this.front.state === GONE;
  }

  /** Start a fresh thread for this shard and block until it serves (its weights reloaded). */
  revive(): void {
    this.supervisor.listen(this.spec.index, null);
    this.spawn();
    try {
      this.front.awaitServing();
    } catch (e) {
      if (e instanceof ChannelGoneError) throw new ShardLostError(this.spec.index, 'reload', e.reason);
      throw e;
    }
  }

  /** End the shard's thread after `afterMs`, as a crash would (drills and tests): the front finds it GONE. */
  kill(afterMs = 0): void {
    this.supervisor.post({ kill: { id: this.spec.index, afterMs } });
  }

  dispose(): void {
    this.supervisor.listen(this.spec.index, null);
    this.front.close();
    this.supervisor.post({ stop: { id: this.spec.index } });
    this.supervisor.release();
  }
}

/**
 * Start one worker thread per shard of `specs` and resolve with their links once all serve; if
 * one fails to load, the others are stopped and its ShardLostError is thrown.
 * @example
 * const links = await startThreadShards(specs, { entry, workerData: (spec) => ({ path, names: spec.names }) });
 * const model = new ShardedModel(config, 'wasm', specs.map((spec, i) => ({ spec, link: links[i] })));
 */
export async function startThreadShards(specs: readonly ShardSpec[], options: ThreadShardOptions): Promise<ThreadShardLink[]> {
  const supervisor = new Supervisor();
  const links = specs.map((spec) => new ThreadShardLink(supervisor, spec, options.entry, options.workerData(spec)));
  const loaded = specs.map(() => 0);
  const started = await Promise.allSettled(
    links.map((link, i) =>
      link.start((bytes) => {
        loaded[i] = bytes;
        options.onProgress?.(loaded.reduce((a, b) => a + b, 0));
      }),
    ),
  );
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const link of links) link.dispose();
    throw failed.reason;
  }
  return links;
}
