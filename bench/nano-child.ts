// One measurement of bench/nano.ts, in its own process so that its load time and peak RSS are
// its own: `node dist/bench/nano-child.js ENGINE PATH THREADS PROMPT STEPS` with ENGINE edgetron
// (an edge pack or HF folder on the wasm backend, split over shard threads when the memory plan
// says so) or llama (a GGUF on node-llama-cpp's CPU build). Prints one JSON line: loadMs,
// prefillTokS, decodeTokS, peakRssMiB, shards.

import { loadForCli } from '../cli/load.js';
import { importLlamaCpp, llamaRun } from './llamacpp.js';
import { benchPrompt, timeGreedy } from './model-speed.js';

const [engine, path, threadsArg, promptArg, stepsArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const promptLen = Number(promptArg);
const steps = Number(stepsArg);

async function edgetron() {
  const loaded = await loadForCli(path, 'wasm', { threads }, { requestedContext: promptLen + steps + 1 });
  const { model } = loaded.session;
  const prompt = benchPrompt(promptLen, model.config.vocabSize);
  const warm = model.newSequence(4); // JIT tier-up before the timed pass
  model.forward(warm, prompt.subarray(0, 2));
  warm.free();
  const { prefillMs, decodeMs } = timeGreedy(model, prompt, steps);
  const row = { loadMs: loaded.session.loadMs, prefillTokS: promptLen / (prefillMs / 1e3), decodeTokS: steps / (decodeMs / 1e3), shards: loaded.plan.shards.length };
  await loaded.close();
  return row;
}

async function llama() {
  const nlc = await importLlamaCpp();
  if (!nlc) throw new Error('node-llama-cpp is not installed');
  const cpp = await nlc.getLlama({ gpu: false, build: 'never' });
  // the GGUF's vocabulary is the checkpoint's; the bench passes PROMPT ids below it
  const vocab = Number(process.env.BENCH_VOCAB ?? 131072);
  const r = await llamaRun(cpp, path, Array.from(benchPrompt(promptLen, vocab)), steps, threads);
  return { ...r, shards: 1 };
}

const row = engine === 'llama' ? await llama() : await edgetron();
process.stdout.write(`${JSON.stringify({ ...row, peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
process.exit(0);
