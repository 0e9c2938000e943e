// `convert --recover` end to end on a synthesized tiny model (weights-tools/recover.ts hooked into
// weights-tools/convert.ts): every recovered linear is stored as nvfp4-s24 with legal position
// codes and ≤ 2 non-zeros per group, and its output error on the calibration inputs (through
// H = XᵀX) is below one-shot Wanda's nvfp4-s24 of the same weight. Slow on a loaded machine
// (two reference calibration passes), hence *.slow.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearWeight, validateWeights } from '../../engine/core/weights.js';
import { decodeNvfp4S24Row } from '../../engine/formats/nvfp4.js';
import { checkPositionCodes } from '../../engine/formats/sparse24.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { convertCheckpoint } from '../../weights-tools/convert.js';
import { quantizeLinear } from '../../weights-tools/quantize.js';
import { linearMatrix, relOutputError, type RecoveredLinear } from '../../weights-tools/recover.js';
import { synthesize } from '../../weights-tools/synth.js';

function expect24(W: Float64Array): void {
  for (let g = 0; g < W.length / 4; g++) expect(W.subarray(4 * g, 4 * g + 4).filter((w) => w !== 0).length).toBeLessThanOrEqual(2);
}

describe('convert --recover', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgetron-recover-'));
    await synthesize({ preset: 'tiny', seed: 3, out: join(dir, 'f32'), dtype: 'f32' });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes nvfp4-s24 with legal codes and a lower calibration output error than one-shot Wanda', async () => {
    const calibText = 'The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. '.repeat(3);
    const logged = new Map<string, RecoveredLinear>();
    await convertCheckpoint(join(dir, 'f32'), join(dir, 'rec'), { quant: 'nvfp4', sparse: true, score: 'wanda', calibText, recover: { steps: 30 }, onRecovered: (r) => logged.set(r.name, r) });
    expect(logged.size).toBeGreaterThan(0);
    const pack = await openCheckpoint(join(dir, 'rec'));
    const tensors = validateWeights(pack.config, pack.store, false);
    const loaded = await referenceBackend.load(pack.config, tensors);
    let better = 0;
    let [sumRec, sumWanda] = [0, 0];
    for (const [name, r] of logged) {
      const w = linearWeight(tensors, name);
      expect(w.format).toBe('nvfp4-s24');
      const pos = new Uint8Array(w.positions!.byteLength);
      await w.positions!.readInto(pos);
      expect(() => checkPositionCodes(pos, name)).not.toThrow();
      const stored = linearMatrix(loaded, name).W; // (rows, cols) as the pack decodes
      expect24(stored);
      // one-shot Wanda nvfp4-s24 of the same weight on the same calibration norms
      const norms = Float64Array.from({ length: r.cols }, (_, j) => Math.sqrt(r.gram.gram[j * r.cols + j]));
      const q = quantizeLinear({ name, rows: r.rows, cols: r.cols, readRow: (i, dst) => dst.set(r.original.subarray(i * r.cols, (i + 1) * r.cols)) }, { format: 'nvfp4-s24', score: 'wanda', inputNorms: norms });
      const wanda = new Float64Array(r.rows * r.cols);
      for (let i = 0; i < r.rows; i++) decodeNvfp4S24Row(q.weight, q.positions!, q.scale, q.scale2, i, r.cols, wanda.subarray(i * r.cols, (i + 1) * r.cols));
      const err = (W: Float64Array) => relOutputError(W, r.original, r.rows, r.cols, r.gram);
      sumRec += err(stored);
      sumWanda += err(wanda);
      if (err(stored) < err(wanda)) better++;
    }
    loaded.dispose();
    await pack.store.close();
    expect(sumRec).toBeLessThan(0.9 * sumWanda);
    expect(better).toBeGreaterThanOrEqual(0.9 * logged.size);
  }, 60_000);
});
