// `edgetron synth --preset P --seed S --out DIR [--dtype f32|bf16] [--quant nvfp4|fp8] [--layers N] [--if-missing]`: write a
// seeded random checkpoint in the HF layout (DESIGN §4), with a progress line on stderr.

import { PRESET_NAMES } from '../../weights-tools/presets.js';
import { synthesize, type SynthDType } from '../../weights-tools/synth.js';
import { intOpt, requiredOpt, stringOpt } from '../args.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * The `synth` command (dispatched by cli/main.ts).
 * @example
 * main(['synth', '--preset', 'tiny', '--seed', '1', '--out', 'models/tiny'], io);
 */
export const synthCommand: Command = {
  name: 'synth',
  summary: 'write a seeded random model of a preset shape',
  help: `usage: edgetron synth --preset P --seed S --out DIR [--dtype f32|bf16] [--quant nvfp4|fp8] [--layers N] [--if-missing]

Writes a checkpoint folder (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json) with seeded random weights; the same seed gives the same bytes.

  --preset P     one of: ${PRESET_NAMES.join(', ')}
  --seed S       integer seed
  --out DIR      output folder (created if needed)
  --dtype D      f32 (default) or bf16
  --quant nvfp4  store the linears of the nano policy as nvfp4: exactly what
                 \`convert --quant nvfp4\` makes of the same synth without it
  --quant fp8    store the Mamba, expert and MLP projections as ModelOpt FP8
                 (F8_E4M3 + per-tensor weight_scale + input_scale, with
                 quantization_config and hf_quant_config.json), as NVIDIA's -FP8
                 releases do; use with --dtype bf16 for their BF16 remainder
  --layers N     keep only the first N layers of the preset's pattern
                 (e.g. --preset nano --layers 6: NVIDIA's names and shapes, 6 layers)
  --if-missing   do nothing when DIR already holds a model`,
  options: {
    preset: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string' },
    quant: { type: 'string' },
    layers: { type: 'string' },
    'if-missing': { type: 'boolean' },
  },
  async run({ values }, io) {
    const preset = requiredOpt('synth', values, 'preset');
    const seed = intOpt('synth', values, 'seed', undefined);
    if (seed === undefined) throw new UsageError('--seed is required', 'synth');
    const out = requiredOpt('synth', values, 'out');
    const dtype = stringOpt(values, 'dtype') ?? 'f32';
    if (dtype !== 'f32' && dtype !== 'bf16') throw new UsageError(`--dtype must be f32 or bf16, got "${dtype}"`, 'synth');
    const quant = stringOpt(values, 'quant');
    if (quant !== undefined && quant !== 'nvfp4' && quant !== 'fp8') throw new UsageError(`--quant must be nvfp4 or fp8, got "${quant}"`, 'synth');
    let lastPercent = -1;
    const result = await synthesize({
      preset,
      seed,
      out,
      dtype: dtype as SynthDType,
      quant,
      layers: intOpt('synth', values, 'layers', undefined, 1),
      ifMissing: values['if-missing'] === true,
      onProgress: (p) => {
        const percent = Math.floor((100 * p.bytesDone) / Math.max(1, p.bytesTotal));
        if (!io.stderr.isTTY || percent === lastPercent) return;
        lastPercent = percent;
        io.stderr.write(`\rsynth ${preset}: ${percent}% (${p.index + 1}/${p.count} tensors, ${mib(p.bytesDone)} of ${mib(p.bytesTotal)})`);
      },
    });
    if (lastPercent >= 0) io.stderr.write('\n');
    io.stderr.write(
      result.skipped
        ? `synth ${preset}: ${out} already holds a model; nothing written\n`
        : `synth ${preset}: wrote ${out} (${mib(result.bytes)}, sha256 ${result.sha256})\n`,
    );
  },
};
