// `npm run bench -- --nano` (DESIGN §8): the real Nemotron 3 Nano shapes at full depth, with
// synthetic weights, against llama.cpp on the same weights.
//   Nano 4B (42 layers, d 3136, vocab 131072): a BF16 checkpoint (synth, seed 1), converted to
//   edgetron's nvfp4 pack with NVIDIA's policy (attention and the Mamba layers before it,
//   embedding and lm_head stay BF16) and to an all-4-bit pack (--policy all-linear --quant-head
//   --quant-embedding: every weight llama.cpp's q4_0 quantises, in 4 bits); exported to GGUF
//   q4_0 and nvfp4 for llama.cpp.
//   Nano 30B-A3B (52 layers, 128 experts): synth with --quant nvfp4 (the Nano policy, ~18 GB),
//   exported to GGUF q4_0; edgetron splits it over shard threads (engine/shard).
// Every measurement runs in its own process (bench/nano-child.ts), so load time and peak RSS
// are its own; the configurations run in interleaved rounds and the table gives medians, with
// each engine's decode as a ratio of llama.cpp q4_0's at the same thread count.
// The files need ~55 GB of disk under --nano-dir (default models/bench/nano) and are written
// once; a 2-core machine takes ~1 h for the first run.

import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertCheckpoint } from '../weights-tools/convert.js';
import { synthesize } from '../weights-tools/synth.js';
import { ggufOf, importLlamaCpp } from './llamacpp.js';
import { fmt, table } from './table.js';

export interface NanoOptions {
  readonly quick: boolean;
  readonly dir: string;
  /** Prompt tokens. */
  readonly prompt: number;
  /** Which shapes to run (default both). */
  readonly shapes?: readonly ('4b' | '30b')[];
}

interface Measured {
  loadMs: number;
  prefillTokS: number;
  decodeTokS: number;
  peakRssMiB: number;
  shards: number;
}

/** One configuration: who runs which file on how many threads. */
interface Config {
  readonly label: string;
  readonly engine: 'edgetron' | 'llama';
  readonly path: string;
  readonly threads: number;
}

const CHILD = fileURLToPath(new URL('./nano-child.js', import.meta.url));

/** `out` made by `make` once (into OUT.part, renamed when done). */
async function once(out: string, what: string, make: (part: string) => Promise<unknown>): Promise<string> {
  if (existsSync(out)) return out;
  process.stderr.write(`${what} → ${out} …\n`);
  await make(`${out}.part`);
  renameSync(`${out}.part`, out);
  return out;
}

