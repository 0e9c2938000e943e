// `npm run bench` section (DESIGN §8, spec §14.1): the gathered-activation nvfp4-s24 decode kernel
// (assembly/kernels/nvfp4s24_gather.ts) A/B against the old s24 decode (spread weights, int16
// activations) and the nvfp4 decodes (ModelOpt and rows4 layouts), in one process: every variant runs once per round, the
// rounds interleave (this machine is a noisy VM), and the table gives the min and median over the
// rounds of the weight-read GB/s (codes, positions and scales) and of the kept-weight GFLOP/s
// (2 · kept weights / s: N·K/2 for s24, N·K for nvfp4), and the median time against nvfp4_matmul_q16 (all T = 1).
// Also runnable alone: `node dist/bench/s24-gather.js [--quick]`.

import { pathToFileURL } from 'node:url';
import { instantiateKernels, type WasmKernels } from '../assembly/backend/instantiate.js';
import { loadBenchKernels } from '../assembly/backend/bench-kernels.js';
import { enableRelaxedSimd, readKernelBuild } from '../assembly/backend/node-wasm.js';
import { Prng } from '../engine/decode/prng.js';
import { POSITION_CODES } from '../engine/formats/sparse24.js';
import { table } from './table.js';

/** The decode shapes (K, N): the Nano expert up / down projections, a large and a small square. */
const SHAPES: [number, number][] = [[2688, 1856], [1856, 2688], [4096, 4096], [768, 768]];

interface Variant {
  stem: string;
  s24: boolean;
  /** Weights repacked to the backend's rows4 layout (fp4_rows4.ts, nvfp4s24_gather.ts) into Buffers.packed. */
  rows4?: boolean;
  kernels: WasmKernels;
  call: (b: Buffers, K: number, N: number) => void;
}

interface Buffers {
  x: number;
  y: number;
  scratch: number;
  codes: number;
  positions: number;
  scales: number;
  packed: number;
}

/** The same seeded weights and x in a kernel instance's heap: codes, legal positions, E4M3 scales near 1. */
function upload(k: WasmKernels, s24: boolean, K: number, N: number, seed: number): Buffers {
  const rng = new Prng(seed, 's24-gather');
  const r = () => rng.uniform(0, 1);
  const put = (bytes: number, f: (i: number) => number): number => {
    const p = k.heap.alloc(bytes);
    const a = k.heap.u8(p, bytes);
    for (let i = 0; i < bytes; i++) a[i] = f(i);
    return p;
  };
  const codes = put((N * K) / (s24 ? 4 : 2), () => Math.floor(r() * 256));
  const positions = put(s24 ? (N * K) / 8 : 16, () => POSITION_CODES[Math.floor(r() * 6)] | (POSITION_CODES[Math.floor(r() * 6)] << 4));
  const scales = put((N * K) / 16, () => 0x30 + Math.floor(r() * 16));
  const x = k.heap.alloc(K * 4);
  k.heap.f32(x, K).forEach((_, i, a) => (a[i] = 2 * r() - 1));
  const e = k.exports;
  const scratch = k.heap.alloc(Math.max(e.q16_scratch_bytes(K), e.i8_scratch_bytes(K), e.gather_scratch_bytes(K)));
  return { x, y: k.heap.alloc(N * 4), scratch, codes, positions, scales, packed: 0 };
}

function release(k: WasmKernels, b: Buffers): void {
  for (const p of [b.x, b.y, b.scratch, b.codes, b.positions, b.scales, ...(b.packed ? [b.packed] : [])]) k.heap.free(p);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];

/**
 * Print the A/B table of the s24 decode kernels against the nvfp4 ones.
 * @example await benchS24Gather(false);
 */
