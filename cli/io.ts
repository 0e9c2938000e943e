// Where the command line writes: process streams in the bin, string buffers in tests.

/** Output streams and environment of one CLI invocation. */
export interface CliIO {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown; readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The real process streams. A closed stdout pipe (`edgetron logits ... | head`) ends the
 * process quietly instead of raising EPIPE.
 * @example
 * process.exitCode = await main(process.argv.slice(2), processIO());
 */
export function processIO(): CliIO {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