/** One measurement in a child process (bench/nano-child.ts). */
function measure(c: Config, prompt: number, steps: number): Measured {
  const out = execFileSync(process.execPath, [...process.execArgv, '--max-old-space-size=8192', CHILD, c.engine, c.path, String(c.threads), String(prompt), String(steps)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Measured;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Run `configs` in `rounds` interleaved rounds and print the table of medians. */
function runTable(title: string, configs: readonly Config[], rounds: number, prompt: number, steps: number): void {
  const runs = configs.map(() => [] as Measured[]);
  for (let r = 0; r < rounds; r++) {
    configs.forEach((c, i) => {
      process.stderr.write(`  round ${r + 1}/${rounds}: ${c.label}, ${c.threads} thread(s) …\n`);
      runs[i].push(measure(c, prompt, steps));
    });
  }
  const med = runs.map((rs) => ({
    loadMs: median(rs.map((m) => m.loadMs)),
    prefillTokS: median(rs.map((m) => m.prefillTokS)),
    decodeTokS: median(rs.map((m) => m.decodeTokS)),
    peakRssMiB: median(rs.map((m) => m.peakRssMiB)),
    shards: rs[0].shards,
  }));
  const q4 = (threads: number) => {
    const i = configs.findIndex((c) => c.threads === threads && c.label.includes('q4_0'));
    return i < 0 ? { prefillTokS: NaN, decodeTokS: NaN } : med[i];
  };
  table(
    title,
    ['engine / weights', 'threads', 'shards', 'load s', 'prefill tok/s', 'decode tok/s', 'prefill ÷ q4_0', 'decode ÷ q4_0', 'peak RSS MiB'],
    configs.map((c, i) => [
      c.label,
      c.threads,
      med[i].shards,
      fmt(med[i].loadMs / 1e3),
      fmt(med[i].prefillTokS),
      fmt(med[i].decodeTokS),
      fmt(med[i].prefillTokS / q4(c.threads).prefillTokS),
      fmt(med[i].decodeTokS / q4(c.threads).decodeTokS),
      fmt(med[i].peakRssMiB),
    ]),
  );
}

/**
 * The Nano 4B and Nano 30B-A3B tables (see the header).
 * @example await benchNano({ quick: true, dir: 'models/bench/nano', prompt: 16 });
 */
export async function benchNano(options: NanoOptions): Promise<void> {
  if (!(await importLlamaCpp())) {
    console.log('\nNano rows skipped: node-llama-cpp is not installed (npm install --no-save node-llama-cpp@3.22.1, or NODE_LLAMA_CPP=…/dist/index.js)');
    return;
  }
  const { dir, prompt } = options;
  const steps = options.quick ? 8 : 16;
  const rounds = options.quick ? 1 : 3;
  const cores = Math.min(2, availableParallelism());
  const threads = cores > 1 ? [1, cores] : [1];

  const shapes = options.shapes ?? ['4b', '30b'];
  if (shapes.includes('4b')) await nano4b(dir, prompt, steps, rounds, threads);
  if (shapes.includes('30b')) await nano30b(dir, prompt, steps, threads.at(-1)!);
}

/** The Nano 4B table: BF16 → edgetron packs and GGUFs of the same weights. */
async function nano4b(dir: string, prompt: number, steps: number, rounds: number, threads: readonly number[]): Promise<void> {
  const bf16 = join(dir, 'nano-4b-bf16');
  if (!existsSync(join(bf16, 'model.safetensors'))) {
    process.stderr.write(`writing the nano-4b preset (BF16, 7.4 GiB) to ${bf16} …\n`);
    await synthesize({ preset: 'nano-4b', seed: 1, out: bf16, dtype: 'bf16', ifMissing: true });
  }
  const pack = await once(join(dir, 'nano-4b-nvfp4'), 'converting to nvfp4 (BF16 embedding and head)', (out) => convertCheckpoint(bf16, out, { quant: 'nvfp4', shardMb: 512, maxMemoryMb: 1024 }));
  const all4 = await once(join(dir, 'nano-4b-nvfp4-all-linear-4bit'), 'converting to nvfp4 (every linear, embedding and head in 4 bits)', (out) =>
    convertCheckpoint(bf16, out, { quant: 'nvfp4', policy: 'all-linear', quantizeHead: true, quantizeEmbedding: true, shardMb: 512, maxMemoryMb: 1024 }),
  );
  const q4 = await ggufOf(bf16, 'q4_0');
  const fp4 = await ggufOf(bf16, 'nvfp4');
  const configs: Config[] = threads.flatMap((t) => [
    { label: 'llama.cpp q4_0', engine: 'llama' as const, path: q4, threads: t },
    { label: 'llama.cpp nvfp4', engine: 'llama' as const, path: fp4, threads: t },
    { label: 'edgetron nvfp4 (Nano policy), BF16 head', engine: 'edgetron' as const, path: pack, threads: t },
    { label: 'edgetron nvfp4 (all linears), 4-bit head', engine: 'edgetron' as const, path: all4, threads: t },
    ...(t === 1 ? [{ label: 'edgetron BF16 (3 shards)', engine: 'edgetron' as const, path: bf16, threads: t }] : []),
  ]);
  runTable(`Nano 4B shape (42 layers, synthetic weights), prompt ${prompt} tokens, ${steps} greedy decode steps, medians of ${rounds} interleaved round(s)`, configs, rounds, prompt, steps);
}

/** The Nano 30B-A3B table: nvfp4 at synth, the same weights as a q4_0 GGUF, on `t` threads. */
async function nano30b(dir: string, prompt: number, steps: number, t: number): Promise<void> {
  const moe = join(dir, 'nano-30b-nvfp4');
  if (!existsSync(join(moe, 'model.safetensors'))) {
    process.stderr.write(`writing the nano preset (30B-A3B, nvfp4, ~18 GB) to ${moe} …\n`);
    await synthesize({ preset: 'nano', seed: 1, out: moe, dtype: 'bf16', quant: 'nvfp4', ifMissing: true });
  }
  const moeQ4 = await ggufOf(moe, 'q4_0');
  runTable(
    `Nano 30B-A3B shape (52 layers, 128 experts, synthetic weights), ${t} threads, prompt ${prompt} tokens, ${steps} greedy decode steps, 1 round`,
    [
      { label: 'llama.cpp q4_0', engine: 'llama', path: moeQ4, threads: t },
      { label: 'edgetron nvfp4 (shards)', engine: 'edgetron', path: moe, threads: t },
    ],
    1,
    prompt,
    steps,
  );
}
