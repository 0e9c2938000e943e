// The `edgetron` command line (DESIGN §5): parse argv, dispatch to one command, and turn any
// error into one line `edgetron: <message>` on stderr with exit status 1 (2 for usage errors).
// A stack trace is printed only with EDGETRON_DEBUG=1.

import { EdgetronError } from '../engine/core/errors.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';
import { convertCommand } from './commands/convert.js';
import { corpusCommand } from './commands/corpus.js';
import { evalCommand } from './commands/eval.js';
import { trainCommand } from './commands/train.js';
import { inspectCommand } from './commands/inspect.js';
import { logitsCommand } from './commands/logits.js';
import { metricCommand } from './commands/metric.js';
import { pullCommand } from './commands/pull.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { sparsityReportCommand } from './commands/sparsity-report.js';
import { synthCommand } from './commands/synth.js';
import { templateCommand } from './commands/template.js';
import { tokenizeCommand } from './commands/tokenize.js';
import { UsageError } from './errors.js';
import { processIO, type CliIO } from './io.js';

const COMMANDS: readonly Command[] = [runCommand, logitsCommand, synthCommand, inspectCommand, tokenizeCommand, templateCommand, serveCommand, convertCommand, metricCommand, corpusCommand, trainCommand, evalCommand, sparsityReportCommand, pullCommand];

const EXIT_OK = 0;
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: edgetron <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `edgetron <command> --help` for the options of a command.',
  ].join('\n');
}

/** One line, whatever the error: newlines folded; unexpected errors keep their class name. */
function oneLine(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').trim();
  if (err instanceof EdgetronError) return message;
  const name = err instanceof Error ? err.name : 'Error';
  return `${name}: ${message} (EDGETRON_DEBUG=1 prints the stack)`;
}

/**
 * Run one `edgetron` invocation and return its exit status.
 * @example
 * process.exitCode = await main(['tokenize', '--text', 'hi'], processIO());
 */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      (name === undefined ? io.stderr : io.stdout).write(`${usage()}\n`);
      return name === undefined ? EXIT_USAGE : EXIT_OK;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command "${name}"; choose one of: ${COMMANDS.map((c) => c.name).join(', ')}`);
    const args = parseCommandArgs(command.name, rest, command.options, command.maxPositionals ?? 0);
    if (args.values.help) {
      io.stdout.write(`${command.help}\n`);
      return EXIT_OK;
    }
    await command.run(args, io);
    return EXIT_OK;
  } catch (err) {
    io.stderr.write(`edgetron: ${oneLine(err)}\n`);
    if (io.env.EDGETRON_DEBUG === '1' && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_ERROR;
  }
}
