// The training loop (lab/train/trainer.ts) on the tiny preset and a synthetic token
// stream: a few seconds of training lower the loss on a fixed batch; 4 steps straight equal
// 2 steps + resume + 2 steps bitwise; the export loads with openCheckpoint and runs.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../engine/core/config.js';
import { Model } from '../../../engine/core/model.js';
import { validateWeights } from '../../../engine/core/weights.js';
import { Prng } from '../../../engine/decode/prng.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { WindowSampler } from '../../../lab/train/data.js';
import { TrainModel, windowLength } from '../../../lab/train/model.js';
import { tensorViews, type ParamLayout } from '../../../lab/train/params.js';
import { exportHf, train, type TrainOptions } from '../../../lab/train/trainer.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';
import { presetConfig } from '../../../weights-tools/presets.js';

const dir = mkdtempSync(join(tmpdir(), 'edgetron-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// a learnable stream: a repeated random phrase of 40 tokens with noise
function stream(n: number): Uint16Array {
  const rng = new Prng(9, 'stream');
  const phrase = Array.from({ length: 40 }, () => 3 + (rng.nextU32() % 200));
  return Uint16Array.from({ length: n }, (_, i) => (rng.uniform() < 0.1 ? 3 + (rng.nextU32() % 200) : phrase[i % 40]));
}

const rawConfig = presetConfig('tiny');
const base: TrainOptions = {
  rawConfig, tokens: stream(4000), out: '', steps: 4, batch: 2, seq: 16, lr: 3e-3, warmup: 1, seed: 4, threads: 1, resume: false, checkpointEvery: 2,
};

describe('train loop', () => {
  it('a few seconds of training lower the loss on a fixed batch', async () => {
    const config = parseConfig(rawConfig);
    const steps = 30;
    const opts = { ...base, out: join(dir, 'short'), steps, batch: 4, lr: 1e-2, warmup: 2 };
    const fixed = new WindowSampler(opts.tokens, windowLength(config, opts.seq), opts.seq, 123).batch(0, 4);
    const lossOn = (flat: Float32Array, layout: ParamLayout) => {
      const params = tensorViews(layout, flat);
      const grads = tensorViews(layout, new Float32Array(layout.total));
      return new TrainModel(config).lossAndGrads(params, grads, fixed, 4, opts.seq).loss;
    };
    const before = await train({ ...opts, stopAfter: 0 });
    const after = await train(opts);
    const l0 = lossOn(before.params, before.layout);
    const l1 = lossOn(after.params, after.layout);
    expect(l0).toBeGreaterThan(5); // ≈ ln 512 at init
    expect(l1).toBeLessThan(l0 - 1);
  }, 60_000);

  it('4 steps straight equal 2 steps + resume + 2 steps, bitwise', async () => {
    const straight = await train({ ...base, out: join(dir, 'a') });
    const first = await train({ ...base, out: join(dir, 'b'), stopAfter: 2 });
    expect(first.step).toBe(2);
    const resumed = await train({ ...base, out: join(dir, 'b'), resume: true });
    expect(resumed.step).toBe(4);
    expect(resumed.loss).toBe(straight.loss);
    expect(Buffer.from(resumed.params.buffer).equals(Buffer.from(straight.params.buffer))).toBe(true);
    await expect(train({ ...base, out: join(dir, 'b'), resume: true, batch: 3 })).rejects.toThrow(/other options/);
  }, 60_000);

  it('the export is an HF folder that openCheckpoint loads and the reference backend runs', async () => {
    const r = await train({ ...base, out: join(dir, 'c'), steps: 1 });
    const tok = join(dir, 'tok');
    rmSync(tok, { recursive: true, force: true });
    mkdirSync(tok);
    writeFileSync(join(tok, 'tokenizer.json'), '{}');
    writeFileSync(join(tok, 'tokenizer_config.json'), '{}');
    await exportHf(join(dir, 'c'), rawConfig, r.layout, r.params, tok);
    const ckpt = await openCheckpoint(join(dir, 'c'));
    const loaded = await referenceBackend.load(ckpt.config, validateWeights(ckpt.config, ckpt.store));
    const logits = new Model(loaded).forward(loaded.newSequence(4), Int32Array.of(5, 6, 7));
    expect(logits.length).toBe(512);
    expect(logits.every(Number.isFinite)).toBe(true);
    await ckpt.store.close();
  });
});
