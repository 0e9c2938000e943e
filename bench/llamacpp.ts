// `npm run bench`, last section (DESIGN §8): llama.cpp against edgetron on the SAME weights. The
// `small` and `medium` presets (f32, seed 1) are exported with edgetron's GGUF writer
// (weights-tools/gguf-writer.ts, as `edgetron convert IN OUT.gguf --quant Q`) to f16, q8_0, q4_0
// and nvfp4; llama.cpp (`node-llama-cpp`, CPU build, 1 thread) runs each, and edgetron's wasm
// backend (1 thread) runs the nvfp4 export, which it loads as its own nvfp4 format (lm_head
// included; the embedding is f16 in llama.cpp's NVFP4 files). Both get the same prompt
// (model-speed.ts benchPrompt) and decode greedily; llama.cpp's prefill is the time to its
// first token, its decode rate the tokens after it. Where the machine has more than one core, a
// second table runs llama.cpp's q4_0 and nvfp4 and edgetron's kernel threads
// (assembly/backend/threads.ts) on every core.
//
// node-llama-cpp is not a dependency (≈ 700 MB of prebuilt binaries, DESIGN §7): install it
// with `npm install --no-save node-llama-cpp@3.22.1` or point NODE_LLAMA_CPP at its entry file
// (dist/index.js); without it the section prints one line saying so and is skipped.

import { existsSync, renameSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createWasmBackend, wasmBackend } from '../assembly/backend/index.js';
import { packageRoot } from '../runtime/paths.js';
import { openCheckpoint } from '../weights-tools/checkpoint.js';
import { planGgufExport, writeGgufFile, type GgufQuant } from '../weights-tools/gguf-writer.js';
import { synthesize } from '../weights-tools/synth.js';
import { benchModel, benchPrompt } from './model-speed.js';
import { fmt, table } from './table.js';

const QUANTS: readonly GgufQuant[] = ['f16', 'q8_0', 'q4_0', 'nvfp4'];
const PRESETS = ['small', 'medium'] as const;
type Preset = (typeof PRESETS)[number];

/** The parts of node-llama-cpp the bench calls. */
export interface LlamaCpp {
  getLlama(options: { gpu: false; build: 'never' }): Promise<{
    loadModel(options: { modelPath: string }): Promise<{
      createContext(options: { contextSize: number; threads: number }): Promise<{
        getSequence(): { evaluate(tokens: number[], options: { temperature: number }): AsyncIterable<unknown> };
        dispose(): Promise<void>;
      }>;
      dispose(): Promise<void>;
    }>;
  }>;
}

export interface LlamaCppOptions {
  readonly quick: boolean;
  /** Prompt tokens (as the rest of the bench). */
  readonly prompt: number;
  /** Presets to run (default small and medium). */
  readonly presets?: readonly Preset[];
}

/**
 * node-llama-cpp (NODE_LLAMA_CPP or the installed package), or null when it is not installed.
 * @example const nlc = await importLlamaCpp(); if (nlc) await nlc.getLlama({ gpu: false, build: 'never' });
 */
export async function importLlamaCpp(): Promise<LlamaCpp | null> {
  const entry = process.env.NODE_LLAMA_CPP ? pathToFileURL(process.env.NODE_LLAMA_CPP).href : 'node-llama-cpp';
  return ((await import(entry).catch(() => null)) as LlamaCpp | null) ?? null;
}

/** The preset's f32 checkpoint under models/bench (written once). */
async function presetDir(preset: Preset): Promise<string> {
  const dir = join(packageRoot(), 'models', 'bench', `${preset}-f32`);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    process.stderr.write(`writing the ${preset} preset (f32) to ${dir} …\n`);
    await synthesize({ preset, seed: 1, out: dir, dtype: 'f32', ifMissing: true });
  }
  return dir;
}

/**
 * dir exported as a GGUF with projections in `quant` (written once, beside the checkpoint).
 * @example const q4 = await ggufOf('models/bench/nano-4b-bf16', 'q4_0'); // …-q4_0.gguf
 */
export async function ggufOf(dir: string, quant: GgufQuant): Promise<string> {
  const path = `${dir}-${quant}.gguf`;
  if (existsSync(path)) return path;
  process.stderr.write(`exporting ${path} …\n`);
  const ckpt = await openCheckpoint(dir);
  try {
    await writeGgufFile(`${path}.part`, planGgufExport(ckpt, quant));
  } finally {
    await ckpt.store.close();
  }
  renameSync(`${path}.part`, path);
  return path;
}

