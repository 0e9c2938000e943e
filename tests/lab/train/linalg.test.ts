// The kernel-backed products against their plain-JS definitions (lab/train/linalg.ts),
// on shapes with row and K tails, and one hand-worked 2×2 case.

import { describe, expect, it } from 'vitest';
import { Prng } from '../../../engine/decode/prng.js';
import { addMatmulAtB, addMatmulAtBJs, matmulAB, matmulABJs, matmulABt, matmulABtJs } from '../../../lab/train/linalg.js';
import { randomArray } from './grad-check.js';

const rng = new Prng(3, 'linalg');

function close(got: Float32Array, want: Float32Array, K: number) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThan(1e-6 * K);
}

describe('train linalg', () => {
  it('hand-worked 2×2: [1 2; 3 4] · [5 6; 7 8]ᵀ, · [5 6; 7 8], and ᵀ·', () => {
    const a = Float32Array.of(1, 2, 3, 4);
    const b = Float32Array.of(5, 6, 7, 8);
    expect([...matmulABt(a, b, 2, 2, 2)]).toEqual([17, 23, 39, 53]);
    expect([...matmulAB(a, b, 2, 2, 2)]).toEqual([19, 22, 43, 50]);
    expect([...addMatmulAtB(Float32Array.of(1, 1, 1, 1), a, b, 2, 2, 2)]).toEqual([27, 31, 39, 45]);
  });

  for (const [M, K, N] of [
    [37, 45, 29],
    [64, 128, 584],
    [130, 256, 128],
  ]) {
    it(`kernel path equals the JS definitions at M ${M}, K ${K}, N ${N}`, () => {
      const a = randomArray(M * K, rng, 1);
      const w = randomArray(N * K, rng, 1);
      close(matmulABt(a, w, M, K, N), matmulABtJs(a, w, M, K, N), K);
      const dy = randomArray(M * N, rng, 1);
      const wkn = randomArray(K * N, rng, 1);
      close(matmulAB(dy, wkn, M, N, K), matmulABJs(dy, wkn, M, N, K), N);
      const acc0 = randomArray(N * K, rng, 1);
      close(addMatmulAtB(acc0.slice(), dy, a, M, N, K), addMatmulAtBJs(acc0.slice(), dy, a, M, N, K), M);
    });
  }
});
