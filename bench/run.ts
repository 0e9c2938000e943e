// `npm run bench` (DESIGN §8): speed measured side by side in one run and printed as tables of
// ratios. Never asserted in tests.
//
// 1. The in-WASM memory-bandwidth ceiling: f32_sum_probe streams a 256 MiB buffer with v128
//    loads (every byte read once, nothing stored).
// 2. Matvec (decode's kernel) GB/s for f32 and bf16 weights, beside that ceiling; matmul
//    (prefill's kernel) GFLOP/s.
// 3. The `small` preset (f32): prefill and decode tokens/s on wasm (SIMD), wasm-scalar and
//    reference, the wasm/reference ratio, load time, and the decode ceiling
//    (active weight bytes per token ÷ measured bandwidth).
//
// Options: --quick (fewer repetitions), --model-dir DIR (where the `small` preset is written).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { instantiateKernels, wasmBackend, wasmScalarBackend, type WasmKernels } from '../assembly/backend/index.js';
import { readKernelWasm } from '../assembly/backend/node-wasm.js';
import type { Backend } from '../engine/backend.js';
import type { ModelConfig } from '../engine/config.js';
import { referenceBackend } from '../engine/reference/index.js';
import { openSession } from '../engine/session.js';
import { openCheckpoint, packageRoot } from '../weights-tools/checkpoint.js';
import { synthesize } from '../weights-tools/synth.js';

const { values: opts } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, 'model-dir': { type: 'string' } },
});
const QUICK = opts.quick === true;
const GB = 1e9;

function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${title}\n${line(cells[0])}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}

/** Median of `reps` timed calls after `warm` untimed ones, in ms. */
function timeMs(fn: () => void, reps: number, warm: number): number {
  for (let i = 0; i < warm; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

function fillRandom(k: WasmKernels, ptr: number, bytes: number, seed: number): void {
  const u32 = k.heap.i32(ptr, bytes >>> 2);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < u32.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    // a float in [-1, 1) for f32 (exponent of 0.5..1 with a random sign); two such bf16 halves
    u32[i] = (s & 0x807fffff) | 0x3f000000;
  }
}

function bandwidthCeiling(k: WasmKernels): number {
  const bytes = 256 << 20;
  const p = k.heap.alloc(bytes);
  fillRandom(k, p, bytes, 7);
  const ms = timeMs(() => k.exports.f32_sum_probe(p, bytes >>> 2), QUICK ? 5 : 15, 3);
  k.heap.free(p);
  return bytes / (ms / 1e3) / GB;
}

interface KernelRow {
  stem: string;
  shape: string;
  mib: number;
  gbs: number;
  pct: number;
  gflops: number;
}

function matvecRow(k: WasmKernels, dtype: 'f32' | 'bf16', K: number, N: number, ceiling: number): KernelRow {
  const wBytes = K * N * (dtype === 'f32' ? 4 : 2);
  const w = k.heap.alloc(wBytes);
  const x = k.heap.alloc(K * 4);
  const y = k.heap.alloc(N * 4);
  fillRandom(k, w, wBytes, 3);
  fillRandom(k, x, K * 4, 5);
  const fn = dtype === 'f32' ? k.exports.f32_matvec : k.exports.bf16_matvec;
  const reps = wBytes > 32 << 20 ? (QUICK ? 5 : 15) : QUICK ? 50 : 300;
  const ms = timeMs(() => fn(x, w, y, K, N), reps, 10);
  for (const p of [w, x, y]) k.heap.free(p);
  const gbs = wBytes / (ms / 1e3) / GB;
  return { stem: `${dtype}_matvec`, shape: `${N}×${K}`, mib: wBytes / 2 ** 20, gbs, pct: (100 * gbs) / ceiling, gflops: (2 * K * N) / (ms / 1e3) / GB };
}

function matmulRow(k: WasmKernels, dtype: 'f32' | 'bf16', T: number, K: number, N: number, ceiling: number): KernelRow {
  const wBytes = K * N * (dtype === 'f32' ? 4 : 2);
  const w = k.heap.alloc(wBytes);
  const x = k.heap.alloc(T * K * 4);
  const y = k.heap.alloc(T * N * 4);
  fillRandom(k, w, wBytes, 3);
  fillRandom(k, x, T * K * 4, 5);
  const fn = dtype === 'f32' ? k.exports.f32_matmul : k.exports.bf16_matmul;
  const ms = timeMs(() => fn(x, w, y, T, K, N), QUICK ? 3 : 9, 2);
  for (const p of [w, x, y]) k.heap.free(p);
  const gbs = wBytes / (ms / 1e3) / GB;
  return { stem: `${dtype}_matmul T=${T}`, shape: `${N}×${K}`, mib: wBytes / 2 ** 20, gbs, pct: (100 * gbs) / ceiling, gflops: (2 * T * K * N) / (ms / 1e3) / GB };
}

/** Bytes of weights one decoded token reads (embedding row excluded; top-K experts only). */
function activeWeightBytes(c: ModelConfig, bytesPerWeight: number): number {
  const d = c.dModel;
  let n = c.vocabSize * d; // lm_head
  for (const kind of c.layerKinds) {
    if (kind === 'M') n += c.mamba!.inProjDim * d + d * c.mamba!.dInner;
    if (kind === '*') n += 2 * d * c.attention!.nHeads * c.attention!.headDim + 2 * d * c.attention!.nKvHeads * c.attention!.headDim;
    if (kind === 'E') {
      const m = c.moe!;
      const w = m.latentDim ?? d;
      n += m.nExperts * d + m.topK * 2 * w * m.expertDim + 2 * d * m.sharedDim + (m.latentDim ? 2 * d * m.latentDim : 0);
    }
    if (kind === '-') n += 2 * d * c.mlpDim!;
  }
  return n * bytesPerWeight;
}

interface ModelRow {
  backend: string;
  loadMs: number;
  prefillTokS: number;
  decodeTokS: number;
}

async function benchModel(dir: string, backend: Backend, promptLen: number, decodeSteps: number): Promise<ModelRow> {
  const ckpt = await openCheckpoint(dir);
  const session = await openSession(ckpt, backend);
  const { model } = session;
  const V = model.config.vocabSize;
  const prompt = Int32Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % V);
  // warm-up: one short prefill and decode step on a throwaway sequence (JIT tier-up)
  const warm = model.newSequence(8);
  model.forward(warm, prompt.subarray(0, 2));
  model.forward(warm, prompt.subarray(2, 3));
  warm.free();

  const seq = model.newSequence(promptLen + decodeSteps + 1);
  let t0 = performance.now();
  let logits = model.forward(seq, prompt);
  const prefillMs = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < decodeSteps; i++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
    logits = model.forward(seq, Int32Array.of(best));
  }
  const decodeMs = performance.now() - t0;
  seq.free();
  session.dispose();
  await ckpt.store.close();
  return { backend: backend.name, loadMs: session.loadMs, prefillTokS: promptLen / (prefillMs / 1e3), decodeTokS: decodeSteps / (decodeMs / 1e3) };
}

