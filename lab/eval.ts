// `edgetron eval` (docs/models.md): the quality gauge of a model on a text, in bits per byte.
//
// The file's text is tokenised whole with the model's own tokenizer (no BOS added), then BOS is
// put in front: s = [BOS, t1 … tn]. The n targets t1 … tn are scored in windows of `context`
// tokens: window j feeds s[jN … jN+N−1] to a fresh sequence (so the first window starts with
// BOS, later ones with the text where the previous window ended) and scores the next token at
// every position, so each target sees between 1 and N previous tokens. With NLL in nats,
//   bits_per_byte = Σ NLL / ln 2 / (UTF-8 bytes of the file),   perplexity = exp(Σ NLL / n).
// The trigram baseline (lab/trigram.ts) reports the same keys with bytes as tokens.

import { readFile } from 'node:fs/promises';
import { InvalidOptionError } from '../engine/core/errors.js';
import { requireText, type Session } from '../engine/core/session.js';
import { EvalTextError } from '../weights-tools/errors.js';
import { ByteTrigram } from './trigram.js';

/** The default window: 256 tokens, or the model's maximum when that is smaller. */
export const DEFAULT_CONTEXT = 256;

/** What `edgetron eval` prints. */
export interface EvalResult {
  /** Scored tokens (t1 … tn; bytes for the trigram baseline). */
  readonly tokens: number;
  /** UTF-8 bytes of the text. */
  readonly bytes: number;
  readonly bits_per_byte: number;
  /** exp(mean NLL per token); per byte for the trigram baseline. */
  readonly perplexity: number;
}

/** Options of {@link evaluateModel}. */
export interface EvalOptions {
  /** Window length N in tokens (default {@link DEFAULT_CONTEXT} capped at the model's maximum). */
  readonly context?: number;
  /** Called after each window with the targets scored so far and their total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Read a text file for evaluation: it must exist and hold at least one non-space character.
 * @example
 * const text = await readEvalText('assets/corpus/heldout.txt');
 */
export async function readEvalText(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new EvalTextError(file, `cannot read the text (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (text.trim().length === 0) throw new EvalTextError(file, 'the text is empty; nothing to score');
  return text;
}

/** −log softmax(row)[target] in nats, accumulated in f64 (row: (V)). */
function negLogProb(row: Float32Array, target: number): number {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return max + Math.log(sum) - row[target];
}

const result = (nll: number, tokens: number, bytes: number): EvalResult => ({
  tokens,
  bytes,
  bits_per_byte: nll / Math.LN2 / bytes,
  perplexity: Math.exp(nll / tokens),
});

/**
 * Bits per byte and perplexity of `text` under a loaded model (see the file header).
 * @example
 * const r = evaluateModel(session, 'Call me Ishmael.', { context: 256 });
 * r.bits_per_byte; // e.g. 2.1
 */
export function evaluateModel(session: Session, text: string, options: EvalOptions = {}): EvalResult {
  const { model } = session;
  const { maxPositionEmbeddings: maxPositions, bosTokenId, vocabSize: V } = model.config;
  const N = options.context ?? Math.min(DEFAULT_CONTEXT, maxPositions);
  if (!(Number.isInteger(N) && N >= 1 && N <= maxPositions)) throw new InvalidOptionError('context', N, `an integer in 1..${maxPositions}`);
  if (bosTokenId === null) throw new InvalidOptionError('bos_token_id', null, 'a BOS id in config.json (eval puts BOS before the text)');
  const ids = requireText(session).encode(text);
  const s = Int32Array.from([bosTokenId, ...ids]); // (n + 1)
  const n = ids.length;
  let nll = 0;
  for (let start = 0; start < n; start += N) {
    const len = Math.min(N, n - start);
    const seq = model.newSequence(len);
    try {
      const logits = model.forward(seq, s.subarray(start, start + len), 'all'); // (len, V)
      for (let r = 0; r < len; r++) nll += negLogProb(logits.subarray(r * V, (r + 1) * V), s[start + r + 1]);
    } finally {
      seq.free();
    }
    options.onProgress?.(start + len, n);
  }
  return result(nll, n, Buffer.byteLength(text, 'utf8'));
}

/**
 * The byte-level trigram baseline fitted on `trainText`, on `text`: the same keys, with the
 * bytes as tokens.
 * @example
 * evaluateTrigram(trainText, heldoutText).bits_per_byte; // ≈ 2.72 on the demo corpus
 */
export function evaluateTrigram(trainText: string, text: string): EvalResult {
  const bytes = new TextEncoder().encode(text);
  const bits = ByteTrigram.fit(new TextEncoder().encode(trainText)).bits(bytes);
  return result(bits * Math.LN2, bytes.length, bytes.length);
}
