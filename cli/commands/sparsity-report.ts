// `edgetron sparsity-report --model PATH --out DIR [--text FILE] [--calib FILE] [--fixed-mask DIR]
// [--search-space DIR] [--backend B] [--eval-chars N] [--context N] [--recover-steps N]`: the 2:4
// quality report of docs/sparsity.md (lab/sparsity-report.ts): report.md, report.json,
// flip-rate.png/.svg and the converted packs in DIR/packs, with one progress line per stage on
// stderr and the end-to-end table on stdout.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readEvalText } from '../../lab/eval.js';
import { sparsityReport } from '../../lab/sparsity-report.js';
import { packageRoot } from '../../runtime/paths.js';
import { intOpt, requiredOpt, stringOpt } from '../args.js';
import { resolveModelArg } from '../model-arg.js';
import { BACKEND_NAMES, pickBackend } from '../backends.js';
import type { Command } from '../command.js';

/**
 * The `sparsity-report` command (dispatched by cli/main.ts).
 * @example
 * main(['sparsity-report', '--model', 'models/demo-train', '--out', 'reports/sparsity'], io);
 */
export const sparsityReportCommand: Command = {
  name: 'sparsity-report',
  summary: 'quality of 2:4 sparse variants of a model (one-shot, recovered, retrained), per layer and end to end',
  help: `usage: edgetron sparsity-report --model PATH --out DIR [--text FILE] [--calib FILE]
                                [--fixed-mask DIR] [--search-space DIR] [--backend B]
                                [--eval-chars N] [--context N] [--recover-steps N]

Converts PATH into NVFP4 variants (no pruning; 2:4 magnitude; 2:4 Wanda; 2:4 Wanda + per-layer
recovery; and, when given, the models of \`edgetron train --sparse 2:4 --fixed-mask\` and
\`--search-space\`) under DIR/packs, then measures for each: the relative output error of every
pruned linear on held-out tokens (prompts cut from FILE; the inputs are the dense model's) and
the bits per byte of FILE. Writes DIR/report.md, DIR/report.json, DIR/flip-rate.png (.svg).

  --model PATH         the dense model (a float checkpoint, or "default")
  --out DIR            output folder
  --text FILE          held-out text (default assets/corpus/heldout.txt)
  --calib FILE         calibration text for Wanda and recovery (default: a built-in text)
  --fixed-mask DIR     a model trained with --sparse 2:4 --fixed-mask
  --search-space DIR   a model trained with --sparse 2:4 --search-space (its sparse-log.json is plotted)
  --backend B          one of: ${BACKEND_NAMES.join(', ')} (default wasm): where bits per byte are measured
  --eval-chars N       score only the first N characters of FILE end to end (default all)
  --context N          eval window in tokens (default 256)
  --recover-steps N    per-layer recovery steps (default 200)`,
  options: {
    model: { type: 'string' },
    out: { type: 'string' },
    text: { type: 'string' },
    calib: { type: 'string' },
    'fixed-mask': { type: 'string' },
    'search-space': { type: 'string' },
    backend: { type: 'string' },
    'eval-chars': { type: 'string' },
    context: { type: 'string' },
    'recover-steps': { type: 'string' },
  },
  async run({ values }, io) {
    const model = await resolveModelArg(requiredOpt('sparsity-report', values, 'model'), io);
    const out = requiredOpt('sparsity-report', values, 'out');
    const heldout = await readEvalText(stringOpt(values, 'text') ?? join(packageRoot(), 'assets', 'corpus', 'heldout.txt'));
    const calibFile = stringOpt(values, 'calib');
    const choice = await pickBackend(stringOpt(values, 'backend') ?? 'wasm');
    const recoverSteps = intOpt('sparsity-report', values, 'recover-steps', undefined, 0);
    const report = await sparsityReport({
      model,
      heldout,
      calib: calibFile === undefined ? undefined : await readFile(calibFile, 'utf8'),
      fixedMask: stringOpt(values, 'fixed-mask'),
      searchSpace: stringOpt(values, 'search-space'),
      out,
      backend: choice.backend,
      evalChars: intOpt('sparsity-report', values, 'eval-chars', undefined, 1),
      context: intOpt('sparsity-report', values, 'context', undefined, 1),
      recover: recoverSteps === undefined ? undefined : { steps: recoverSteps },
      onProgress: (line) => io.stderr.write(`sparsity-report: ${line}\n`),
    });
    for (const row of report.rows) io.stdout.write(`${row.label.padEnd(32)} ${row.eval.bits_per_byte.toFixed(4)} bits/byte  mean layer error ${(100 * row.meanLayerError).toFixed(2)}%\n`);
    io.stderr.write(`sparsity-report: wrote ${join(out, 'report.md')}, report.json, flip-rate.png\n`);
  },
};
