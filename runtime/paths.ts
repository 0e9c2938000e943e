// The package's own folders, for the Node runtime (the WASM kernels, the thread worker), the
// tools and the CLI: found from this file, so they work from the sources and from dist/.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
