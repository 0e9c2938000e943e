// `npm run bench:convert` (issue 4, "peak memory of convert"): runs `edgetron convert` on the
// `small` preset (f32, ~530 MB) in a child process, f32 → nvfp4 and f32 → bf16, and prints the
// child's peak resident set size beside the checkpoint size: a streaming converter peaks well
// below the checkpoint. The child reports `process.resourceUsage().maxRSS` (KiB) on exit.
//
// Options: --model-dir DIR (default models/bench; the preset is written to DIR/small-f32 when
// missing and reused when present). The converted packs go to a temp folder and are deleted.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../weights-tools/checkpoint.js';
import { synthesize } from '../weights-tools/synth.js';

const { values: opts } = parseArgs({ options: { 'model-dir': { type: 'string' } } });

const MIB = 2 ** 20;
const RSS_MARK = 'EDGETRON_MAXRSS_KIB=';
/** The child: the CLI's main() with argv after `-e`, then maxRSS on stderr at exit. */
const CHILD = `
const { main } = await import(${JSON.stringify(new URL('../cli/main.js', import.meta.url).href)});
process.on('exit', () => process.stderr.write('\\n${RSS_MARK}' + process.resourceUsage().maxRSS + '\\n'));
process.exitCode = await main(process.argv.slice(1));
`;

interface Run {
  readonly quant: string;
  readonly peakRss: number;
  readonly outBytes: number;
  readonly seconds: number;
}

/** Total size of the files in a folder (not recursive). */
async function folderBytes(dir: string): Promise<number> {
  let sum = 0;
  for (const f of await readdir(dir)) sum += (await stat(join(dir, f))).size;
  return sum;
}

/** Run `edgetron convert IN OUT --quant Q` in a child; its peak RSS in bytes. */
function convertInChild(inDir: string, outDir: string, quant: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, 'convert', inDir, outDir, '--quant', quant], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const kib = new RegExp(`${RSS_MARK}(\\d+)`).exec(stderr);
      if (code !== 0 || !kib) reject(new Error(`convert --quant ${quant} exited ${code}:\n${stderr.slice(-2000)}`));
      else resolve(Number(kib[1]) * 1024);
    });
  });
}

const modelDir = opts['model-dir'] ?? join(packageRoot(), 'models', 'bench');
const inDir = join(modelDir, 'small-f32');
const synth = await synthesize({ preset: 'small', seed: 1, out: inDir, dtype: 'f32', ifMissing: true });
if (!synth.skipped) console.log(`wrote ${inDir}`);
const ckptBytes = (await stat(join(inDir, 'model.safetensors'))).size;

const work = await mkdtemp(join(tmpdir(), 'edgetron-convert-memory-'));
const runs: Run[] = [];
try {
  for (const quant of ['nvfp4', 'bf16']) {
    const out = join(work, quant);
    const t0 = performance.now();
    const peakRss = await convertInChild(inDir, out, quant);
    runs.push({ quant, peakRss, outBytes: await folderBytes(out), seconds: (performance.now() - t0) / 1000 });
    await rm(out, { recursive: true, force: true });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
console.log(`\nconvert peak memory, small preset (${inDir}), node ${process.version}\n`);
console.log(row(['convert', 'checkpoint MiB', 'output MiB', 'peak RSS MiB', 'ratio', 's']));
console.log(row(['---', '---:', '---:', '---:', '---:', '---:']));
for (const r of runs) {
  const cells = [`f32 → ${r.quant}`, (ckptBytes / MIB).toFixed(1), (r.outBytes / MIB).toFixed(1), (r.peakRss / MIB).toFixed(1), (r.peakRss / ckptBytes).toFixed(2), r.seconds.toFixed(1)];
  console.log(row(cells));
}
console.log('\nratio = peak RSS / checkpoint size (below 1: convert never held the whole model)');
