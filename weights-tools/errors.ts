// Named errors of the weights tools (house style H17), on the engine's base class so the CLI
// reports them like any engine error: one line naming the file, preset or option.

import { EdgetronError } from '../engine/core/errors.js';

/** A checkpoint folder lacks a required file, or one of its JSON files does not parse. */
export class CheckpointError extends EdgetronError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A synth preset name that does not exist. */
export class UnknownPresetError extends EdgetronError {
  constructor(
    readonly preset: string,
    readonly choices: readonly string[],
  ) {
    super(`unknown preset "${preset}"; choose one of: ${choices.join(', ')}`);
  }
}

/** `--max-memory` is too small for what a conversion must hold (one row of a tensor, a whole-tensor read, calibration). */
export class MemoryCapError extends EdgetronError {
  constructor(
    readonly capMib: number,
    detail: string,
  ) {
    super(`--max-memory ${capMib} MiB: ${detail}`);
  }
}

/** A text to evaluate or to build a baseline from cannot be read, or has nothing to score. */
export class EvalTextError extends EdgetronError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A Hugging Face Hub model reference (`ORG/NAME[@REVISION][:TAG]`) that does not parse. */
export class HubRefError extends EdgetronError {
  constructor(
    readonly ref: string,
    detail: string,
  ) {
    super(`"${ref}": ${detail} (expected ORG/NAME, ORG/NAME@REVISION or ORG/NAME[@REVISION]:TAG)`);
  }
}

/** The Hub refused access (HTTP 401/403): a gated or private repository, or a token without access to it. */
export class HubAccessError extends EdgetronError {
  constructor(
    readonly repo: string,
    readonly status: number,
    readonly hasToken: boolean,
  ) {
    super(
      hasToken
        ? `${repo}: the Hub refused access (HTTP ${status}) with the token in HF_TOKEN; accept the repository's terms on its page and check that the token can read it`
        : `${repo}: the Hub refused access (HTTP ${status}); the repository is gated or private: accept its terms on its page, then set HF_TOKEN to a token with read access`,
    );
  }
}

/** The Hub has no such repository, revision or file (HTTP 404, or the Hub's RepoNotFound / RevisionNotFound / EntryNotFound codes). */
export class HubNotFoundError extends EdgetronError {
  constructor(
    readonly repo: string,
    readonly revision: string,
    readonly file: string | undefined,
    detail: string,
  ) {
    super(`${repo}@${revision}${file === undefined ? '' : `: ${file}`}: ${detail}`);
  }
}

/** The Hub could not be reached, answered an unexpected status, or a download broke off (its partial file is kept for the next try). */
export class HubNetworkError extends EdgetronError {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`${url}: ${detail}`);
  }
}

/** HF_HUB_OFFLINE is set and the cache does not hold the model. */
export class HubOfflineError extends EdgetronError {
  constructor(
    readonly repo: string,
    readonly revision: string,
    readonly cacheDir: string,
  ) {
    super(`${repo}@${revision}: not in the Hugging Face cache ${cacheDir}, and HF_HUB_OFFLINE is set; unset it to download the model (or run \`edgetron pull ${repo}\` where the network is reachable)`);
  }
}

/** A downloaded file does not hash to the sha256 the Hub announced (its etag); the file is deleted. */
export class HubIntegrityError extends EdgetronError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${file}: sha256 ${actual} does not match the Hub's ${expected}; the download was deleted, run the command again to fetch it anew`);
  }
}

/** A GGUF repository with no file for the requested quantisation tag, or with several, or no tag where one is needed. */
export class GgufTagError extends EdgetronError {
  constructor(
    readonly repo: string,
    readonly tag: string | undefined,
    readonly choices: readonly string[],
    detail: string,
  ) {
    super(`${repo}${tag === undefined ? '' : `:${tag}`}: ${detail}${choices.length === 0 ? '' : `; choose one of: ${choices.map((c) => `${repo}:${c}`).join(', ')}`}`);
  }
}
