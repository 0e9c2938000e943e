// The finite-difference checker itself, on a block with a hand-written gradient:
// y = tanh(x ⊙ w) row-wise (w a (d) vector), whose exact backward it must accept and whose
// wrong backward (a dropped factor) it must reject.

import { describe, expect, it } from 'vitest';
import type { BlockPass, TensorMap } from '../../../lab/train/block.js';
import { Prng } from '../../../engine/decode/prng.js';
import { gradCheck, randomArray } from './grad-check.js';

const d = 5;

function scaledTanh(wrongBackward: boolean): BlockPass<{ x: Float32Array; y: Float32Array }> {
  return {
    forward(params, x) {
      const w = params.get('w')!;
      const y = x.map((v, i) => Math.tanh(v * w[i % d]));
      return { y, cache: { x: x.slice(), y } };
    },
    backward(params, grads, { x, y }, dy) {
      const w = params.get('w')!;
      const gw = grads.get('w')!;
      const dx = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const dz = dy[i] * (wrongBackward ? 1 : 1 - y[i] * y[i]);
        dx[i] = dz * w[i % d];
        gw[i % d] += dz * x[i];
      }
      return dx;
    },
  };
}

describe('gradCheck', () => {
  const rng = new Prng(3, 'self-test');
  const x = randomArray(3 * d, rng, 1);
  const params: TensorMap = new Map([['w', randomArray(d, rng, 1.5)]]);

  it('accepts the exact gradient of tanh(x ⊙ w)', () => {
    const r = gradCheck(scaledTanh(false), params, x, { B: 1, T: 3 });
    expect(r.checked).toBeGreaterThan(10);
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('rejects a backward that drops the tanh derivative', () => {
    expect(gradCheck(scaledTanh(true), params, x, { B: 1, T: 3 }).worst).toBeGreaterThan(0.1);
  });
});
