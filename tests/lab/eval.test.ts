import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { openSession, type Session } from '../../engine/core/session.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { evaluateModel, evaluateTrigram, readEvalText } from '../../lab/eval.js';
import { ByteTrigram } from '../../lab/trigram.js';
import { openCheckpoint, type Checkpoint } from '../../weights-tools/checkpoint.js';
import { EvalTextError } from '../../weights-tools/errors.js';
import { FIXTURES } from '../helpers/fixtures.js';

const FIXTURE = `${FIXTURES}moe/hf/`;
const TEXT = 'Call me Ishmael.';

/** −log softmax(row)[target], written out independently of eval.ts. */
function nllOf(row: Float32Array, target: number): number {
  const m = Math.max(...row);
  return Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m - row[target];
}

describe('readEvalText', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgetron-eval-'));
    writeFileSync(join(dir, 'blank.txt'), ' \n\t\n');
    writeFileSync(join(dir, 'ok.txt'), 'héllo\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a UTF-8 file', async () => {
    expect(await readEvalText(join(dir, 'ok.txt'))).toBe('héllo\n');
  });

  it('names a missing file and an empty one', async () => {
    await expect(readEvalText(join(dir, 'missing.txt'))).rejects.toThrow(EvalTextError);
    await expect(readEvalText(join(dir, 'missing.txt'))).rejects.toThrow(/missing\.txt: cannot read the text \(ENOENT\)/);
    await expect(readEvalText(join(dir, 'blank.txt'))).rejects.toThrow(/blank\.txt: the text is empty/);
  });
});

describe('evaluateModel on the tiny fixture (reference backend)', () => {
  let ckpt: Checkpoint;
  let session: Session;
  let s: number[];
  beforeAll(async () => {
    ckpt = await openCheckpoint(FIXTURE);
    session = await openSession(ckpt, referenceBackend);
    s = [1, ...session.text!.encode(TEXT)];
  });
  afterAll(async () => {
    session.dispose();
    await ckpt.store.close();
  });

  it('with one window: the NLL of every token given all the previous ones and BOS', () => {
    const { model } = session;
    const V = model.config.vocabSize;
    const logits = model.forward(model.newSequence(s.length), Int32Array.from(s.slice(0, -1)), 'all');
    let nll = 0;
    for (let t = 0; t + 1 < s.length; t++) nll += nllOf(logits.subarray(t * V, (t + 1) * V), s[t + 1]);
    const bytes = Buffer.byteLength(TEXT, 'utf8');
    const r = evaluateModel(session, TEXT, { context: 256 });
    expect(r.tokens).toBe(s.length - 1);
    expect(r.bytes).toBe(bytes);
    expect(r.bits_per_byte).toBeCloseTo(nll / Math.LN2 / bytes, 9);
    expect(r.perplexity).toBeCloseTo(Math.exp(nll / (s.length - 1)), 6);
  });

  it('with --context 1: every token given only the one before it, each in a fresh sequence', () => {
    const { model } = session;
    let nll = 0;
    for (let t = 0; t + 1 < s.length; t++) nll += nllOf(model.forward(model.newSequence(1), Int32Array.of(s[t]), 'last'), s[t + 1]);
    expect(evaluateModel(session, TEXT, { context: 1 }).bits_per_byte).toBeCloseTo(nll / Math.LN2 / Buffer.byteLength(TEXT), 9);
  });

  it('with windows shorter than the text: more bits than with the whole context, and progress per window', () => {
    const seen: number[] = [];
    const short = evaluateModel(session, TEXT, { context: 4, onProgress: (done) => seen.push(done) });
    const n = s.length - 1;
    expect(seen).toEqual(Array.from({ length: Math.ceil(n / 4) }, (_, j) => Math.min(4 * (j + 1), n)));
    expect(short.tokens).toBe(n);
    expect(short.bits_per_byte).not.toBeCloseTo(evaluateModel(session, TEXT).bits_per_byte, 6);
  });

  it('rejects a context outside 1..max positions', () => {
    expect(() => evaluateModel(session, TEXT, { context: 0 })).toThrow(InvalidOptionError);
    expect(() => evaluateModel(session, TEXT, { context: 4097 })).toThrow(/context = 4097 .*1\.\.4096/);
  });
});

describe('evaluateTrigram', () => {
  it('is the trigram model fitted on the train text, with bytes as tokens', () => {
    const train = 'the cat sat on the mat. the dog sat on the log. ';
    const text = 'the cat sat on the log.';
    const r = evaluateTrigram(train, text);
    const bits = ByteTrigram.fit(new TextEncoder().encode(train)).bits(new TextEncoder().encode(text));
    expect(r.tokens).toBe(23);
    expect(r.bytes).toBe(23);
    expect(r.bits_per_byte).toBeCloseTo(bits / 23, 12);
    expect(r.perplexity).toBeCloseTo(2 ** (bits / 23), 9);
  });
});
