// Every reference in a source comment resolves to a file in the repository (docs/README.md):
//   "spec §N"          → a heading numbered N in docs/spec.md
//   "DESIGN §N"        → a heading numbered N in docs/design.md
//   "house style HN"   → habit HN in docs/style.md
//   "docs/NAME.md"     → an existing file
// and no comment points outside it (the shared folder beside a checkout, research notes, tracker
// issue numbers). Comments are read with a small lexer (strings and template literals skipped);
// Markdown files are read whole. A failure names file:line and the reference.

import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, relative, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', '.git', 'dist', 'build', 'models', 'test-artifacts', '.wrangler', 'docs', 'tests/fixtures', 'assets/packs']);
const SLASH_COMMENTS = new Set(['.ts', '.mts', '.mjs', '.js', '.cjs', '.wgsl']);
const HASH_COMMENTS = new Set(['.sh', '.toml']);

/** Comment text per line (1-based) of a source file; `ext` picks the comment syntax. */
function commentLines(text: string, ext: string): { line: number; text: string }[] {
  const lines = text.split('\n');
  if (ext === '.md') return lines.map((t, i) => ({ line: i + 1, text: t }));
  if (HASH_COMMENTS.has(ext)) {
    return lines.flatMap((t, i) => {
      const at = t.search(/(^|\s)#/);
      return at < 0 ? [] : [{ line: i + 1, text: t.slice(at) }];
    });
  }
  const out: { line: number; text: string }[] = [];
  let line = 1;
  let i = 0;
  const emit = (s: string, at: number): void => {
    const parts = s.split('\n');
    parts.forEach((p, k) => out.push({ line: at + k, text: p }));
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') { line++; i++; continue; }
    if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      emit(text.slice(i, stop), line);
      i = stop;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      const body = text.slice(i, stop);
      emit(body, line);
      line += body.split('\n').length - 1;
      i = stop;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') j++;
        else if (text[j] === '\n' && c !== '`') break;
        j++;
      }
      line += text.slice(i, j).split('\n').length - 1;
      i = j + 1;
      continue;
    }
    i++;
  }
  return out;
}

/**
 * Section numbers of a Markdown file: its numbered headings ("## 6. …", "### 6.6 …" → "6", "6.6")
 * and, as "N.k", item k of a numbered list in the body of section N ("spec §4.1": step 1 of §4).
 */
function sectionNumbers(markdown: string): Set<string> {
  const found = new Set<string>();
  let section: string | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(?:(\d+(?:\.\d+)*)\.?\s)?/.exec(line);
    if (heading) {
      section = heading[1];
      if (section) found.add(section);
      continue;
    }
    const item = /^(\d+)\.\s/.exec(line);
    if (section && item) found.add(`${section}.${item[1]}`);
  }
  return found;
}

/** Habit numbers of the house style ("- **H19. …**" → 19). */
function habitNumbers(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/\*\*H(\d+)\./g)].map((m) => m[1]));
}

interface Docs { spec: Set<string>; design: Set<string>; style: Set<string>; exists(path: string): boolean }

const OUTSIDE = /\.\.\/shared\b|\bshared\/(?:notes|spec|DESIGN|fixtures)\b|\bseed-methods\b|\bnotes\/(?:tooling|peers|style)\.md|\bnemotron3\.md\b|\bDESIGN\.md\b|\b[Ii]ssue #?\d+/g;

