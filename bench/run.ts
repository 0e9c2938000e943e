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
// 4. 4-bit weights (DESIGN §3, spec §14.1): nvfp4 and nvfp4-s24 matvec GB/s (weight bytes with
//    scales and positions) for the f32-FMA inner loop, the int8-activation one (…_q8) and the
//    int16-activation one (…_q16, the backend's decode path), matmul GB/s; the `small` preset converted (all-linear policy) to nvfp4 and nvfp4-s24
//    (magnitude), each also with lm_head in 4-bit (--quant-head; the Nano policy keeps it BF16),
//    run on wasm in interleaved rounds: decode / prefill tok/s, bytes per token,
//    nvfp4/f32 and s24/nvfp4 ratios with the rounds' spread; the KL divergence of each
//    conversion against f32 (weights-tools/quality.ts); the zero fraction of the experts'
//    relu² hidden vectors (what block skipping in down_proj could save).
//
// 5. The kernel builds: the model rows run on the build the engine picks by default (the
//    relaxed-SIMD one where it runs: int8-activation nvfp4 products, …_i8; Node 20 needs a V8
//    flag, which the driver turns on), and the SIMD build's (int16 activations) are kept beside
//    them for the 4-bit packs, with the KL of each build's nvfp4 against f32; the kernel table has
//    the relaxed build's int8 matvec in both weight layouts (ModelOpt, and rows4 as the backend
//    holds nvfp4 weights). Each 4-bit kernel row calls one matrix again and again, so matrices
//    smaller than the last-level cache are read from it; the decode kernels (rows4) are also run
//    "weights in DRAM": copies of the matrix filling 256 MiB, called in turn, as a large model's
//    decode reads its weights.
// 6. nvfp4-s24 (the backend's s24 kernel, …_gather, nvfp4s24_gather.ts: activations gathered per kept
//    weight) in the kernel table, and its A/B against the old s24 and the nvfp4 decodes in
//    interleaved rounds (bench/s24-gather.ts).
// The kernel rows of the variants the backend does not use (f32 FMA, q8, nvfp4-s24 q16) run on the
// bench build (build/edgetron-bench.wasm, assembly/backend/bench-kernels.ts), the others on the
// shipped builds.
//
// 7. With --nano (only this section): the Nemotron 3 Nano 4B and 30B-A3B shapes at full depth against llama.cpp on
//    the same weights (bench/nano.ts), both head types, 1 and 2 threads, load time and peak RSS.
//
// Options: --quick (fewer repetitions), --only-4bit (only the 4-bit kernel rows and section 4),
// --model-dir DIR (where the `small` preset is written), --nano [--nano-dir DIR] [--nano-shapes 4b,30b].

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createWasmBackend, instantiateKernels, loadKernels, wasmBackend, wasmScalarBackend, type WasmKernels } from '../assembly/backend/index.js';
import { loadBenchKernels, type BenchKernelExports } from '../assembly/backend/bench-kernels.js';
import { readKernelBuild } from '../assembly/backend/node-wasm.js';
import type { Backend } from '../engine/core/backend.js';
import type { ModelConfig } from '../engine/core/config.js';
import type { TextCodec } from '../engine/text/text.js';
import { Model } from '../engine/core/model.js';
import { referenceBackend, ReferenceModel } from '../engine/reference/index.js';
import { POSITION_CODES } from '../engine/formats/sparse24.js';
import { openSession, requireText } from '../engine/core/session.js';
import { expectedTensors, headTensorName, sidecarNames, validateWeights, type TensorEntry } from '../engine/core/weights.js';
import { openCheckpoint } from '../weights-tools/checkpoint.js';
import { convertCheckpoint } from '../weights-tools/convert.js';
import { compareQuantizations, klOfLogits, promptLogits, QUALITY_PROMPTS, type QualityRow } from '../weights-tools/quality.js';
import { synthesize } from '../weights-tools/synth.js';
import { benchLlamaCpp } from './llamacpp.js';
import { benchNano } from './nano.js';
import { benchModel, benchModelsInterleaved, type ModelRow } from './model-speed.js';
import { fmt, table } from './table.js';
import { benchEmbed } from './embed.js';
import { benchTrainMamba2 } from './train-mamba2.js';
import { benchMtp } from './mtp.js';
import { benchS24Gather } from './s24-gather.js';
import { packageRoot } from '../runtime/paths.js';

