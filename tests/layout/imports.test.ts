// The layout's rules, read from the import statements of every source file (TypeScript's own
// pre-parser, so dynamic `import()` and `export … from` count too):
// - the runtime (what serves and computes: engine/, serve/, worker/, embed/, assembly/, gpu/,
//   runtime/) never imports the offline tools (weights-tools/, cli/) or the research (lab/);
// - the embed never imports worker/ (what it shares with the Worker lives in serve/ and runtime/);
// - the runtime has no import cycle.
// Each failure names the files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNTIME = ['engine', 'serve', 'worker', 'embed', 'assembly', 'gpu', 'runtime'];
const TOOLS = ['weights-tools', 'cli', 'lab', 'bench', 'tests', 'scripts'];
const SOURCE = /\.(ts|mts|js|mjs)$/;

/** Every source file under `dir` (repository-relative, '/'-separated). */
function sources(dir: string): string[] {
  const abs = join(ROOT, dir);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const rel = posix.join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return sources(rel);
    return SOURCE.test(name) && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** The repository files a source imports (relative specifiers only; `.js` resolved to its `.ts`). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => {
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      const ts = target.replace(/\.js$/, '.ts');
      try {
        statSync(join(ROOT, ts));
        return ts;
      } catch {
        return target;
      }
    });
}

const top = (file: string) => file.split('/')[0];
const runtimeFiles = RUNTIME.flatMap(sources);
const graph = new Map(runtimeFiles.map((f) => [f, importsOf(f)]));

/** The import cycles of `graph` (each once, as the path around it). */
function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of g.get(f) ?? []) {
      if (!g.has(t)) continue;
      if (state.get(t) === 'open') found.push([...stack.slice(stack.indexOf(t)), t]);
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of g.keys()) if (!state.has(f)) visit(f);
  return found;
}

describe('layout rules (from the imports)', () => {
  it('reads the runtime folders', () => {
    expect(runtimeFiles.length).toBeGreaterThan(100);
    expect(relative(ROOT, dirname(fileURLToPath(import.meta.url)))).toBe(join('tests', 'layout'));
  });

  it('the runtime imports no offline tool and no research code', () => {
    const bad = [...graph].flatMap(([f, targets]) => targets.filter((t) => TOOLS.includes(top(t))).map((t) => `${f} → ${t}`));
    expect(bad).toEqual([]);
  });

  it('the embed imports nothing from worker/', () => {
    const bad = [...graph].filter(([f]) => top(f) === 'embed').flatMap(([f, targets]) => targets.filter((t) => top(t) === 'worker').map((t) => `${f} → ${t}`));
    expect(bad).toEqual([]);
  });

  it('the runtime has no import cycle', () => {
    expect(cycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('the cycle finder finds a cycle', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
  });
});
