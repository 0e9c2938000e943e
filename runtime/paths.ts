// The package's own folders, for the Node runtime (the WASM kernels, the thread worker), the
// tools and the CLI: found from this file, so they work from the sources and from dist/.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PackageRootError } from '../engine/core/errors.js';

/**
 * The folder holding edgetron's package.json (works from the sources and from dist/).
 * @example
 * join(packageRoot(), 'models', 'default');
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'edgetron') return dir;
    const up = dirname(dir);
    if (up === dir) throw new PackageRootError(fileURLToPath(import.meta.url));
    dir = up;
  }
}

/**
 * The compiled JavaScript file `name` of the folder of the module at `moduleUrl` (its
 * import.meta.url): beside it when it runs compiled (dist/), else (TypeScript sources under
 * vitest) the same folder under dist/. For worker-thread entries, which Node loads as JavaScript.
 * @example compiledBeside(import.meta.url, 'thread-worker.js'); // '/…/dist/assembly/backend/thread-worker.js'
 */
export function compiledBeside(moduleUrl: string, name: string): string {
  const beside = fileURLToPath(new URL(`./${name}`, moduleUrl));
  if (existsSync(beside)) return beside;
  const root = packageRoot();
  return join(root, 'dist', relative(root, dirname(beside)), name);
}
