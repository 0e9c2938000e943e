// `edgetron train --preset P --data DIR --out DIR --steps N --batch B --seq T --lr X --warmup W
// --seed S [--resume] [--threads N] [--checkpoint-every N] [--init MODEL] [--sparse 2:4
// --search-space|--fixed-mask]`: train a preset-shaped model on a corpus folder's train.u16
// (lab/train/trainer.ts), printing a progress line, and export it as an HF folder that
// openCheckpoint loads. 2:4 sparse training: lab/train/sparse.ts (its mask log goes to
// OUT/sparse-log.json).

import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../engine/core/config.js';
import { readTokenFile } from '../../lab/train/data.js';
import { SparseTraining, sparseLinears, type SparseMode } from '../../lab/train/sparse.js';
import { exportHf, train } from '../../lab/train/trainer.js';
import { paramLayout } from '../../lab/train/params.js';
import { PRESET_NAMES, isPresetName, presetConfig } from '../../weights-tools/presets.js';
import { intOpt, numberOpt, requiredOpt, stringOpt } from '../args.js';
import { resolveModelArg } from '../model-arg.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';

const clock = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : '?');

/**
 * The `train` command (dispatched by cli/main.ts).
 * @example
 * main(['train', '--preset', 'demo', '--data', 'models/demo-data', '--out', 'models/demo-train', '--steps', '100'], io);
 */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train a preset-shaped model on a corpus folder (see `edgetron corpus`)',
  help: `usage: edgetron train --preset P --data DIR --out DIR [--steps N] [--batch B] [--seq T]
                      [--lr X] [--warmup W] [--seed S] [--resume] [--threads N] [--checkpoint-every N]
                      [--init MODEL] [--sparse 2:4 --search-space|--fixed-mask]

Trains from a seeded init (or --resume from OUT/checkpoint/train-state.safetensors) on DIR/train.u16
with AdamW, warm-up + cosine schedule, gradient clipping and, for MTP presets, the MTP loss
(weight 0.3). Prints one progress line per step on stderr; at the end OUT holds config.json,
model.safetensors and DIR's tokenizer files (an HF folder for \`edgetron run --model OUT\`).

  --preset P            one of: ${PRESET_NAMES.join(', ')}
  --data DIR            corpus folder (train.u16, tokenizer.json, tokenizer_config.json)
  --out DIR             output folder
  --steps N             optimiser steps (default 1000)
  --batch B             windows per step (default 16)
  --seq T               tokens per window (default 256)
  --lr X                peak learning rate (default 0.003)
  --warmup W            warm-up steps (default 50)
  --seed S              init and data-order seed (default 1)
  --resume              continue from OUT/checkpoint/train-state.safetensors (same options)
  --threads N           data-parallel threads (default: the CPU count, at most 2)
  --checkpoint-every N  steps between checkpoints (default 50)
  --init MODEL          start from this dense checkpoint (same preset) instead of the seeded init
  --sparse 2:4          train 2:4-sparse linears (those \`convert --sparse 2:4\` prunes), with one of:
    --search-space      a dense shadow, the forward pass with a 2:4 mask recomputed from |W| on a
                        shrinking schedule (frozen for the last 20% of steps), straight-through
                        updates with decay on the pruned entries
    --fixed-mask        prune once by magnitude, then retrain with the mask frozen
                        Either writes the flip rate per recompute to OUT/sparse-log.json.`,
  options: {
    preset: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string' },
    batch: { type: 'string' },
    seq: { type: 'string' },
    lr: { type: 'string' },
    warmup: { type: 'string' },
    seed: { type: 'string' },
    resume: { type: 'boolean' },
    threads: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    init: { type: 'string' },
    sparse: { type: 'string' },
    'search-space': { type: 'boolean' },
    'fixed-mask': { type: 'boolean' },
  },
  async run({ values }, io) {
    const preset = requiredOpt('train', values, 'preset');
    if (!isPresetName(preset)) throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(', ')}, got "${preset}"`, 'train');
    const data = requiredOpt('train', values, 'data');
    const out = requiredOpt('train', values, 'out');
    const lr = numberOpt('train', values, 'lr', 3e-3)!;
    if (!(lr > 0)) throw new UsageError(`--lr must be positive, got ${lr}`, 'train');
    const rawConfig = presetConfig(preset);
    const sparse = sparseOptions(values, intOpt('train', values, 'steps', 1000, 1)!, values.resume === true);
    const options = {
      rawConfig,
      tokens: readTokenFile(join(data, 'train.u16')),
      out,
      steps: intOpt('train', values, 'steps', 1000, 1)!,
      batch: intOpt('train', values, 'batch', 16, 1)!,
      seq: intOpt('train', values, 'seq', 256, 1)!,
      lr,
      warmup: intOpt('train', values, 'warmup', 50, 0)!,
      seed: intOpt('train', values, 'seed', 1)!,
      threads: intOpt('train', values, 'threads', Math.min(2, availableParallelism()), 1, 64)!,
      resume: values.resume === true,
      checkpointEvery: intOpt('train', values, 'checkpoint-every', 50, 1)!,
    };
    const sparseTraining = sparse && new SparseTraining(paramLayout(parseConfig(rawConfig)), sparseLinears(parseConfig(rawConfig)), sparse);
    const result = await train({
      ...options,
      initFrom: await resolveModelArg(stringOpt(values, 'init'), io),
      sparse: sparseTraining || undefined,
      onProgress: (p) =>
        io.stderr.write(
          `train ${preset}: step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}` +
            (p.mtpLoss === null ? '' : ` mtp ${p.mtpLoss.toFixed(4)}`) +
            ` lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toFixed(2)} load ${p.loadMin.toFixed(2)}–${p.loadMax.toFixed(2)}` +
            ` ${Math.round(p.tokensPerSecond)} tok/s ETA ${clock(p.etaSeconds)}\n`,
        ),
    });
    await exportHf(out, rawConfig, result.layout, result.params, data);
    if (sparseTraining) {
      await writeFile(join(out, 'sparse-log.json'), `${JSON.stringify({ mode: sparse.mode, steps: options.steps, recomputes: sparseTraining.log }, null, 2)}\n`);
      const last = sparseTraining.log.at(-1)!;
      io.stderr.write(`train ${preset}: 2:4 ${sparse.mode}, ${sparseTraining.log.length - 1} mask recomputes, explored ${(100 * last.explored).toFixed(1)}% of the dense space\n`);
    }
    io.stderr.write(
      `train ${preset}: wrote ${out} after ${result.step} steps (loss ${result.loss.toFixed(4)}` +
        (result.mtpLoss === null ? '' : `, mtp ${result.mtpLoss.toFixed(4)}`) +
        `, ${Math.round(result.tokensPerSecond)} tok/s)\n`,
    );
  },
};

/** The 2:4 options of a run, or null without --sparse; one-line errors for bad combinations. */
function sparseOptions(values: Record<string, unknown>, steps: number, resume: boolean): { mode: SparseMode; steps: number } | null {
  const search = values['search-space'] === true;
  const fixed = values['fixed-mask'] === true;
  if (values.sparse === undefined) {
    if (search || fixed) throw new UsageError(`--${search ? 'search-space' : 'fixed-mask'} needs --sparse 2:4`, 'train');
    return null;
  }
  if (values.sparse !== '2:4') throw new UsageError(`--sparse must be 2:4, got "${String(values.sparse)}"`, 'train');
  if (search === fixed) throw new UsageError('--sparse 2:4 needs exactly one of --search-space and --fixed-mask', 'train');
  if (resume) throw new UsageError('--resume does not apply to --sparse runs (the mask is not checkpointed)', 'train');
  return { mode: search ? 'search-space' : 'fixed-mask', steps };
}