async function main(): Promise<void> {
  const kernels = await instantiateKernels(await readKernelWasm(true), true);
  const ceiling = bandwidthCeiling(kernels);
  console.log(`edgetron bench — Node ${process.version}, ${QUICK ? 'quick' : 'full'} run`);
  console.log(`in-WASM read-bandwidth ceiling (f32_sum_probe over 256 MiB, SIMD): ${fmt(ceiling)} GB/s`);

  const rows: KernelRow[] = [];
  for (const [K, N] of [
    [768, 768],
    [2048, 2048],
    [4096, 4096],
    [4096, 8192],
  ]) {
    for (const dtype of ['f32', 'bf16'] as const) rows.push(matvecRow(kernels, dtype, K, N, ceiling));
  }
  for (const dtype of ['f32', 'bf16'] as const) rows.push(matmulRow(kernels, dtype, 32, 2048, 2048, ceiling));
  table(
    'Kernels (wasm SIMD, 1 thread); % = weight-read GB/s ÷ ceiling',
    ['kernel', 'W shape', 'W MiB', 'GB/s', '% ceiling', 'GFLOP/s'],
    rows.map((r) => [r.stem, r.shape, r.mib, r.gbs, `${r.pct.toFixed(0)}%`, r.gflops]),
  );

  const dir = opts['model-dir'] ?? join(packageRoot(), 'models', 'bench', 'small-f32');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    process.stderr.write(`writing the small preset (f32) to ${dir} …\n`);
    await synthesize({ preset: 'small', seed: 1, out: dir, dtype: 'f32', ifMissing: true });
  }
  const probe = await openCheckpoint(dir);
  const config = probe.config;
  await probe.store.close();
  const prompt = QUICK ? 16 : 32;
  const results: ModelRow[] = [];
  results.push(await benchModel(dir, wasmBackend, prompt, QUICK ? 8 : 32));
  results.push(await benchModel(dir, wasmScalarBackend, prompt, QUICK ? 4 : 8));
  results.push(await benchModel(dir, referenceBackend, prompt, QUICK ? 2 : 4));
  const ref = results[results.length - 1];
  const decodeCeiling = (ceiling * GB) / activeWeightBytes(config, 4);
  table(
    `small preset (f32, d ${config.dModel}, ${config.nTrunkLayers} layers), prompt ${prompt} tokens; decode ceiling = ${fmt(decodeCeiling)} tok/s (active weight bytes ÷ ceiling)`,
    ['backend', 'load ms', 'prefill tok/s', 'decode tok/s', 'prefill ×ref', 'decode ×ref', 'decode % ceiling'],
    results.map((r) => [
      r.backend,
      r.loadMs,
      r.prefillTokS,
      r.decodeTokS,
      r.prefillTokS / ref.prefillTokS,
      r.decodeTokS / ref.decodeTokS,
      `${((100 * r.decodeTokS) / decodeCeiling).toFixed(0)}%`,
    ]),
  );
  console.log(`\npeak RSS ${fmt(process.resourceUsage().maxRSS / 1024)} MiB`);
}

await main();
