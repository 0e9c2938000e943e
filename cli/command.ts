// The shape every `edgetron <command>` module exports; main.ts dispatches on `name`.

import type { OptionSpecs, ParsedArgs } from './args.js';
import type { CliIO } from './io.js';

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full `--help` text. */
  readonly help: string;
  readonly options: OptionSpecs;
  /** Most positional arguments accepted. */
  readonly maxPositionals?: number;
  run(args: ParsedArgs, io: CliIO): Promise<void>;
}
