// A model argument (`--model`, `convert IN`, `inspect PATH`) may name a Hugging Face Hub model,
// `ORG/NAME[@REVISION][:TAG]`: it is fetched into the Hugging Face cache
// (weights-tools/hub/pull.ts) and replaced by its local path. An existing local path always wins,
// and `default` or nothing passes through to resolveModelPath.

import { existsSync } from 'node:fs';
import { DEFAULT_MODEL } from '../weights-tools/checkpoint.js';
import { CheckpointError, HubNetworkError, HubNotFoundError, HubOfflineError } from '../weights-tools/errors.js';
import { parseHubRef, pullModel, type PulledModel, type PullOptions } from '../weights-tools/hub/pull.js';
import { progressLine, type CliIO } from './io.js';

/**
 * A download progress callback for `io`: one progress line per file on a terminal, nothing
 * otherwise; `end()` closes the last line.
 * @example
 * const bar = hubProgress(io); await pullModel(ref, { env: io.env, onProgress: bar.update }); bar.end();
 */
export function hubProgress(io: CliIO): { update: NonNullable<PullOptions['onProgress']>; end(): void } {
  let current: { file: string; line: ReturnType<typeof progressLine> } | null = null;
  return {
    update(file, done, total) {
      if (!io.stderr.isTTY) return;
      if (current?.file !== file) {
        current?.line.end();
        current = { file, line: progressLine(io, `download ${file}`) };
      }
      current.line.update(done, total < 0 ? done + 1 : total); // size unknown: never 'done', so the line keeps its throttle
    },
    end() {
      current?.line.end();
      current = null;
    },
  };
}

/**
 * Pull `ref` with `io`'s environment and a progress line on a terminal.
 * @example
 * const { path } = await pullForCli(parseHubRef('nvidia/X')!, io, true);
 */
export async function pullForCli(ref: NonNullable<ReturnType<typeof parseHubRef>>, io: CliIO, refresh = false): Promise<PulledModel> {
  const bar = hubProgress(io);
  try {
    return await pullModel(ref, { env: io.env, refresh, onProgress: bar.update });
  } finally {
    bar.end();
  }
}

/**
 * The local path for a model argument: a Hub reference that is not a local path is pulled
 * into the Hugging Face cache first (CheckpointError naming the argument when it is neither a
 * local path nor a model the Hub or the offline cache has); anything else is returned as is.
 * @example
 * const ckpt = await openCheckpoint(resolveModelPath(await resolveModelArg(stringOpt(values, 'model'), io)));
 */
export async function resolveModelArg(arg: string, io: CliIO): Promise<string>;
export async function resolveModelArg(arg: string | undefined, io: CliIO): Promise<string | undefined>;
export async function resolveModelArg(arg: string | undefined, io: CliIO): Promise<string | undefined> {
  if (arg === undefined || arg === DEFAULT_MODEL || existsSync(arg)) return arg;
  const ref = parseHubRef(arg);
  if (ref === null) return arg;
  try {
    return (await pullForCli(ref, io)).path;
  } catch (e) {
    // Not found, not cached offline, or no Hub to ask: the argument may as well be a mistyped local path.
    const listing = e instanceof HubNetworkError && e.url.includes('/api/models/');
    if ((e instanceof HubNotFoundError && e.file === undefined) || e instanceof HubOfflineError || listing) {
      throw new CheckpointError(arg, `no such file or folder; as a Hub model: ${e.message}`);
    }
    throw e;
  }
}
