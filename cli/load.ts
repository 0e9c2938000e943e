// Shared by `run`, `logits`, `eval` and `metric`: pick the backend (cli/backends.ts), open the
// checkpoint, make its memory plan (cli/memory-plan.ts) and load it into a session
// (engine/core/session.ts). The backend name is checked before any file is read; a model that
// does not fit is refused before any weight is read.

import type { Backend } from '../engine/core/backend.js';
import { openSession, type Session } from '../engine/core/session.js';
import type { TensorEntry } from '../engine/core/weights.js';
import { LocalShardLink, shardTensors } from '../engine/shard/local.js';
import { ShardServer } from '../engine/shard/server.js';
import { ShardedModel } from '../engine/shard/sharded-model.js';
import type { ShardSpec } from '../engine/shard/split.js';
import { startThreadShards } from '../runtime/node-shards.js';
import { compiledBeside } from '../runtime/paths.js';
import { openCheckpoint, resolveModelPath } from '../weights-tools/checkpoint.js';
import { pickBackend, type BackendChoice, type BackendOptions } from './backends.js';
import type { ShardThreadData } from './shard-thread.js';
import { assertPlanFits, availableMemoryBytes, planMemory, type MemoryPlan } from './memory-plan.js';

export interface LoadedCli {
  readonly session: Session;
  readonly choice: BackendChoice;
  /** The memory plan the load was checked against. */
  readonly plan: MemoryPlan;
  /** Release the backend memory and the weight files. */
  close(): Promise<void>;
}

/** What the memory plan is checked against and where it is printed. */
export interface PlanOptions {
  /** Tokens of context the command needs at least (default 1). */
  readonly requestedContext?: number;
  /** Gets the plan before loading (e.g. to print it). */
  readonly report?: (plan: MemoryPlan) => void;
  /** Split into shards of at most this many weight bytes (PlanInput.shardBudgetBytes). */
  readonly shardBudgetBytes?: number;
  /** Source bytes read so far, while loading (over every shard). */
  readonly onProgress?: (loadedBytes: number, totalBytes: number) => void;
  /** Turns the model argument into a local path once the backend name is known good (cli/model-arg.ts resolveModelArg: a Hub name is pulled). */
  readonly resolveModel?: (model: string | undefined) => Promise<string | undefined>;
}


/**
 * A backend that loads the model as `shards`: shard 0 (embedding, head, first layers) on
 * `choice`'s backend in this thread, every other one in its own worker thread with its own WASM
 * memory (runtime/node-shards.ts), all loading at once.
 */
function threadShardsBackend(path: string, choice: BackendChoice, options: BackendOptions, shards: readonly ShardSpec[], tensors: ReadonlyMap<string, TensorEntry>): Backend {
  const mtp = [...tensors.keys()].some((name) => name.startsWith('mtp.'));
  const total = [...tensors.values()].reduce((n, e) => n + e.byteLength, 0);
  const [first, ...rest] = shards;
  return {
    name: choice.name,
    async load(config, _tensors, onProgress) {
      const read = [0, 0]; // bytes read by this thread's shard, by the shard threads
      const report = (i: number, bytes: number) => {
        read[i] = bytes;
        onProgress?.(read[0] + read[1], total);
      };
      const [local, links] = await Promise.allSettled([
        choice.backend.load(config, shardTensors(tensors, first), (bytes) => report(0, bytes)),
        startThreadShards(rest, {
          entry: compiledBeside(import.meta.url, 'shard-thread.js'),
          workerData: (spec): Omit<ShardThreadData, 'channel'> => ({ path, mtp, names: spec.names, backend: choice.name, options }),
          onProgress: (bytes) => report(1, bytes),
        }),
      ]);
      if (local.status === 'rejected' || links.status === 'rejected') {
        if (local.status === 'fulfilled') local.value.dispose();
        if (links.status === 'fulfilled') for (const link of links.value) link.dispose();
        throw local.status === 'rejected' ? local.reason : (links as PromiseRejectedResult).reason;
      }
      const all = [new LocalShardLink(new ShardServer(local.value)), ...links.value];
      const { kernelBuild, threads } = local.value as { kernelBuild?: string; threads?: number }; // the wasm backend's, the same in every shard
      return new ShardedModel(config, choice.name, shards.map((spec, i) => ({ spec, link: all[i] })), { kernelBuild, threads });
    },
  };
}

/**
 * Load `--model` (default: the embedded model) on `--backend` (default: auto), built with
 * `options` (`--threads`), after checking its memory plan (ModelDoesNotFitError when it cannot fit).
 * @example
 * const { session, choice, plan, close } = await loadForCli('models/default', 'reference');
 */
export async function loadForCli(model: string | undefined, backendName: string | undefined, options: BackendOptions = {}, planOptions: PlanOptions = {}): Promise<LoadedCli> {
  const choice = await pickBackend(backendName ?? 'auto', options);
  const ckpt = await openCheckpoint(resolveModelPath(planOptions.resolveModel ? await planOptions.resolveModel(model) : model));
  let session: Session;
  let plan: MemoryPlan | undefined;
  try {
    session = await openSession(ckpt, choice.backend, {
      beforeLoad: (tensors) => {
        plan = planMemory({ backend: choice.name, config: ckpt.config, tensors, availableBytes: availableMemoryBytes(), requestedContext: planOptions.requestedContext, shardBudgetBytes: planOptions.shardBudgetBytes, kvDtype: options.kvDtype });
        planOptions.report?.(plan);
        assertPlanFits(ckpt.path, plan);
        if (plan.shards.length > 1) return threadShardsBackend(ckpt.path, choice, options, plan.shards, tensors);
      },
      onProgress: planOptions.onProgress,
    });
  } catch (err) {
    await ckpt.store.close();
    throw err;
  }
  return {
    session,
    choice,
    plan: plan!,
    close: async () => {
      session.dispose();
      await ckpt.store.close();
    },
  };
}
