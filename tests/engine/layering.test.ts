// House style H1 as a rule that fails: engine/ is portable (Node, a Worker isolate, a browser
// tab) and backend-agnostic. Nothing under engine/ imports the backends (assembly/, gpu/), the
// tools, the CLI or the worker, nor any Node built-in, nor touches WebAssembly or navigator.gpu.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Code without comments, so that prose mentioning WebAssembly does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('engine/ layering (H1)', () => {
  const files = sources(join(ROOT, 'engine'));

  it('finds the engine sources', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))('%s imports only engine/ and packages, no Node built-ins', (_, file) => {
    const src = code(readFileSync(file, 'utf8'));
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      expect(spec, `${spec} is a Node built-in`).not.toMatch(/^node:|^(fs|path|os|url|crypto|worker_threads)(\/|$)/);
      if (spec.startsWith('.')) {
        const target = relative(ROOT, join(file, '..', spec));
        expect(target, `${spec} leaves engine/`).toMatch(/^engine\//);
      }
    }
    expect(src).not.toMatch(/\bWebAssembly\./);
    expect(src).not.toMatch(/navigator\.gpu/);
  });
});
