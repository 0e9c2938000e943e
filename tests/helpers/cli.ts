// Runs one `edgetron` invocation in-process (cli/main.ts) with captured output, for CLI tests.

import type { CliIO } from '../../cli/io.js';
import { main } from '../../cli/main.js';

/** Exit status and everything written to stdout and stderr. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `edgetron ...argv` with a non-TTY stderr and an empty environment (plus `env`).
 * @example const r = await runCli(['tokenize', '--text', 'hi']); // r.code === 0
 */
export async function runCli(argv: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, env };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
