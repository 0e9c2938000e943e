// `edgetron convert IN OUT [--quant f32|bf16|nvfp4] [--sparse 2:4] [--score magnitude|wanda]
// [--recover] [--calib FILE] [--policy nano|all-linear] [--mse] [--shard-mb 24] [--max-memory 512]`: write an edge pack
// (DESIGN §3, §5; weights-tools/convert.ts) with a progress line on stderr (bytes and ETA) and,
// for 4-bit output, the per-layer error report on stderr at the end. With `OUT.gguf` it writes a
// GGUF that llama.cpp loads instead (weights-tools/gguf-writer.ts; `--quant
// f32|f16|bf16|q8_0|q4_0|nvfp4`). Both stream a chunk of rows at a time within --max-memory MiB
// (weights-tools/row-chunks.ts).

import { readFile } from 'node:fs/promises';
import { openCheckpoint, resolveModelPath } from '../../weights-tools/checkpoint.js';
import { CONVERT_QUANTS, convertCheckpoint, type ConvertQuant, type LayerReport } from '../../weights-tools/convert.js';
import { GGUF_QUANTS, planGgufExport, writeGgufFile, type GgufQuant } from '../../weights-tools/gguf-writer.js';
import { PRUNE_SCORES, type PruneScore } from '../../weights-tools/prune.js';
import { DEFAULT_MAX_MEMORY_MIB, RUNTIME_MIB } from '../../weights-tools/row-chunks.js';
import { QUANT_POLICIES, type QuantPolicyName } from '../../weights-tools/quant-policy.js';
import { intOpt, stringOpt } from '../args.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { progressLine } from '../io.js';
import { resolveModelArg } from '../model-arg.js';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** `value` if it is one of `choices`, else a UsageError naming the option and the choices. */
function choice<T extends string>(option: string, value: string | undefined, choices: readonly T[], fallback: T | undefined): T | undefined {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${option} must be one of ${choices.join(', ')}, got "${value}"`, 'convert');
  return value as T;
}

/** The report: one line per quantised linear, then the mean. */
function formatReport(report: readonly LayerReport[]): string {
  if (report.length === 0) return '';
  const width = Math.max(...report.map((r) => r.name.length));
  const pct = (x: number | null) => (x === null ? '     -' : `${(100 * x).toFixed(2).padStart(6)}`);
  const lines = report.map((r) => `  ${r.name.padEnd(width)}  ${r.format.padEnd(9)}  ${pct(r.relError)}%  ${pct(r.relOutputError)}%`);
  const mean = report.reduce((s, r) => s + r.relError, 0) / report.length;
  return [`per-layer relative error (weights ‖Ŵ−W‖/‖W‖, outputs on the calibration inputs):`, ...lines, `  mean weight error ${(100 * mean).toFixed(2)}% over ${report.length} layers`, ''].join('\n');
}

/**
 * The `convert` command (dispatched by cli/main.ts).
 * @example
 * main(['convert', 'models/default', 'packs/tiny-nvfp4', '--quant', 'nvfp4'], io);
 */
export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a checkpoint into an edge pack (f32, bf16, nvfp4, nvfp4 2:4)',
  help: `usage: edgetron convert IN OUT [--quant f32|bf16|nvfp4] [--sparse 2:4] [--score magnitude|wanda]
                        [--recover] [--calib FILE] [--policy nano|all-linear] [--quant-head] [--quant-embedding]
                        [--mse] [--shard-mb 24] [--max-memory ${DEFAULT_MAX_MEMORY_MIB}]

Reads IN (an HF folder, a .gguf file, an edge pack or \`default\`) and writes the edge pack OUT:
config.json with a quantization_config block, the tokenizer files, safetensors shards and an
index with sha256s. With OUT ending in .gguf it writes a GGUF that llama.cpp loads instead,
with --quant one of ${GGUF_QUANTS.join(', ')} (default f32).

  --quant Q      ${CONVERT_QUANTS.join(', ')} (default nvfp4); f32/bf16 convert every float tensor
  --sparse 2:4   prune the quantised linears to 2:4 (nvfp4-s24)
  --score S      ${PRUNE_SCORES.join(' or ')} (default magnitude): what 2:4 keeps
  --recover      with --sparse 2:4: per-layer recovery of each pruned linear on the calibration
                 inputs (dense shadow, recomputed 2:4 mask, then fixed-mask steps); prints the
                 flip rates and the explored fraction per layer
  --calib FILE   calibration text for Wanda and --recover (default: a built-in text)
  --policy P     ${QUANT_POLICIES.join(' or ')} (default nano): which linears are quantised
  --quant-head   quantise lm_head too (by default it stays high precision, as in NVIDIA's Nano)
  --quant-embedding  quantise the token embedding too
  --mse          search each block scale for the least squared error
  --shard-mb N   largest shard in MiB (default 24)
  --max-memory MB  memory cap in MiB (default ${DEFAULT_MAX_MEMORY_MIB}, more than ${RUNTIME_MIB}): tensors stream in chunks of
                 rows sized to fit, so a checkpoint many times larger than the cap converts;
                 too small for one row of a tensor is an error naming the cap needed. Not
                 covered: Wanda calibration (--score wanda) and --calib load the whole model,
                 and are refused when the checkpoint is larger than the cap`,
  options: {
    quant: { type: 'string' },
    sparse: { type: 'string' },
    score: { type: 'string' },
    recover: { type: 'boolean' },
    calib: { type: 'string' },
    policy: { type: 'string' },
    'quant-head': { type: 'boolean' },
    'quant-embedding': { type: 'boolean' },
    mse: { type: 'boolean' },
    'shard-mb': { type: 'string' },
    'max-memory': { type: 'string' },
  },
  maxPositionals: 2,
  async run({ values, positionals }, io) {
    if (positionals.length !== 2) throw new UsageError('IN and OUT are required', 'convert');
    const [arg, out] = positionals;
    const input = await resolveModelArg(arg, io);
    const maxMemoryMb = intOpt('convert', values, 'max-memory', DEFAULT_MAX_MEMORY_MIB, RUNTIME_MIB + 1, 2 ** 24)!;
    if (out.toLowerCase().endsWith('.gguf')) {
      const quant = choice<GgufQuant>('quant', stringOpt(values, 'quant'), GGUF_QUANTS, 'f32')!;
      for (const only of ['sparse', 'score', 'recover', 'calib', 'policy', 'quant-head', 'quant-embedding', 'mse', 'shard-mb']) {
        if (values[only] !== undefined) throw new UsageError(`--${only} applies to edge packs, not to a GGUF output`, 'convert');
      }
      const ckpt = await openCheckpoint(resolveModelPath(input));
      const progress = progressLine(io, 'convert');
      try {
        await writeGgufFile(out, planGgufExport(ckpt, quant, undefined, maxMemoryMb), (done, total) => progress.update(done, total));
      } finally {
        progress.end();
        await ckpt.store.close();
      }
      io.stderr.write(`convert: wrote ${out} (${quant})\n`);
      return;
    }
    const quant = choice<ConvertQuant>('quant', stringOpt(values, 'quant'), CONVERT_QUANTS, 'nvfp4')!;
    const sparse = choice('sparse', stringOpt(values, 'sparse'), ['2:4'], undefined) !== undefined;
    if (sparse && quant !== 'nvfp4') throw new UsageError('--sparse 2:4 needs --quant nvfp4', 'convert');
    if (values.recover === true && !sparse) throw new UsageError('--recover needs --sparse 2:4', 'convert');
    const score = choice<PruneScore>('score', stringOpt(values, 'score'), PRUNE_SCORES, 'magnitude');
    const policy = choice<QuantPolicyName>('policy', stringOpt(values, 'policy'), QUANT_POLICIES, 'nano');
    const shardMb = intOpt('convert', values, 'shard-mb', 24, 1, 4096)!;
    const calibFile = stringOpt(values, 'calib');
    const calibText = calibFile === undefined ? undefined : await readFile(calibFile, 'utf8');
    const progress = progressLine(io, 'convert');
    const result = await convertCheckpoint(input, out, {
      quant,
      sparse,
      score,
      policy,
      quantizeHead: values['quant-head'] === true,
      quantizeEmbedding: values['quant-embedding'] === true,
      mse: values.mse === true,
      calibText,
      recover: values.recover === true ? {} : undefined,
      onRecovered: (r) =>
        io.stderr.write(`recover ${r.name}: flip rate ${r.log.recomputes.map((m) => (100 * m.flipRate).toFixed(1)).join(' ')} %, explored ${(100 * r.log.explored).toFixed(1)}%\n`),
      shardMb,
      maxMemoryMb,
      onProgress: ({ bytesDone, bytesTotal }) => progress.update(bytesDone, bytesTotal),
    });
    progress.end();
    io.stderr.write(formatReport(result.report));
    io.stderr.write(`convert: wrote ${out} (${result.files.length} shards, ${mib(result.bytes)})\n`);
  },
};