/** The problems of one comment line: each a message naming the reference. */
function problems(text: string, docs: Docs): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\b(spec|DESIGN) §(\d+(?:\.\d+)*)/g)) {
    const [kind, num] = [m[1], m[2]];
    const set = kind === 'spec' ? docs.spec : docs.design;
    if (!set.has(num)) out.push(`"${kind} §${num}": no section ${num} in docs/${kind === 'spec' ? 'spec' : 'design'}.md`);
  }
  for (const m of text.matchAll(/\bstyle (H\d+(?:\s*(?:\/|,|and|–|-)\s*H\d+)*)/g)) {
    for (const h of m[1].matchAll(/H(\d+)/g)) if (!docs.style.has(h[1])) out.push(`"H${h[1]}": no habit H${h[1]} in docs/style.md`);
  }
  for (const m of text.matchAll(/\bdocs\/[\w./-]*\.md\b/g)) if (!docs.exists(m[0])) out.push(`"${m[0]}": no such file`);
  for (const m of text.matchAll(OUTSIDE)) out.push(`"${m[0]}": points outside the repository`);
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const rel = relative(ROOT, path);
    if (SKIP.has(rel) || SKIP.has(name)) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    const ext = extname(name);
    return SLASH_COMMENTS.has(ext) || HASH_COMMENTS.has(ext) || ext === '.md' ? [path] : [];
  });
}

const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');
const repoDocs: Docs = {
  spec: sectionNumbers(read('docs/spec.md')),
  design: sectionNumbers(read('docs/design.md')),
  style: habitNumbers(read('docs/style.md')),
  exists: (path) => existsSync(join(ROOT, path)),
};

describe('the reference checker', () => {
  const docs: Docs = { spec: new Set(['6', '6.6']), design: new Set(['3']), style: new Set(['19']), exists: (p) => p === 'docs/api.md' };

  it('accepts references that resolve and flags those that do not', () => {
    expect(problems('// spec §6.6, DESIGN §3, house style H19, docs/api.md', docs)).toEqual([]);
    expect(problems('// spec §6.9 and DESIGN §4', docs)).toEqual([
      '"spec §6.9": no section 6.9 in docs/spec.md',
      '"DESIGN §4": no section 4 in docs/design.md',
    ]);
    expect(problems('// house style H17/H19', docs)).toEqual(['"H17": no habit H17 in docs/style.md']);
    expect(problems('// see docs/bench.md', docs)).toEqual(['"docs/bench.md": no such file']);
  });

  it('flags pointers outside the repository', () => {
    expect(problems('// ../shared/spec/nemotron3.md §2', docs)).toEqual([
      '"../shared": points outside the repository',
      '"nemotron3.md": points outside the repository',
    ]);
    expect(problems('// seed-methods C.2 (issue 9)', docs)).toEqual([
      '"seed-methods": points outside the repository',
      '"issue 9": points outside the repository',
    ]);
  });

  it('reads comments, not strings', () => {
    const ts = "const a = '// spec §99'; // spec §6\n/* DESIGN §3\n   spec §6.6 */ const b = `x\n// spec §1`;";
    expect(commentLines(ts, '.ts')).toEqual([
      { line: 1, text: '// spec §6' },
      { line: 2, text: '/* DESIGN §3' },
      { line: 3, text: '   spec §6.6 */' },
    ]);
    expect(commentLines('x = "a#b" # DESIGN §7\n', '.toml')).toEqual([{ line: 1, text: ' # DESIGN §7' }]);
  });

  it('numbers the docs\' sections, list steps and habits', () => {
    expect(sectionNumbers('## 4. Forward\n1. embed\n2. layers\n## 6. Mamba-2\n### 6.6 Chunked prefill\n## Notes\n1. not numbered\n')).toEqual(
      new Set(['4', '4.1', '4.2', '6', '6.6']),
    );
    expect(habitNumbers('- **H1. One file.**\n- **H24. Choice.**')).toEqual(new Set(['1', '24']));
  });
});

describe('references in the repository', () => {
  it('every comment reference resolves to docs/ and none points outside the repository', () => {
    const failures: string[] = [];
    let checked = 0;
    for (const path of sourceFiles(ROOT)) {
      const rel = relative(ROOT, path);
      for (const { line, text } of commentLines(readFileSync(path, 'utf8'), extname(path))) {
        if (/§|style H|docs\/|shared|seed-methods|[Ii]ssue/.test(text)) checked++;
        for (const p of problems(text, repoDocs)) failures.push(`${rel}:${line}: ${p}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(300);
  });
});
