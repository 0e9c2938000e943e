// `npm run bench:gpu` (DESIGN §8): prefill and decode tokens/s of the webgpu backend on a real
// GPU, for the `small` preset (f32) and the `medium` preset (bf16), written by the seeded synth
// into models/bench/ on first use. Decode is greedy over the logits each step reads back; the
// last table compares that readback (V floats) with the on-device argmax (`greedy`, 4 bytes).
// On a machine with no adapter, or only a software one (SwiftShader, llvmpipe), it says so and
// exits 0: CPU WebGPU is for correctness, not speed. Finishes in well under 5 minutes.
// Usage: node dist/bench/gpu.js [--prompt N] [--decode N]

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Model } from '../engine/core/model.js';
import { openSession } from '../engine/core/session.js';
import { probeWebGpu, webgpuBackend, type WebGpuModel } from '../gpu/index.js';
import { packageRoot } from '../runtime/paths.js';
import { openCheckpoint } from '../weights-tools/checkpoint.js';
import { synthesize, type SynthDType } from '../weights-tools/synth.js';

const { values: opts } = parseArgs({ options: { prompt: { type: 'string', default: '128' }, decode: { type: 'string', default: '64' } } });
const PROMPT = Number(opts.prompt);
const DECODE = Number(opts.decode);
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software/i;

interface Row {
  readonly model: string;
  readonly loadS: number;
  readonly prefillTokS: number;
  readonly decodeTokS: number;
  readonly headMs: number;
  readonly greedyMs: number;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

async function bench(preset: 'small' | 'medium', dtype: SynthDType): Promise<Row> {
  const dir = join(packageRoot(), 'models', 'bench', `${preset}-${dtype}`);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    process.stderr.write(`writing the ${preset} preset (${dtype}) to ${dir} …\n`);
    await synthesize({ preset, seed: 1, out: dir, dtype, ifMissing: true });
  }
  const ckpt = await openCheckpoint(dir);
  const session = await openSession(ckpt, webgpuBackend);
  const model: Model = session.model;
  const gpu = model.ops as WebGpuModel;
  const V = model.config.vocabSize;
  const prompt = Int32Array.from({ length: PROMPT }, (_, i) => (i * 7919 + 13) % V);
  const warm = model.newSequence(8); // pipelines compile on first use
  model.forward(warm, prompt.subarray(0, 4));
  model.forward(warm, prompt.subarray(4, 5));
  warm.free();

  const seq = model.newSequence(PROMPT + DECODE + 1);
  let t0 = performance.now();
  let logits = model.forward(seq, prompt);
  const prefillMs = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < DECODE; i++) logits = model.forward(seq, Int32Array.of(argmax(logits)));
  const decodeMs = performance.now() - t0;
  seq.free();

  // one hidden row: logits read back and argmax on the host, against argmax on the device
  const h = gpu.upload(new Float32Array(model.config.dModel).fill(0.01), 1, model.config.dModel);
  const time = (f: () => unknown) => {
    f();
    const s = performance.now();
    for (let i = 0; i < 10; i++) f();
    return (performance.now() - s) / 10;
  };
  const headMs = time(() => argmax(gpu.head(h)));
  const greedyMs = time(() => gpu.greedy(h));
  session.dispose();
  await ckpt.store.close();
  return { model: `${preset} ${dtype}`, loadS: session.loadMs / 1e3, prefillTokS: PROMPT / (prefillMs / 1e3), decodeTokS: DECODE / (decodeMs / 1e3), headMs, greedyMs };
}

async function main(): Promise<void> {
  const { info, reason } = await probeWebGpu();
  if (!info) {
    console.log(`bench:gpu: no WebGPU adapter on this machine (${reason}); nothing to benchmark.`);
    return;
  }
  if (info.isFallback || SOFTWARE.test(info.adapter)) {
    console.log(`bench:gpu: only a software adapter (${info.adapter}): this is a CPU-only machine; WebGPU here is for correctness tests, not speed. Nothing to benchmark.`);
    return;
  }
  console.log(`bench:gpu — adapter ${info.adapter}; shader-f16 ${info.nativeF16}, subgroups ${info.subgroups}, max binding ${(info.maxBindingBytes / 2 ** 20).toFixed(0)} MiB`);
  console.log(`prompt ${PROMPT} tokens, ${DECODE} greedy decode steps (logits read back every step)\n`);
  const rows = [await bench('small', 'f32'), await bench('medium', 'bf16')];
  console.log('model        | load s | prefill tok/s | decode tok/s | head+host argmax ms | device argmax ms');
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(12)} | ${r.loadS.toFixed(1).padStart(6)} | ${r.prefillTokS.toFixed(1).padStart(13)} | ${r.decodeTokS.toFixed(1).padStart(12)} | ${r.headMs.toFixed(2).padStart(19)} | ${r.greedyMs.toFixed(2).padStart(16)}`,
    );
  }
}

await main();
