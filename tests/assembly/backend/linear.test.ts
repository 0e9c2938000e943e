// assembly/backend/linear.ts on nvfp4 decode (T = 1, the nvfp4_matvec path): the nvfp4 GGUF
// oracle fixture (../shared/fixtures/nemotron-h-tiny/moe) decoded one token at a time on wasm
// (SIMD and scalar builds) must match the float64 forward pass over its exactly dequantised
// weights (ref64-nvfp4) to max abs ≤ 2e-3 with the same argmax at every position, as the prefill
// does in tests/engine/gguf-fixtures.test.ts.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadForCli } from '../../../cli/load.js';
import { compareLogits, readF32 } from '../../helpers/fixture-logits.js';

const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/nemotron-h-tiny/', import.meta.url));
const TOLERANCE = 2e-3;

describe.skipIf(!existsSync(FIXTURES))('nvfp4 decode through linear() reproduces the GGUF fixture', () => {
  const fixture = JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')) as { tokens: number[] };

  it.each(['wasm', 'wasm-scalar'])('moe/model-nvfp4.gguf decoded token by token on %s', async (backend) => {
    const { session, close } = await loadForCli(`${FIXTURES}moe/model-nvfp4.gguf`, backend);
    try {
      const { model } = session;
      const seq = model.newSequence(fixture.tokens.length);
      const rows = fixture.tokens.map((token) => Array.from(model.forward(seq, Int32Array.of(token), 'last')));
      const { maxAbs, argmaxDiffers } = compareLogits(rows, readF32(`${FIXTURES}moe/ref64-nvfp4.f32`));
      expect(argmaxDiffers).toEqual([]);
      expect(maxAbs).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await close();
    }
  });
});
