// `node bin/edgetron.js serve …` as the end-to-end tests start it: in its own process group (the
// CLI, wrangler and its workerd children), so it can be watched (/proc) and stopped as a whole.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Start `edgetron serve ARGS` with `env` added to this environment; `url` resolves with its base URL.
 * @example const { child, url } = serveCli(['--port', '8790', '--model', dir], {});
 */
export function serveCli(args: string[], env: Record<string, string>): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'edgetron.js'), 'serve', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /serving .* at (http:\/\/\S+) /.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`edgetron serve exited with ${code}:\n${out.slice(-2000)}`)));
  });
  url.catch(() => {});
  return { child, url };
}

/**
 * Stop a `serveCli` process group: SIGINT, then SIGKILL after 10 s.
 * @example await stopGroup(server.child);
 */
export async function stopGroup(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGINT');
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
