// `npm run bench:convert` (the peak memory of convert on a checkpoint several times larger
// than its memory cap, docs/bench.md): runs `edgetron convert … --max-memory CAP` in a child
// process on checkpoints two to sixteen times the cap and prints the child's peak resident set size
// beside the cap. The child reports `process.resourceUsage().maxRSS` (its VmHWM, KiB) on exit, and
// runs with a V8 heap limit of half the cap, so a regression that holds tensors in JS objects dies
// loudly instead of paging; a peak over the cap marks the row and fails the bench.
//
// Checkpoints (written by `synth` into --model-dir, default models/bench, when missing):
//   small-f32      the `small` preset in f32 (~505 MiB)
//   medium-f32     the `medium` preset in f32 (~2 GiB)
//   nano2-bf16     `synth --preset nano --layers 2` in bf16 (~3.9 GiB; its 704 MiB embedding
//                  alone is larger than a 256 or 512 MiB cap, so rows are chunked within a tensor)
// The nano checkpoint is deleted afterwards (it is over 2 GiB) unless --keep is given.
//
// Options: --model-dir DIR, --only SUBSTRING (run the cases whose label contains it), --keep.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../runtime/paths.js';
import { synthesize, type SynthOptions } from '../weights-tools/synth.js';

const { values: opts } = parseArgs({ options: { 'model-dir': { type: 'string' }, only: { type: 'string' }, keep: { type: 'boolean' } } });

const MIB = 2 ** 20;
const RSS_MARK = 'EDGETRON_MAXRSS_KIB=';
/** The child: the CLI's main() with argv after `-e`, then maxRSS on stderr at exit. */
const CHILD = `
const { main } = await import(${JSON.stringify(new URL('../cli/main.js', import.meta.url).href)});
process.on('exit', () => process.stderr.write('\\n${RSS_MARK}' + process.resourceUsage().maxRSS + '\\n'));
process.exitCode = await main(process.argv.slice(1));
`;

/** A checkpoint the bench converts, written by synth when missing. */
interface Input {
  readonly folder: string;
  readonly synth: Omit<SynthOptions, 'out' | 'ifMissing'>;
  /** Delete after the bench (large). */
  readonly temporary: boolean;
}

const INPUTS = {
  'small-f32': { folder: 'small-f32', synth: { preset: 'small', seed: 1, dtype: 'f32' }, temporary: false },
  'medium-f32': { folder: 'medium-f32', synth: { preset: 'medium', seed: 1, dtype: 'f32' }, temporary: false },
  'nano2-bf16': { folder: 'nano2-bf16', synth: { preset: 'nano', seed: 1, dtype: 'bf16', layers: 2 }, temporary: true },
} satisfies Record<string, Input>;

interface Case {
  readonly input: keyof typeof INPUTS;
  /** Output format: an edge pack `--quant` or, with `.gguf`, a GGUF type. */
  readonly quant: string;
  readonly gguf?: boolean;
  readonly cap: number;
}

const CASES: readonly Case[] = [
  { input: 'small-f32', quant: 'nvfp4', cap: 256 },
  { input: 'small-f32', quant: 'bf16', cap: 128 },
  { input: 'medium-f32', quant: 'nvfp4', cap: 256 },
  { input: 'medium-f32', quant: 'bf16', cap: 256 },
  { input: 'medium-f32', quant: 'q8_0', gguf: true, cap: 256 },
  { input: 'nano2-bf16', quant: 'nvfp4', cap: 256 },
  { input: 'nano2-bf16', quant: 'nvfp4', cap: 512 },
  { input: 'nano2-bf16', quant: 'f32', cap: 256 },
];

const label = (c: Case) => `${c.input} → ${c.gguf ? `gguf ${c.quant}` : c.quant}`;

interface Run {
  readonly label: string;
  readonly ckptBytes: number;
  readonly cap: number;
  readonly peakRss: number;
  readonly seconds: number;
}

/** Total size of the *.safetensors files in a folder. */
async function weightsBytes(dir: string): Promise<number> {
  let sum = 0;
  for (const f of await readdir(dir)) if (f.endsWith('.safetensors')) sum += (await stat(join(dir, f))).size;
  return sum;
}

/** Run `edgetron convert IN OUT --quant Q --max-memory CAP` in a child with a V8 heap limit of cap/2; its peak RSS in bytes. */
function convertInChild(inDir: string, out: string, quant: string, cap: number): Promise<number> {
  const args = [`--max-old-space-size=${Math.floor(cap / 2)}`, '--input-type=module', '-e', CHILD, 'convert', inDir, out, '--quant', quant, '--max-memory', String(cap)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const kib = new RegExp(`${RSS_MARK}(\\d+)`).exec(stderr);
      if (code !== 0 || !kib) reject(new Error(`convert ${inDir} --quant ${quant} --max-memory ${cap} exited ${code ?? signal}:\n${stderr.slice(-2000)}`));
      else resolve(Number(kib[1]) * 1024);
    });
  });
}

const modelDir = opts['model-dir'] ?? join(packageRoot(), 'models', 'bench');
const cases = CASES.filter((c) => opts.only === undefined || label(c).includes(opts.only));
const work = await mkdtemp(join(tmpdir(), 'edgetron-convert-memory-'));
const runs: Run[] = [];
try {
  for (const c of cases) {
    const input: Input = INPUTS[c.input];
    const inDir = join(modelDir, input.folder);
    const synth = await synthesize({ ...input.synth, out: inDir, ifMissing: true });
    if (!synth.skipped) console.log(`wrote ${inDir}`);
    const out = join(work, c.gguf ? 'out.gguf' : 'out');
    const t0 = performance.now();
    const peakRss = await convertInChild(inDir, out, c.quant, c.cap);
    const run = { label: label(c), ckptBytes: await weightsBytes(inDir), cap: c.cap, peakRss, seconds: (performance.now() - t0) / 1000 };
    console.log(`${run.label}, cap ${run.cap} MiB: peak ${(peakRss / MIB).toFixed(1)} MiB in ${run.seconds.toFixed(1)} s`);
    runs.push(run);
    await rm(out, { recursive: true, force: true });
  }
} finally {
  await rm(work, { recursive: true, force: true });
  if (!opts.keep) {
    for (const input of Object.values(INPUTS) as Input[]) {
      const dir = join(modelDir, input.folder);
      if (input.temporary && cases.some((c) => INPUTS[c.input] === input)) await rm(dir, { recursive: true, force: true });
    }
  }
}

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
console.log(`\nconvert peak memory under --max-memory, node ${process.version}\n`);
console.log(row(['convert', 'checkpoint MiB', 'cap MiB', 'peak RSS MiB', 'peak/cap', 'seconds']));
console.log(row(['---', '---:', '---:', '---:', '---:', '---:']));
for (const r of runs) {
  const over = r.peakRss > r.cap * MIB ? ' (over the cap)' : '';
  console.log(row([r.label, (r.ckptBytes / MIB).toFixed(0), String(r.cap), `${(r.peakRss / MIB).toFixed(1)}${over}`, (r.peakRss / (r.cap * MIB)).toFixed(2), r.seconds.toFixed(1)]));
}
console.log('\npeak/cap below 1: convert stayed within --max-memory on a checkpoint several times its size');
if (runs.some((r) => r.peakRss > r.cap * MIB)) process.exitCode = 1;