const { values: opts } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, 'only-4bit': { type: 'boolean', default: false }, 'model-dir': { type: 'string' }, nano: { type: 'boolean', default: false }, 'nano-dir': { type: 'string' }, 'nano-shapes': { type: 'string' } },
});
const QUICK = opts.quick === true;
const ONLY_4BIT = opts['only-4bit'] === true;
// the build the engine picks by default (wasmBackend: relaxed SIMD where it runs) beside the SIMD one
const DEFAULT_KERNELS = await loadKernels();
const DEFAULT_BUILD = DEFAULT_KERNELS.build;
const simdBackend = createWasmBackend({ build: 'simd' }, 'wasm-simd');
/** Threads of the threaded rows: every core this process may use (the relaxed build's kernel threads, assembly/backend/threads.ts). */
const THREADS = availableParallelism();
const threadedBackend = createWasmBackend({ threads: THREADS }, `wasm-${THREADS}-threads`);
const GB = 1e9;

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

type Fp4 = 'nvfp4' | 'nvfp4-s24';

/** k's exports as the bench build's (assembly/backend/bench-kernels.ts), which the f32, q8 and nvfp4-s24 q16 rows need. */
function benchExports(k: WasmKernels): BenchKernelExports {
  if (!('nvfp4_matvec_q8' in k.exports)) throw new Error(`the f32, q8 and nvfp4-s24 q16 rows run on the bench build, not ${k.build}`);
  return k.exports as BenchKernelExports;
}

/** Random 4-bit weights (N, K) in the heap: codes, E4M3 scales near 1, legal positions. */
function fp4Weights(k: WasmKernels, format: Fp4, K: number, N: number) {
  const codes = (N * K) / (format === 'nvfp4' ? 2 : 4);
  const c = k.heap.alloc(codes);
  const s = k.heap.alloc((N * K) / 16);
  const p = k.heap.alloc(format === 'nvfp4' ? 16 : (N * K) / 8);
  fillRandom(k, c, codes, 3);
  k.heap.u8(s, (N * K) / 16).forEach((_, i, a) => (a[i] = 0x30 + (i % 16)));
  if (format === 'nvfp4-s24') k.heap.u8(p, (N * K) / 8).forEach((_, i, a) => (a[i] = POSITION_CODES[i % 6] | (POSITION_CODES[(i >> 3) % 6] << 4)));
  const bytes = codes + (N * K) / 16 + (format === 'nvfp4' ? 0 : (N * K) / 8);
  return { c, s, p, bytes, free: () => [c, s, p].forEach((q) => k.heap.free(q)) };
}

/** Bytes of weight copies a "weights in DRAM" kernel row cycles through: well above the last-level caches (48 MiB L3 on the bench VM). */
const DRAM_BYTES = 256 << 20;

/**
 * One 4-bit kernel row. Default: one matrix called again and again, so matrices smaller than the
 * last-level cache are read from it; `inDram` (rows4 paths): enough copies of the packed matrix to
 * exceed the caches, called in turn, as a decode of a large model reads its weights.
 */
