// `edgetron train`'s loop: seeded init (init.ts) or a resumed checkpoint (state-file.ts), then per
// step: B windows from the deterministic sampler (data.ts), loss and gradient (grad-pool.ts over
// model.ts), global-norm clipping, AdamW at the scheduled learning rate (optim.ts), the MoE
// router-bias update from the step's expert loads (blocks/moe.ts), a checkpoint every
// `checkpointEvery` steps and at the end; optional 2:4 sparse training (sparse.ts hooks around
// each step) from a dense start checkpoint (`initFrom`); finally the HF folder (config.json, model.safetensors,
// the tokenizer files of the data folder) that openCheckpoint loads.

import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../engine/core/config.js';
import { stringifyConfigJson } from '../../engine/formats/config-json.js';
import { CheckpointError } from '../../weights-tools/errors.js';
import { serializeSafetensors } from '../../weights-tools/safetensors-writer.js';
import { updateRouterBias } from './blocks/moe.js';
import { WindowSampler } from './data.js';
import { GradPool } from './grad-pool.js';
import { initParams } from './init.js';
import { windowLength } from './model.js';
import { adamwStep, clipGradNorm, learningRate } from './optim.js';
import { flatBuffer, paramLayout, tensorViews, type ParamLayout } from './params.js';
import { loadStartWeights, type SparseHooks } from './sparse.js';
import { readTrainState, STATE_FILE, writeTrainState } from './state-file.js';

/** Global gradient-norm limit. */
export const CLIP_NORM = 1;
/** The cosine schedule ends at this fraction of the peak learning rate. */
export const LR_FLOOR = 0.1;

export interface TrainOptions {
  /** The HF config.json of the model (e.g. presetConfig('demo')). */
  readonly rawConfig: Record<string, unknown>;
  /** The training token stream (train.u16 of `edgetron corpus`). */
  readonly tokens: Uint16Array;
  /** Output folder: the checkpoint, and the HF export at the end. */
  readonly out: string;
  readonly steps: number;
  readonly batch: number; // B windows per step
  readonly seq: number; // T tokens per window
  readonly lr: number;
  readonly warmup: number;
  readonly seed: number;
  readonly threads: number;
  readonly resume: boolean;
  /** Steps between checkpoints. */
  readonly checkpointEvery: number;
  /** Stop after this many steps (checkpointed) without finishing the schedule; default steps. */
  readonly stopAfter?: number;
  /** Start from this dense checkpoint's weights instead of the seeded init. */
  readonly initFrom?: string;
  /** 2:4 sparse training (sparse.ts). */
  readonly sparse?: SparseHooks;
  readonly onProgress?: (p: TrainProgress) => void;
}

/** One step's report. */
export interface TrainProgress {
  readonly step: number; // steps done
  readonly steps: number;
  readonly loss: number;
  readonly mtpLoss: number | null;
  readonly lr: number;
  readonly gradNorm: number;
  readonly tokensPerSecond: number; // since this process started training
  readonly etaSeconds: number;
  /** Largest and smallest expert load over MoE layers, as a multiple of the mean. */
  readonly loadMax: number;
  readonly loadMin: number;
}

export interface TrainResult {
  readonly step: number;
  readonly loss: number;
  readonly mtpLoss: number | null;
  readonly layout: ParamLayout;
  readonly params: Float32Array;
  readonly tokensPerSecond: number;
}

/** The options a resumed run must share with the checkpoint. */
const fixedOptions = (o: TrainOptions) => ({ config: o.rawConfig, steps: o.steps, batch: o.batch, seq: o.seq, lr: o.lr, warmup: o.warmup, seed: o.seed });

