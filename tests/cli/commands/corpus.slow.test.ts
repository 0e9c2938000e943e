// `edgetron corpus` end to end (~1 min): the folder it writes is the trainer's contract, and it
// reproduces the committed held-out split and tokenizer byte for byte.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';
import { TextCodec } from '../../../engine/text/text.js';
import type { CorpusManifest } from '../../../lab/corpus.js';

const asset = (name: string) => readFileSync(new URL(`../../../assets/corpus/${name}`, import.meta.url));

describe('edgetron corpus', () => {
  let out: string;
  let stderr = '';
  let code: number;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'edgetron-corpus-'));
    const io: CliIO = { stdout: { write: () => {} }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, env: {} };
    code = await main(['corpus', '--out', out], io);
  }, 600_000);
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('writes the folder, with a summary line', () => {
    expect(code).toBe(0);
    expect(stderr).toMatch(/corpus: wrote .* \(train \d+ bytes, \d+ tokens; held-out 444885 bytes, \d+ tokens; [\d.]+ bytes\/token\)/);
  });

  it('reproduces the committed held-out split and tokenizer', () => {
    for (const f of ['heldout.txt', 'tokenizer.json', 'tokenizer_config.json']) expect(readFileSync(join(out, f)).equals(asset(f))).toBe(true);
  });

  it('records counts and the sha256 of every file in corpus.json', () => {
    const m = JSON.parse(readFileSync(join(out, 'corpus.json'), 'utf8')) as CorpusManifest;
    for (const [name, sha] of Object.entries(m.sha256)) expect(createHash('sha256').update(readFileSync(join(out, name))).digest('hex')).toBe(sha);
    expect(Object.keys(m.sha256).sort()).toEqual(['heldout.txt', 'heldout.u16', 'tokenizer.json', 'tokenizer_config.json', 'train.txt', 'train.u16']);
    expect(m.splits.train.tokens).toBeGreaterThan(2_500_000);
    expect(readFileSync(join(out, 'train.u16')).byteLength).toBe(2 * m.splits.train.tokens);
    expect(m.splits.train.bytes).toBe(readFileSync(join(out, 'train.txt')).byteLength);
  });

  it('writes little-endian ids that decode, document by document, to the split text', () => {
    const codec = TextCodec.fromJson(JSON.parse(asset('tokenizer.json').toString()), JSON.parse(asset('tokenizer_config.json').toString()));
    const raw = readFileSync(join(out, 'heldout.u16'));
    const ids = Array.from({ length: raw.byteLength / 2 }, (_, i) => raw.readUInt16LE(2 * i));
    const docs: number[][] = [[]];
    for (const id of ids) {
      if (id === 2) docs.push([]);
      else docs.at(-1)!.push(id);
    }
    expect(docs.pop()).toEqual([]);
    expect(`${docs.map((d) => codec.decode(d)).join('\n\n\n')}\n`).toBe(asset('heldout.txt').toString());
  });
});