function fp4Row(k: WasmKernels, format: Fp4, path: 'f32' | 'q8' | 'q16' | 'i8' | 'i8 rows4' | 'gather' | 'gather rows4', T: number, K: number, N: number, ceiling: number, inDram = false): KernelRow {
  const w = fp4Weights(k, format, K, N);
  const x = k.heap.alloc(T * K * 4);
  const y = k.heap.alloc(T * N * 4);
  const e = k.exports;
  const variant = path === 'f32' || path === 'q8' || (path === 'q16' && format === 'nvfp4-s24');
  const b = variant ? benchExports(k) : null; // the variants the backend does not use, in the bench build
  const scratch = k.heap.alloc(T * Math.max(b ? b.q8_scratch_bytes(K) : 0, e.q16_scratch_bytes(K), e.i8_scratch_bytes(K), e.gather_scratch_bytes(K)));
  fillRandom(k, x, T * K * 4, 5);
  // the backend's resident layout (fp4_rows4.ts, nvfp4s24_gather.ts), once or in copies that exceed the caches
  const copies = path.endsWith('rows4') ? (inDram ? Math.ceil(DRAM_BYTES / w.bytes) : 1) : 0;
  const packed = Array.from({ length: copies }, () => k.heap.alloc(w.bytes));
  for (const dst of packed) {
    if (format === 'nvfp4') e.nvfp4_pack_rows4(w.c, w.s, dst, K, N);
    else e.nvfp4s24_pack_rows4(w.c, w.p, w.s, dst, K, N);
  }
  let turn = 0;
  const next = () => packed[turn++ % copies];
  const fn =
    path === 'gather rows4'
      ? () => e.nvfp4s24_matmul_gather_rows4(x, scratch, next(), 0.01, y, T, K, N)
      : path === 'gather'
      ? () => e.nvfp4s24_matmul_gather(x, scratch, w.c, w.p, w.s, 0.01, y, T, K, N)
      : path === 'i8 rows4'
      ? () => e.nvfp4_matmul_i8_rows4(x, scratch, next(), 0.01, y, 1, K, N)
      : path === 'i8'
      ? () => e.nvfp4_matmul_i8(x, scratch, w.c, w.s, 0.01, y, 1, K, N)
      : path === 'q16'
      ? format === 'nvfp4'
        ? () => e.nvfp4_matmul_q16(x, scratch, w.c, w.s, 0.01, y, T, K, N)
        : () => b!.nvfp4s24_matmul_q16(x, scratch, w.c, w.p, w.s, 0.01, y, T, K, N)
      : path === 'q8'
        ? format === 'nvfp4'
          ? () => b!.nvfp4_matvec_q8(x, scratch, w.c, w.s, 0.01, y, K, N)
          : () => b!.nvfp4s24_matvec_q8(x, scratch, w.c, w.p, w.s, 0.01, y, K, N)
        : format === 'nvfp4'
          ? () => b!.nvfp4_matmul(x, w.c, w.s, 0.01, y, T, K, N)
          : () => b!.nvfp4s24_matmul(x, w.c, w.p, w.s, 0.01, y, T, K, N);
  const reps = inDram ? 2 * copies : T > 1 ? (QUICK ? 3 : 9) : w.bytes > 8 << 20 ? (QUICK ? 5 : 15) : QUICK ? 50 : 300;
  const ms = timeMs(fn, reps, inDram ? copies : T > 1 ? 2 : 10);
  w.free();
  for (const q of [x, y, scratch, ...packed]) k.heap.free(q);
  const gbs = w.bytes / (ms / 1e3) / GB;
  const suffix = (path === 'f32' ? '' : k.relaxed ? `_${path} (relaxed)` : `_${path}`) + (inDram ? `, weights in DRAM (${copies} copies)` : '');
  const stem = `${format === 'nvfp4' ? 'nvfp4' : 'nvfp4s24'}_${T > 1 ? `matmul${suffix} T=${T}` : `matvec${suffix}`}`;
  return { stem, shape: `${N}×${K}`, mib: w.bytes / 2 ** 20, gbs, pct: (100 * gbs) / ceiling, gflops: (2 * T * K * N) / (ms / 1e3) / GB };
}

/**
 * Bytes of weights one decoded token reads: every linear with its sidecars (scales, positions),
 * experts weighted by top-K / n_experts; the embedding only as the head when tied.
 */
function activeWeightBytes(c: ModelConfig, tensors: ReadonlyMap<string, TensorEntry>): number {
  const head = headTensorName(c);
  let n = 0;
  for (const spec of expectedTensors(c)) {
    if (!spec.linear || (spec.name === 'backbone.embeddings.weight' && head !== spec.name)) continue;
    const side = sidecarNames(spec.name);
    const bytes = [spec.name, side.scale, side.scale2, side.positions].reduce((b, name) => b + (tensors.get(name)?.byteLength ?? 0), 0);
    n += /\.experts\.\d+\./.test(spec.name) ? (bytes * c.moe!.topK) / c.moe!.nExperts : bytes;
  }
  return n;
}

/** Fraction of zero elements, and of all-zero 16-element blocks, in the experts' down_proj inputs (relu² hidden vectors). */
async function expertZeroFraction(dir: string, tokens: Int32Array): Promise<{ elements: number; blocks: number }> {
  const ckpt = await openCheckpoint(dir);
  const loaded = await referenceBackend.load(ckpt.config, validateWeights(ckpt.config, ckpt.store));
  const counts = { zeros: 0, n: 0, zeroBlocks: 0, blocks: 0 };
  (loaded as ReferenceModel).tensors.tap = (weight, x) => {
    if (!/\.experts\.\d+\.down_proj\./.test(weight)) return;
    for (let b = 0; b < x.data.length; b += 16) {
      let z = 0;
      for (let i = b; i < b + 16; i++) z += x.data[i] === 0 ? 1 : 0;
      counts.zeros += z;
      counts.n += 16;
      counts.zeroBlocks += z === 16 ? 1 : 0;
      counts.blocks++;
    }
  };
  const model = new Model(loaded);
  model.forward(model.newSequence(tokens.length), tokens, 'last');
  loaded.dispose();
  await ckpt.store.close();
  return { elements: counts.zeros / counts.n, blocks: counts.zeroBlocks / counts.blocks };
}

