// Named errors of the command line (house style H17). A UsageError is the caller's mistake in
// the arguments themselves; main.ts maps it to exit status 2 (every other error is 1).

import { EdgetronError } from '../engine/core/errors.js';

/**
 * A command-line argument is missing, unknown or malformed; the message names it.
 * @example
 * throw new UsageError('--prompt TEXT is required', 'run'); // run: --prompt TEXT is required (see edgetron run --help)
 */
export class UsageError extends EdgetronError {
  constructor(
    detail: string,
    readonly command?: string,
  ) {
    super(command ? `${command}: ${detail} (see edgetron ${command} --help)` : detail);
  }
}

/**
 * A conversation or tools file a command reads is malformed; the message names the file and the
 * field, as the API's 400 would.
 * @example
 * throw new ChatInputError('chat.json', 'messages[0].role must be one of system, developer, user, assistant, tool, got "bot"');
 */
export class ChatInputError extends EdgetronError {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
