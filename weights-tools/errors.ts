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
