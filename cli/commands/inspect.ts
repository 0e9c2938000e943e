// `edgetron inspect PATH`: config, layer pattern, tensors, dtypes and bytes (DESIGN §5).

import { inspect } from '../../weights-tools/inspect.js';
import { resolveModelPath } from '../../weights-tools/checkpoint.js';
import { UsageError } from '../errors.js';
import type { Command } from '../command.js';
import { resolveModelArg } from '../model-arg.js';

/**
 * The `inspect` command (dispatched by cli/main.ts).
 * @example
 * main(['inspect', 'models/default'], io);
 */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'print a checkpoint\'s config, layer pattern, tensors, dtypes and bytes',
  help: `usage: edgetron inspect PATH

Prints the config summary, the layer pattern, every tensor with dtype, shape and bytes, and
parameter counts. PATH is a checkpoint folder or "default".`,
  options: {},
  maxPositionals: 1,
  async run({ positionals }, io) {
    if (positionals.length === 0) throw new UsageError('PATH is required', 'inspect');
    const report = await inspect(resolveModelPath(await resolveModelArg(positionals[0], io)));
    io.stdout.write(report.endsWith('\n') ? report : `${report}\n`);
  },
};
