// One-line usage errors of the issue-11 CLI surface: `edgetron sparsity-report`, `train --sparse`
// and `convert --recover` (all refused before any file is read or written).

import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';

async function expectError(argv: string[], pattern: RegExp): Promise<void> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, env: {} };
  const code = await main(argv, io);
  expect(code).not.toBe(0);
  expect(stdout).toBe('');
  expect(stderr.trimEnd().split('\n')[0]).toMatch(/^edgetron: /);
  expect(stderr).toMatch(pattern);
}

describe('edgetron sparsity-report errors', () => {
  it('needs --model and --out', async () => {
    await expectError(['sparsity-report', '--out', '/nonexistent/x'], /--model/);
    await expectError(['sparsity-report', '--model', 'default'], /--out/);
  });

  it('names a held-out text it cannot read', async () => {
    await expectError(['sparsity-report', '--model', 'default', '--out', '/nonexistent/x', '--text', '/nonexistent/heldout.txt'], /heldout\.txt/);
  });
});

describe('edgetron train --sparse errors', () => {
  const base = ['train', '--preset', 'tiny', '--data', '/nonexistent/data', '--out', '/nonexistent/out'];
  it('needs --sparse 2:4 with exactly one of --search-space and --fixed-mask', async () => {
    await expectError([...base, '--search-space'], /--search-space needs --sparse 2:4/);
    await expectError([...base, '--sparse', '2:4'], /exactly one of --search-space and --fixed-mask/);
    await expectError([...base, '--sparse', '2:4', '--search-space', '--fixed-mask'], /exactly one of/);
    await expectError([...base, '--sparse', '1:4', '--fixed-mask'], /--sparse must be 2:4/);
    await expectError([...base, '--sparse', '2:4', '--fixed-mask', '--resume'], /--resume does not apply/);
  });
});

describe('edgetron convert --recover errors', () => {
  it('needs --sparse 2:4', async () => {
    await expectError(['convert', 'default', '/nonexistent/out', '--recover'], /--recover needs --sparse 2:4/);
  });
});
