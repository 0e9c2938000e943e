// Every relative link in README.md, docs/*.md and the folder READMEs points at an existing file
// (an anchor, "#…", must name a heading of that file). External links (a scheme, "//") are not
// fetched. A failure names file:line and the link.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The relative links of a Markdown text, with their line (1-based); code spans and fences skipped. */
function relativeLinks(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  let fenced = false;
  markdown.split('\n').forEach((text, i) => {
    if (/^\s*```/.test(text)) fenced = !fenced;
    if (fenced) return;
    for (const m of text.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(m[1])) out.push({ line: i + 1, target: m[1] });
    }
  });
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function problems(file: string): string[] {
  const out: string[] = [];
  for (const { line, target } of relativeLinks(readFileSync(file, 'utf8'))) {
    const [path, hash] = target.split('#');
    const to = path ? join(dirname(file), path) : file;
    if (!existsSync(to)) {
      out.push(`${relative(ROOT, file)}:${line}: ${target}: no such file`);
      continue;
    }
    if (hash && to.endsWith('.md')) {
      const anchors = [...readFileSync(to, 'utf8').matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchor(m[1]));
      if (!anchors.includes(hash)) out.push(`${relative(ROOT, file)}:${line}: ${target}: no heading #${hash}`);
    }
  }
  return out;
}

describe('Markdown links', () => {
  it('finds relative links outside code and anchors headings as GitHub does', () => {
    const md = 'See [a](docs/a.md#x) and [b](https://x.org) `[c](no.md)`\n```\n[d](no.md)\n```\n[e](../f.md)';
    expect(relativeLinks(md)).toEqual([
      { line: 1, target: 'docs/a.md#x' },
      { line: 5, target: '../f.md' },
    ]);
    expect(anchor('The kernels behind the numbers')).toBe('the-kernels-behind-the-numbers');
    expect(anchor('Results (2026-11-29, the 2-core VM)')).toBe('results-2026-11-29-the-2-core-vm');
  });

  it('every relative link in README.md, docs/ and the folder READMEs resolves', () => {
    const files = [
      'README.md',
      ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
      ...['worker', 'embed', 'gpu', 'assets/corpus'].flatMap((d) =>
        readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.md')).map((f) => `${d}/${f}`),
      ),
    ];
    const failures = files.flatMap((f) => problems(join(ROOT, f)));
    expect(failures).toEqual([]);
    expect(files.length).toBeGreaterThan(10);
  });
});