/**
 * llama.cpp on one GGUF, on `threads` threads: load ms, prefill (time to the first token) and decode tok/s.
 * @example const r = await llamaRun(llama, 'm-q4_0.gguf', prompt, 8, 2);
 */
export async function llamaRun(llama: Awaited<ReturnType<LlamaCpp['getLlama']>>, path: string, prompt: number[], steps: number, threads = 1) {
  const loadStart = performance.now();
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: prompt.length + steps + 16, threads });
  const loadMs = performance.now() - loadStart;
  const t0 = performance.now();
  let first = 0;
  let n = 0;
  for await (const _ of context.getSequence().evaluate(prompt, { temperature: 0 })) {
    if (n++ === 0) first = performance.now();
    if (n === steps + 1) break;
  }
  const last = performance.now();
  await context.dispose();
  await model.dispose();
  return { loadMs, prefillTokS: prompt.length / ((first - t0) / 1e3), decodeTokS: steps / ((last - first) / 1e3) };
}

/**
 * The llama.cpp table: f16 / q8_0 / q4_0 / nvfp4 on llama.cpp and nvfp4 on edgetron, per preset.
 * @example await benchLlamaCpp({ quick: false, prompt: 32 });
 */
export async function benchLlamaCpp(options: LlamaCppOptions): Promise<void> {
  const nlc = await importLlamaCpp();
  if (!nlc) {
    console.log('\nllama.cpp rows skipped: node-llama-cpp is not installed (npm install --no-save node-llama-cpp@3.22.1, or NODE_LLAMA_CPP=…/dist/index.js)');
    return;
  }
  const llama = await nlc.getLlama({ gpu: false, build: 'never' });
  const steps = options.quick ? 8 : 32;
  for (const preset of options.presets ?? PRESETS) {
    const dir = await presetDir(preset);
    const rows: (string | number)[][] = [];
    let q4 = NaN;
    const probe = await openCheckpoint(dir); // every export has the preset's vocabulary
    const prompt = Array.from(benchPrompt(options.prompt, probe.config.vocabSize));
    await probe.store.close();
    for (const quant of QUANTS) {
      const path = await ggufOf(dir, quant);
      const r = await llamaRun(llama, path, prompt, steps);
      if (quant === 'q4_0') q4 = r.decodeTokS;
      rows.push([`llama.cpp ${quant}`, r.prefillTokS, r.decodeTokS]);
      if (quant === 'nvfp4') {
        const e = await benchModel(path, wasmBackend, options.prompt, steps);
        rows.push(['edgetron wasm nvfp4 (same file)', e.prefillTokS, e.decodeTokS]);
      }
    }
    const ours = rows[rows.length - 1][2] as number;
    table(
      `${preset} preset, the same weights as GGUF exports, 1 thread, prompt ${options.prompt} tokens, ${steps} greedy decode steps`,
      ['engine / weights', 'prefill tok/s', 'decode tok/s', 'decode ÷ llama.cpp q4_0'],
      rows.map((r) => [...r, fmt((r[2] as number) / q4)]),
    );
    console.log(`edgetron nvfp4 / llama.cpp q4_0 decode on ${preset}: ${fmt(ours / q4)}× (goal on medium ≥ 0.7)`);
    const threads = availableParallelism();
    if (threads > 1) {
      // every core: llama.cpp's q4_0 and nvfp4, and edgetron's kernel threads (relaxed build) on the nvfp4 file
      const nvfp4 = await ggufOf(dir, 'nvfp4');
      const multi: (string | number)[][] = [];
      for (const quant of ['q4_0', 'nvfp4'] as const) {
        const r = await llamaRun(llama, await ggufOf(dir, quant), prompt, steps, threads);
        multi.push([`llama.cpp ${quant}`, r.prefillTokS, r.decodeTokS]);
      }
      const e = await benchModel(nvfp4, createWasmBackend({ threads }), options.prompt, steps);
      multi.push(['edgetron wasm nvfp4 (same file)', e.prefillTokS, e.decodeTokS]);
      const q4multi = multi[0][2] as number;
      table(
        `${preset} preset, the same GGUF files, ${threads} threads, prompt ${options.prompt} tokens, ${steps} greedy decode steps`,
        ['engine / weights', 'prefill tok/s', 'decode tok/s', 'decode ÷ llama.cpp q4_0'],
        multi.map((r) => [...r, fmt((r[2] as number) / q4multi)]),
      );
    }
  }
}
