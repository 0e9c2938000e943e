// The embed script's named errors (house style H17). They cross the Web Worker boundary as
// `{ name, message, fields }` and are rebuilt as the same class on the page (H20, protocol.ts).

import { EdgetronError } from '../engine/core/errors.js';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The model needs more memory than this device allows for local mode. */
export class LocalMemoryError extends EdgetronError {
  constructor(
    readonly neededBytes: number,
    readonly budgetBytes: number,
    readonly source: string,
  ) {
    super(`not enough memory to run the model in this tab: it needs about ${mib(neededBytes)} and ${source} allows ${mib(budgetBytes)}; use mode="remote" or a smaller model`);
  }
}

/** The browser's storage quota cannot hold the model's shards (they are still downloaded, not cached). */
export class StorageQuotaError extends EdgetronError {
  constructor(
    readonly neededBytes: number,
    readonly freeBytes: number,
  ) {
    super(`not enough storage quota to cache the model: it needs ${mib(neededBytes)} and ${mib(freeBytes)} are free; it runs, but a reload downloads it again`);
  }
}

/** A download failed (network, HTTP status). */
export class DownloadError extends EdgetronError {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`download of ${url} failed: ${detail}`);
  }
}

/** `mode` is not one of the modes. */
export class UnknownModeError extends EdgetronError {
  constructor(readonly mode: string) {
    super(`unknown mode '${mode}'; choose one of: auto, local, remote`);
  }
}

/** `send` was called while a generation is running. */
export class BusyError extends EdgetronError {
  constructor() {
    super('a generation is already running: wait for it or call stop()');
  }
}

/** The remote API answered with an error (its OpenAI error message). */
export class RemoteApiError extends EdgetronError {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`the API answered ${status}: ${detail}`);
  }
}
