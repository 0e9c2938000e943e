// The trainer's data: a token stream (train.u16 of `edgetron corpus`: little-endian uint16 ids,
// </s> between documents) cut into windows of W = windowLength(T) tokens that start every T
// tokens, visited in a seeded random order per epoch. The position in that order (the cursor:
// windows consumed so far) is saved in checkpoints, so a resumed run reads the same batches.

import { readFileSync } from 'node:fs';
import { DatasetError } from '../../engine/core/errors.js';
import { Prng } from '../../engine/decode/prng.js';

/**
 * Read a uint16 token file as ids.
 * @example const tokens = readTokenFile('models/demo-data/train.u16');
 */
export function readTokenFile(path: string): Uint16Array {
  const bytes = readFileSync(path);
  if (bytes.byteLength % 2 !== 0) throw new DatasetError(path, 0, `${bytes.byteLength} bytes is not a whole number of uint16 ids`);
  const ids = new Uint16Array(bytes.byteLength / 2);
  for (let i = 0; i < ids.length; i++) ids[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return ids;
}

/**
 * Deterministic batches of windows from a token stream.
 * @example
 * const data = new WindowSampler(tokens, 258, 256, 1);
 * const batch = data.batch(cursor, 16); // (16 × 258) ids
 */
export class WindowSampler {
  /** Windows per epoch. */
  readonly count: number;
  private epoch = -1;
  private order = new Uint32Array(0);

  constructor(
    readonly tokens: Uint16Array,
    readonly window: number,
    readonly stride: number,
    readonly seed: number,
  ) {
    this.count = Math.floor((tokens.length - window) / stride) + 1;
    if (tokens.length < window || this.count < 1) throw new DatasetError('tokens', 0, `${tokens.length} tokens cannot fill one window of ${window}`);
  }

  /** The window index at global position `i` (epoch ⌊i / count⌋, Fisher–Yates order per epoch). */
  private windowAt(i: number): number {
    const epoch = Math.floor(i / this.count);
    if (epoch !== this.epoch) {
      const rng = new Prng(this.seed, `data-order:${epoch}`);
      const order = Uint32Array.from({ length: this.count }, (_, k) => k);
      for (let k = order.length - 1; k > 0; k--) {
        const j = rng.nextU32() % (k + 1);
        [order[k], order[j]] = [order[j], order[k]];
      }
      this.order = order;
      this.epoch = epoch;
    }
    return this.order[i % this.count];
  }

  /** B windows starting at global position `cursor`: (B × window) ids. */
  batch(cursor: number, B: number): Int32Array {
    const out = new Int32Array(B * this.window);
    for (let b = 0; b < B; b++) {
      const start = this.windowAt(cursor + b) * this.stride;
      for (let t = 0; t < this.window; t++) out[b * this.window + t] = this.tokens[start + t];
    }
    return out;
  }
}