export async function benchS24Gather(quick: boolean): Promise<void> {
  const simd = await instantiateKernels(await readKernelBuild('simd'), true);
  const bench = await loadBenchKernels(); // the old s24 kernel is a bench-build variant
  const relaxed = enableRelaxedSimd() ? await instantiateKernels(await readKernelBuild('relaxed'), true) : null;
  const variants: Variant[] = [
    { stem: 'nvfp4_matmul_q16 T=1', s24: false, kernels: simd, call: (b, K, N) => simd.exports.nvfp4_matmul_q16(b.x, b.scratch, b.codes, b.scales, 0.01, b.y, 1, K, N) },
    { stem: 'nvfp4_matmul_q16_rows4 T=1', s24: false, rows4: true, kernels: simd, call: (b, K, N) => simd.exports.nvfp4_matmul_q16_rows4(b.x, b.scratch, b.packed, 0.01, b.y, 1, K, N) },
    { stem: 'nvfp4s24_matmul_q16 T=1 (old)', s24: true, kernels: bench, call: (b, K, N) => bench.exports.nvfp4s24_matmul_q16(b.x, b.scratch, b.codes, b.positions, b.scales, 0.01, b.y, 1, K, N) },
    { stem: 'nvfp4s24_matmul_gather T=1', s24: true, kernels: simd, call: (b, K, N) => simd.exports.nvfp4s24_matmul_gather(b.x, b.scratch, b.codes, b.positions, b.scales, 0.01, b.y, 1, K, N) },
    { stem: 'nvfp4s24_matmul_gather_rows4 T=1', s24: true, rows4: true, kernels: simd, call: (b, K, N) => simd.exports.nvfp4s24_matmul_gather_rows4(b.x, b.scratch, b.packed, 0.01, b.y, 1, K, N) },
  ];
  if (relaxed) {
    variants.push({ stem: 'nvfp4_matmul_i8 T=1 (relaxed)', s24: false, kernels: relaxed, call: (b, K, N) => relaxed.exports.nvfp4_matmul_i8(b.x, b.scratch, b.codes, b.scales, 0.01, b.y, 1, K, N) });
    variants.push({ stem: 'nvfp4_matmul_i8_rows4 T=1 (relaxed)', s24: false, rows4: true, kernels: relaxed, call: (b, K, N) => relaxed.exports.nvfp4_matmul_i8_rows4(b.x, b.scratch, b.packed, 0.01, b.y, 1, K, N) });
    variants.push({ stem: 'nvfp4s24_matmul_gather T=1 (relaxed)', s24: true, kernels: relaxed, call: (b, K, N) => relaxed.exports.nvfp4s24_matmul_gather(b.x, b.scratch, b.codes, b.positions, b.scales, 0.01, b.y, 1, K, N) });
    variants.push({ stem: 'nvfp4s24_matmul_gather_rows4 T=1 (relaxed)', s24: true, rows4: true, kernels: relaxed, call: (b, K, N) => relaxed.exports.nvfp4s24_matmul_gather_rows4(b.x, b.scratch, b.packed, 0.01, b.y, 1, K, N) });
  }
  const rounds = quick ? 7 : 21;
  const rows: (string | number)[][] = [];
  for (const [K, N] of SHAPES) {
    const bytes = variants.map((v) => (N * K) / (v.s24 ? 4 : 2) + (N * K) / 16 + (v.s24 ? (N * K) / 8 : 0));
    const bufs = variants.map((v, i) => {
      const b = upload(v.kernels, v.s24, K, N, 17 + i);
      if (v.rows4) {
        const e = v.kernels.exports;
        b.packed = v.kernels.heap.alloc(bytes[i]);
        if (v.s24) e.nvfp4s24_pack_rows4(b.codes, b.positions, b.scales, b.packed, K, N);
        else e.nvfp4_pack_rows4(b.codes, b.scales, b.packed, K, N);
      }
      return b;
    });
    const calls = Math.max(2, Math.round(4e7 / (N * K))); // ~10–40 ms per variant per round
    const ms: number[][] = variants.map(() => []);
    for (let r = -1; r < rounds; r++) {
      variants.forEach((v, i) => {
        const t0 = performance.now();
        for (let c = 0; c < calls; c++) v.call(bufs[i], K, N);
        if (r >= 0) ms[i].push((performance.now() - t0) / calls); // round −1 warms up
      });
    }
    const base = median(ms[0]);
    variants.forEach((v, i) => {
      const gbs = ms[i].map((t) => bytes[i] / (t / 1e3) / 1e9);
      const gflops = ms[i].map((t) => (2 * N * K * (v.s24 ? 0.5 : 1)) / (t / 1e3) / 1e9);
      rows.push([v.stem, `${N}×${K}`, Math.min(...gbs), median(gbs), Math.min(...gflops), median(gflops), base / median(ms[i])]);
      release(v.kernels, bufs[i]);
    });
  }
  table(
    `nvfp4-s24 decode kernels A/B (1 thread; ${rounds} interleaved rounds; GB/s of codes + positions + scales; kept-weight GFLOP/s)`,
    ['kernel', 'W shape', 'GB/s min', 'GB/s median', 'GFLOP/s min', 'GFLOP/s median', 'speed ×nvfp4_q16'],
    rows,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`nvfp4-s24 gather A/B — Node ${process.version}`);
  await benchS24Gather(process.argv.includes('--quick'));
}
