// assembly/backend/linear.ts on nvfp4 decode (T = 1): the nvfp4 GGUF oracle fixture
// (tests/fixtures/nemotron-h-tiny/moe) decoded one token at a time on wasm. The SIMD build
// (int16 activations) and the scalar build must match the float64 forward pass over its exactly
// dequantised weights (ref64-nvfp4) to max abs ≤ 2e-3 with the same argmax at every position, as
// the prefill does in tests/engine/formats/gguf-fixtures.test.ts. The relaxed-SIMD build rounds
// activations to int8 per block of 16 (fp4_i8_relaxed.ts), as llama.cpp rounds them to int8 per
// block of 32 for its own nvfp4 rows (llamacpp-nvfp4, the fixture's record of llama.cpp on these
// weights); on this small random MoE model a rounded router input can flip an expert choice, so
// neither stays within 2e-3: the relaxed build must be within 2× llama.cpp's max abs error and
// argmax changes.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILD_ENV } from '../../../assembly/backend/node-wasm.js';
import { loadForCli } from '../../../cli/load.js';
import { compareLogits, readF32 } from '../../helpers/fixture-logits.js';
import { FIXTURES } from '../../helpers/fixtures.js';

const TOLERANCE = 2e-3;

afterEach(() => {
  delete process.env[BUILD_ENV];
});

describe('nvfp4 decode through linear() reproduces the GGUF fixture', () => {
  const fixture = JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[] };

  /** Logits rows of the fixture's tokens decoded one at a time on `backend` with kernel build `build`. */
  async function decode(backend: string, build: string): Promise<number[][]> {
    process.env[BUILD_ENV] = build;
    const { session, close } = await loadForCli(`${FIXTURES}moe/model-nvfp4.gguf`, backend);
    try {
      expect((session.model.ops as { kernelBuild?: string }).kernelBuild).toBe(build);
      const seq = session.model.newSequence(fixture.tokens.length);
      return fixture.tokens.map((token) => Array.from(session.model.forward(seq, Int32Array.of(token), 'last')));
    } finally {
      await close();
    }
  }

  it.each([['wasm', 'simd'], ['wasm-scalar', 'scalar']])('moe/model-nvfp4.gguf decoded token by token on %s (%s build)', async (backend, build) => {
    const { maxAbs, argmaxDiffers } = compareLogits(await decode(backend, build), readF32(`${FIXTURES}moe/ref64-nvfp4.f32`));
    expect(argmaxDiffers).toEqual([]);
    expect(maxAbs).toBeLessThanOrEqual(TOLERANCE);
  });

  it('the relaxed build (int8 activations) is within 2× llama.cpp\'s own nvfp4 error on the same weights', async () => {
    const want = readF32(`${FIXTURES}moe/ref64-nvfp4.f32`);
    const V = want.length / fixture.tokens.length;
    const llama = readF32(`${FIXTURES}moe/llamacpp-nvfp4.f32`);
    const peer = compareLogits(fixture.tokens.map((_, t) => Array.from(llama.subarray(t * V, (t + 1) * V))), want);
    const got = compareLogits(await decode('wasm', 'relaxed'), want);
    expect(got.maxAbs).toBeLessThanOrEqual(2 * peer.maxAbs);
    expect(got.argmaxDiffers.length).toBeLessThanOrEqual(2 * peer.argmaxDiffers.length);
  });
});
