// A TCP port free on 127.0.0.1 right now (for `wrangler dev` and test servers).

import { createServer } from 'node:net';

/**
 * Ask the OS for a free port, then release it.
 * @example const dev = spawnWranglerDev({ port: await freePort() });
 */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