/**
 * Train (or resume) and checkpoint; returns the final parameters.
 * @example const r = await train({ rawConfig: presetConfig('demo'), tokens, out, steps: 100, batch: 8, seq: 128, lr: 2e-3, warmup: 10, seed: 1, threads: 2, resume: false, checkpointEvery: 50 });
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const config = parseConfig(o.rawConfig);
  const layout = paramLayout(config);
  const params = flatBuffer(layout.total, o.threads > 1);
  let m: Float32Array = new Float32Array(layout.total);
  let v: Float32Array = new Float32Array(layout.total);
  let step = 0;
  let cursor = 0;
  const statePath = join(o.out, STATE_FILE);
  await mkdir(o.out, { recursive: true });
  if (o.resume) {
    const s = await readTrainState(statePath, layout);
    if (JSON.stringify(s.options) !== JSON.stringify(fixedOptions(o))) {
      throw new CheckpointError(statePath, `was written with other options (${JSON.stringify(s.options)}); resume with the same ones`);
    }
    params.set(s.params);
    ({ m, v, step, cursor } = s);
  } else if (o.initFrom !== undefined) {
    await loadStartWeights(o.initFrom, layout, config, params);
  } else {
    initParams(config, layout, params, o.seed);
  }
  o.sparse?.start(params);

  const views = tensorViews(layout, params);
  const sampler = new WindowSampler(o.tokens, windowLength(config, o.seq), o.seq, o.seed);
  const pool = await GradPool.start(o.rawConfig, layout, params, o.threads);
  const stopAt = Math.min(o.stopAfter ?? o.steps, o.steps);
  const schedule = { lr: o.lr, warmup: o.warmup, total: o.steps, floor: LR_FLOOR };
  const save = () => writeTrainState(statePath, layout, { step, cursor, options: fixedOptions(o), params, m, v });
  const t0 = performance.now();
  const firstStep = step;
  let last = { loss: NaN, mtpLoss: null as number | null };
  try {
    while (step < stopAt) {
      o.sparse?.beforeStep(step, params);
      const r = await pool.step(sampler.batch(cursor, o.batch), o.batch, o.seq);
      cursor += o.batch;
      const gradNorm = clipGradNorm(r.grads, CLIP_NORM);
      o.sparse?.beforeUpdate(params, r.grads);
      const lr = learningRate(step, schedule);
      step++;
      adamwStep(layout, params, r.grads, m, v, step, lr);
      o.sparse?.afterUpdate(params);
      let loadMax = 0;
      let loadMin = Infinity;
      for (const [prefix, load] of r.loads) {
        updateRouterBias(views.get(`${prefix}mixer.gate.e_score_correction_bias`)!, load);
        const mean = load.reduce((a, b) => a + b, 0) / load.length;
        for (const l of load) [loadMax, loadMin] = [Math.max(loadMax, l / mean), Math.min(loadMin, l / mean)];
      }
      last = { loss: r.loss, mtpLoss: r.mtpLoss };
      if (step % o.checkpointEvery === 0 || step === stopAt) await save();
      const seconds = (performance.now() - t0) / 1000;
      const tokensPerSecond = ((step - firstStep) * o.batch * o.seq) / seconds;
      o.onProgress?.({
        step, steps: o.steps, loss: r.loss, mtpLoss: r.mtpLoss, lr, gradNorm, tokensPerSecond,
        etaSeconds: ((o.steps - step) * o.batch * o.seq) / tokensPerSecond, loadMax, loadMin: loadMin === Infinity ? 0 : loadMin,
      });
    }
  } finally {
    await pool.close();
  }
  o.sparse?.finish(params);
  const seconds = (performance.now() - t0) / 1000;
  return { step, ...last, layout, params, tokensPerSecond: ((step - firstStep) * o.batch * o.seq) / seconds };
}

/**
 * Write the trained model as an HF folder: config.json, model.safetensors (f32), and the
 * tokenizer files copied from `tokenizerDir`.
 * @example await exportHf('models/demo-train', presetConfig('demo'), result.layout, result.params, 'models/demo-data');
 */
export async function exportHf(out: string, rawConfig: Record<string, unknown>, layout: ParamLayout, params: Float32Array, tokenizerDir: string): Promise<void> {
  await mkdir(out, { recursive: true });
  const tensors = layout.names.map((name, i) => {
    const n = layout.shapes[i].reduce((a, b) => a * b, 1);
    const data = params.slice(layout.offsets[i], layout.offsets[i] + n);
    return { name, dtype: 'f32' as const, shape: layout.shapes[i], data: new Uint8Array(data.buffer) };
  });
  await writeFile(join(out, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt', generator: 'edgetron train' }));
  await writeFile(join(out, 'config.json'), stringifyConfigJson({ ...rawConfig, torch_dtype: 'float32' }));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(tokenizerDir, f), join(out, f));
}
