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

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** How often a progress line is rewritten at most (ms). */
const PROGRESS_EVERY_MS = 100;

/**
 * A progress writer for stderr: percent, bytes and ETA on one line, rewritten at most every
 * 100 ms (and at 100 %).
 * @example const bar = progressLine(io, 'convert'); bar.update(done, total); bar.end();
 */
export function progressLine(io: { stderr: { write(s: string): unknown } }, label: string): { update(done: number, total: number): void; end(): void } {
  const start = performance.now();
  let shown = false;
  let last = -Infinity;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < PROGRESS_EVERY_MS && done < total) return;
      last = now;
      const seconds = (now - start) / 1000;
      const eta = done > 0 ? (seconds * (total - done)) / done : 0;
      const percent = Math.floor((100 * done) / Math.max(1, total));
      io.stderr.write(`\r${label}: ${percent}% (${mib(done)} of ${mib(total)}, ETA ${eta.toFixed(0)} s)`);
      shown = true;
    },
    end() {
      if (shown) io.stderr.write('\n');
    },
  };
}
