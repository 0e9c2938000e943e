// `npm run bench`: one training step of a Mamba-2 block (lab/train/blocks/mamba2.ts)
// on the `demo` preset's layer 0 (d 128, H 8, P 32, G 1, N 32, conv 4) at B = 8, T = 256:
// forward and backward time (wall and CPU), and the share of the six dense products (linalg.ts).
// The rest is the conv, the scan (spec §6.5, reversed with per-segment recompute) and the norm.

import { parseConfig } from '../engine/core/config.js';
import { expectedTensors } from '../engine/core/weights.js';
import { Prng } from '../engine/decode/prng.js';
import type { TensorMap } from '../lab/train/block.js';
import { mamba2Block } from '../lab/train/blocks/mamba2.js';
import { addMatmulAtB, matmulAB, matmulABt } from '../lab/train/linalg.js';
import { presetConfig } from '../weights-tools/presets.js';

/** Medians of `reps` timed calls, in ms: wall clock, and this process's CPU time (steadier on a busy machine). */
function medianMs(fn: () => void, reps: number): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    wall.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1e3);
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(reps / 2)];
  return { wall: median(wall), cpu: median(cpu) };
}

/**
 * Print the step's times with the bench's table printer.
 * @example benchTrainMamba2(table, false);
 */
export function benchTrainMamba2(table: (title: string, header: string[], rows: (string | number)[][]) => void, quick: boolean): void {
  const config = parseConfig(presetConfig('demo'));
  const layer = config.layers.find((l) => l.kind === 'M')!;
  const m = config.mamba!;
  const d = config.dModel;
  const B = 8;
  const T = 256;
  const rows = B * T;
  const rng = new Prng(1, 'bench-train-mamba2');
  const rand = (n: number, scale: number) => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
  const params: TensorMap = new Map();
  for (const t of expectedTensors(config, false)) {
    if (t.name.startsWith(`${layer.prefix}mixer.`)) params.set(t.name, rand(t.shape.reduce((a, b) => a * b, 1), 1 / Math.sqrt(t.shape[t.shape.length - 1])));
  }
  const grads: TensorMap = new Map([...params].map(([n, p]) => [n, new Float32Array(p.length)]));
  const u = rand(rows * d, 1); // (B·T, d)
  const dy = rand(rows * d, 1); // (B·T, d)
  const block = mamba2Block(config, layer);
  const reps = quick ? 1 : 5;
  block.backward(params, grads, block.forward(params, u, { B, T }).cache, dy); // warm-up
  const forward = medianMs(() => block.forward(params, u, { B, T }), reps);
  const { cache } = block.forward(params, u, { B, T });
  const backward = medianMs(() => block.backward(params, grads, cache, dy), reps);

  const wIn = params.get(`${layer.prefix}mixer.in_proj.weight`)!; // (inProjDim, d)
  const wOut = params.get(`${layer.prefix}mixer.out_proj.weight`)!; // (d, dInner)
  const p = new Float32Array(rows * m.inProjDim); // (B·T, inProjDim)
  const yn = new Float32Array(rows * m.dInner); // (B·T, dInner)
  const dense = medianMs(() => {
    matmulABt(u, wIn, rows, d, m.inProjDim, p);
    matmulABt(yn, wOut, rows, m.dInner, d);
    matmulAB(dy, wOut, rows, d, m.dInner, yn);
    addMatmulAtB(new Float32Array(d * m.dInner), dy, yn, rows, d, m.dInner);
    addMatmulAtB(new Float32Array(m.inProjDim * d), p, u, rows, m.inProjDim, d);
    matmulAB(p, wIn, rows, m.inProjDim, d);
  }, reps);
  const row = (clock: 'wall' | 'cpu') => {
    const total = forward[clock] + backward[clock];
    return [clock, forward[clock], backward[clock], total, dense[clock], total - dense[clock]];
  };
  table(
    `Mamba-2 training step (demo layer ${layer.il}, B ${B}, T ${T}): ms, medians of ${reps}`,
    ['clock', 'forward', 'backward', 'total', 'dense products', 'rest (conv, scan, norm)'],
    [row('wall'), row('cpu')],
  );
}