interface Fp4Run {
  label: string;
  backend: Backend;
  dir: string;
  bytes: number; // active weight bytes per token
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
const spread = (v: number[]) => (Math.max(...v) - Math.min(...v)) / median(v);

/** The bench's packs with lm_head quantised too (all-linear policy + quantizeHead), beside the policy's own. */
const HEAD_PACKS = [
  { name: 'nvfp4-head4', format: 'nvfp4', score: null },
  { name: 'nvfp4-s24-magnitude-head4', format: 'nvfp4-s24', score: 'magnitude' },
] as const;

/** Logits at every position of `prompts` for the model at `path` on wasm (default build unless `backend`), and its vocabulary size. */
async function wasmPromptLogits(path: string, prompts: (text: TextCodec) => Int32Array[], backend: Backend = wasmBackend): Promise<{ logits: Float32Array[]; prompts: Int32Array[]; V: number }> {
  const ckpt = await openCheckpoint(path);
  const session = await openSession(ckpt, backend);
  try {
    const tokens = prompts(requireText(session));
    return { logits: promptLogits(session.model, tokens), prompts: tokens, V: session.model.config.vocabSize };
  } finally {
    session.dispose();
    await ckpt.store.close();
  }
}

/** Convert `dir` into HEAD_PACKS under qdir and measure their KL against f32 on wasm (cached in head-quality.json). */
async function headPacks(dir: string, qdir: string): Promise<QualityRow[]> {
  const cache = join(qdir, 'head-quality.json');
  if (existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8')) as QualityRow[];
  process.stderr.write(`converting the small preset with a 4-bit lm_head in ${qdir} …\n`);
  const want = await wasmPromptLogits(dir, (text) => QUALITY_PROMPTS.map((p) => Int32Array.from(text.encode(p).slice(0, 32))));
  const rows: QualityRow[] = [];
  for (const p of HEAD_PACKS) {
    const out = join(qdir, p.name);
    const converted = await convertCheckpoint(dir, out, { quant: 'nvfp4', policy: 'all-linear', quantizeHead: true, sparse: p.score !== null, score: p.score ?? undefined });
    const got = await wasmPromptLogits(out, () => want.prompts);
    rows.push({ format: p.format, score: p.score, kl: klOfLogits(want.logits, got.logits, want.V), bytes: converted.bytes });
  }
  writeFileSync(cache, JSON.stringify(rows));
  return rows;
}

/** Section 4's model tables: quality of the conversions, then f32 / nvfp4 / s24 speed, interleaved. */
async function bench4bit(dir: string, config: ModelConfig, ceiling: number, f32Bytes: number, prompt: number): Promise<void> {
  // the conversions and their KL are cached beside the packs (a conversion with Wanda calibration takes minutes)
  const qdir = join(packageRoot(), 'models', 'bench', 'small-4bit');
  const cache = join(qdir, 'quality.json');
  let quality: QualityRow[];
  if (existsSync(cache)) quality = JSON.parse(readFileSync(cache, 'utf8')) as QualityRow[];
  else {
    process.stderr.write(`converting the small preset to nvfp4 and nvfp4-s24 in ${qdir} and measuring KL on wasm …\n`);
    quality = await compareQuantizations(dir, qdir, { policy: 'all-linear' }, 32, wasmBackend);
    writeFileSync(cache, JSON.stringify(quality));
  }
  table(
    'Quality: small preset, all-linear policy (router, embedding, head stay f32); KL(f32 ‖ quantised) of next-token distributions over QUALITY_PROMPTS',
    ['format', 'pruning score', 'mean KL (nats)', 'max KL', 'pack MiB'],
    quality.map((q) => [q.format, q.score ?? '—', q.kl.mean.toExponential(3), q.kl.max.toExponential(3), q.bytes / 2 ** 20]),
  );
  const headQuality = await headPacks(dir, qdir);
  table(
    'Quality with lm_head in 4-bit too (all-linear policy + --quant-head; for the speed rows below — NVIDIA\'s Nano policy keeps lm_head BF16)',
    ['format', 'pruning score', 'mean KL (nats)', 'max KL'],
    headQuality.map((q) => [q.format, q.score ?? '—', q.kl.mean.toExponential(3), q.kl.max.toExponential(3)]),
  );
  // the KL of the 4-bit-head nvfp4 pack on each build: the relaxed build's int8 activations add to the weights' error
  if (DEFAULT_BUILD !== 'simd') {
    const want = await wasmPromptLogits(dir, (text) => QUALITY_PROMPTS.map((p) => Int32Array.from(text.encode(p).slice(0, 32))));
    const kl = async (backend: Backend) => klOfLogits(want.logits, (await wasmPromptLogits(join(qdir, HEAD_PACKS[0].name), () => want.prompts, backend)).logits, want.V);
    const [byDefault, bySimd] = [await kl(wasmBackend), await kl(simdBackend)];
    table(
      `KL(f32 ‖ nvfp4, 4-bit head) by kernel build (f32 logits on the ${DEFAULT_BUILD} build)`,
      ['build', 'activations', 'mean KL (nats)', 'max KL'],
      [
        [`${DEFAULT_BUILD} (default)`, 'int8 per 16', byDefault.mean.toExponential(3), byDefault.max.toExponential(3)],
        ['simd', 'int16 per 16', bySimd.mean.toExponential(3), bySimd.max.toExponential(3)],
      ],
    );
  }
  // headline rows: the default build (wasmBackend); then the SIMD build's 4-bit rows
  const packs: Fp4Run[] = [
    { label: 'f32', backend: wasmBackend, dir, bytes: f32Bytes },
    { label: 'nvfp4, head f32 (policy)', backend: wasmBackend, dir: join(qdir, 'nvfp4'), bytes: 0 },
    { label: 'nvfp4-s24 (magnitude), head f32 (policy)', backend: wasmBackend, dir: join(qdir, 'nvfp4-s24-magnitude'), bytes: 0 },
    { label: 'nvfp4, 4-bit head', backend: wasmBackend, dir: join(qdir, HEAD_PACKS[0].name), bytes: 0 },
    { label: 'nvfp4-s24 (magnitude), 4-bit head', backend: wasmBackend, dir: join(qdir, HEAD_PACKS[1].name), bytes: 0 },
  ];
  if (DEFAULT_BUILD !== 'simd') {
    packs.push(
      { label: 'nvfp4, head f32 (policy) — SIMD build', backend: simdBackend, dir: join(qdir, 'nvfp4'), bytes: 0 },
      { label: 'nvfp4, 4-bit head — SIMD build', backend: simdBackend, dir: join(qdir, HEAD_PACKS[0].name), bytes: 0 },
      { label: 'nvfp4-s24 (magnitude), 4-bit head — SIMD build', backend: simdBackend, dir: join(qdir, HEAD_PACKS[1].name), bytes: 0 },
    );
  }
  // the 4-bit-head rows again on every core (kernel threads split each linear's rows; the same outputs)
  const threaded = DEFAULT_BUILD === 'relaxed' && THREADS > 1 ? packs.length : -1;
  if (threaded >= 0) {
    packs.push(
      { label: `nvfp4, 4-bit head — ${THREADS} threads`, backend: threadedBackend, dir: join(qdir, HEAD_PACKS[0].name), bytes: 0 },
      { label: `nvfp4-s24 (magnitude), 4-bit head — ${THREADS} threads`, backend: threadedBackend, dir: join(qdir, HEAD_PACKS[1].name), bytes: 0 },
    );
  }
  for (const p of packs.slice(1)) {
    const ckpt = await openCheckpoint(p.dir);
    p.bytes = activeWeightBytes(ckpt.config, validateWeights(ckpt.config, ckpt.store));
    await ckpt.store.close();
  }
  const rounds = QUICK ? 4 : 12;
  const runs = await benchModelsInterleaved(packs, prompt, rounds, QUICK ? 4 : 8);
  const dec = runs.map((r) => median(r.decodeTokS));
  const pre = runs.map((r) => median(r.prefillTokS));
  /** Median over rounds of pack i's decode rate ÷ pack j's in the same round. */
  const ratio = (i: number, j: number) => median(runs[i].decodeTokS.map((d, r) => d / runs[j].decodeTokS[r]));
  table(
    `small preset on wasm (the default ${DEFAULT_BUILD} build unless named, 1 thread unless named), f32 vs 4-bit (relaxed build: int8-activation nvfp4; SIMD build: int16 nvfp4; nvfp4-s24: int8 gathered activations on both), prompt ${prompt} tokens; all loaded at once, medians of ${rounds} interleaved rounds of prefill + ${QUICK ? 4 : 8} decode steps each (spread = (max − min) / median; ratios = medians of the per-round ratios)`,
    ['weights', 'bytes/token MiB', 'decode tok/s', 'spread', 'prefill tok/s', 'spread', 'decode ×f32', 'prefill ×f32', 'decode ÷ bytes ceiling'],
    packs.map((p, i) => [
      p.label,
      p.bytes / 2 ** 20,
      dec[i],
      `${(100 * spread(runs[i].decodeTokS)).toFixed(0)}%`,
      pre[i],
      `${(100 * spread(runs[i].prefillTokS)).toFixed(0)}%`,
      ratio(i, 0),
      median(runs[i].prefillTokS.map((x, r) => x / runs[0].prefillTokS[r])),
      `${((100 * dec[i] * p.bytes) / (ceiling * GB)).toFixed(0)}%`,
    ]),
  );
  console.log(
    `ratios (${DEFAULT_BUILD} build, 4-bit head): nvfp4/f32 decode ${fmt(ratio(3, 0))}× (target ≥ 3), s24/nvfp4 decode ${fmt(ratio(4, 3))}× (target ≥ 1.25); head f32: ${fmt(ratio(1, 0))}×, ${fmt(ratio(2, 1))}×`,
  );
  if (DEFAULT_BUILD !== 'simd') {
    console.log(`SIMD build (4-bit head): nvfp4/f32 decode ${fmt(ratio(6, 0))}×, s24/nvfp4 ${fmt(ratio(7, 6))}×; the ${DEFAULT_BUILD} build's nvfp4 decode is ${fmt(ratio(3, 6))}× the SIMD build's`);
  }
  if (threaded >= 0) {
    console.log(
      `${THREADS} threads: nvfp4 decode ${fmt(ratio(threaded, 3))}× its 1-thread rate, s24 ${fmt(ratio(threaded + 1, 4))}×; s24/nvfp4 decode on ${THREADS} threads ${fmt(ratio(threaded + 1, threaded))}×`,
    );
  }
  const V = config.vocabSize;
  const zeros = await expertZeroFraction(dir, Int32Array.from({ length: QUICK ? 8 : 16 }, (_, i) => (i * 7919 + 13) % V));
  console.log(
    `experts' relu² hidden (down_proj input), f32 small: ${(100 * zeros.elements).toFixed(1)}% zero elements, ${(100 * zeros.blocks).toFixed(2)}% all-zero 16-blocks (what down_proj block skipping could save)`,
  );
}

async function main(): Promise<void> {
  if (opts.nano) {
    const shapes = (opts['nano-shapes'] ?? '4b,30b').split(',') as ('4b' | '30b')[];
    await benchNano({ quick: QUICK, dir: opts['nano-dir'] ?? join(packageRoot(), 'models', 'bench', 'nano'), prompt: 16, shapes });
    return;
  }
  const kernels = await instantiateKernels(await readKernelBuild('simd'), true);
  const bench = await loadBenchKernels(); // the SIMD kernels plus the variants the backend does not use
  const simdOrBench = (format: Fp4, path: 'f32' | 'q8' | 'q16') => (path === 'q16' && format === 'nvfp4' ? kernels : bench);
  const relaxedKernels = DEFAULT_KERNELS.relaxed ? DEFAULT_KERNELS : null;
  const ceiling = bandwidthCeiling(kernels);
  console.log(`edgetron bench — Node ${process.version}, ${QUICK ? 'quick' : 'full'} run; default wasm kernel build: ${DEFAULT_BUILD}`);
  console.log(`in-WASM read-bandwidth ceiling (f32_sum_probe over 256 MiB, SIMD): ${fmt(ceiling)} GB/s`);
  if (!ONLY_4BIT) {
    benchEmbed(table);
    benchTrainMamba2(table, QUICK);
  }

  const rows: KernelRow[] = [];
  for (const [K, N] of [
    [768, 768],
    [2048, 2048],
    [4096, 4096],
    [4096, 8192],
  ]) {
    if (!ONLY_4BIT) for (const dtype of ['f32', 'bf16'] as const) rows.push(matvecRow(kernels, dtype, K, N, ceiling));
  }
  if (!ONLY_4BIT) for (const dtype of ['f32', 'bf16'] as const) rows.push(matmulRow(kernels, dtype, 32, 2048, 2048, ceiling));
  // 4-bit: the Nano expert shapes (up: 1856 × 2688, down: 2688 × 1856) and the large square ones
  for (const [K, N] of [
    [2688, 1856],
    [1856, 2688],
    [4096, 4096],
    [4096, 8192],
  ]) {
    for (const format of ['nvfp4', 'nvfp4-s24'] as const) for (const path of ['f32', 'q8', 'q16'] as const) rows.push(fp4Row(simdOrBench(format, path), format, path, 1, K, N, ceiling));
    for (const path of ['gather', 'gather rows4'] as const) rows.push(fp4Row(kernels, 'nvfp4-s24', path, 1, K, N, ceiling)); // the backend's s24 path (nvfp4s24_gather.ts)
    if (relaxedKernels) for (const path of ['i8', 'i8 rows4'] as const) rows.push(fp4Row(relaxedKernels, 'nvfp4', path, 1, K, N, ceiling));
    if (relaxedKernels) for (const path of ['gather', 'gather rows4'] as const) rows.push(fp4Row(relaxedKernels, 'nvfp4-s24', path, 1, K, N, ceiling));
    // the default build's rows4 decode kernels again with their weights out of the caches, as in a large model's decode
    if (relaxedKernels) rows.push(fp4Row(relaxedKernels, 'nvfp4', 'i8 rows4', 1, K, N, ceiling, true));
    rows.push(fp4Row(relaxedKernels ?? kernels, 'nvfp4-s24', 'gather rows4', 1, K, N, ceiling, true));
  }
  for (const format of ['nvfp4', 'nvfp4-s24'] as const) for (const path of ['f32', 'q16'] as const) rows.push(fp4Row(simdOrBench(format, path), format, path, 32, 2048, 2048, ceiling));
  for (const path of ['gather', 'gather rows4'] as const) rows.push(fp4Row(kernels, 'nvfp4-s24', path, 32, 2048, 2048, ceiling));
  table(
    'Kernels (wasm SIMD, 1 thread); % = weight-read GB/s ÷ ceiling',
    ['kernel', 'W shape', 'W MiB', 'GB/s', '% ceiling', 'GFLOP/s'],
    rows.map((r) => [r.stem, r.shape, r.mib, r.gbs, `${r.pct.toFixed(0)}%`, r.gflops]),
  );
  await benchS24Gather(QUICK);

  const dir = opts['model-dir'] ?? join(packageRoot(), 'models', 'bench', 'small-f32');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    process.stderr.write(`writing the small preset (f32) to ${dir} …\n`);
    await synthesize({ preset: 'small', seed: 1, out: dir, dtype: 'f32', ifMissing: true });
  }
  const probe = await openCheckpoint(dir);
  const config = probe.config;
  await probe.store.close();
  const prompt = QUICK ? 16 : 32;
  const f32Ckpt = await openCheckpoint(dir);
  const f32Bytes = activeWeightBytes(config, validateWeights(config, f32Ckpt.store));
  await f32Ckpt.store.close();
  if (!ONLY_4BIT) {
    const results: ModelRow[] = [];
    results.push(await benchModel(dir, wasmBackend, prompt, QUICK ? 8 : 32));
    results.push(await benchModel(dir, wasmScalarBackend, prompt, QUICK ? 4 : 8));
    results.push(await benchModel(dir, referenceBackend, prompt, QUICK ? 2 : 4));
    const ref = results[results.length - 1];
    const decodeCeiling = (ceiling * GB) / f32Bytes;
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
  }
  await bench4bit(dir, config, ceiling, f32Bytes, prompt);
  if (ONLY_4BIT) return;
  await benchMtp(table, { quick: QUICK, backends: [wasmBackend] });
  await benchLlamaCpp({ quick: QUICK, prompt });
  console.log('\nNano 4B and Nano 30B-A3B rows: npm run bench -- --nano [--nano-dir DIR] (~55 GB of disk, about an hour on 2 cores the first time)');
  console.log(`\npeak RSS ${fmt(process.resourceUsage().maxRSS / 1024)} MiB`);
}

await main();
