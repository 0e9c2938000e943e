// Finite-difference check of a BlockPass (lab/train/block.ts): the loss
// L = Σ r ⊙ forward(x) for a fixed random r, so ∂L/∂y = r; central differences
// (L(θ+h) − L(θ−h)) / 2h on sampled coordinates of x and of every parameter, compared with
// backward's analytic gradient.

import type { BatchShape, BlockPass, TensorMap } from '../../../lab/train/block.js';
import { Prng } from '../../../engine/decode/prng.js';

export interface GradCheckResult {
  /** Worst |analytic − numeric| / max(|analytic|, |numeric|, floor) over the sampled coordinates. */
  readonly worst: number;
  /** Where the worst one was: `x[i]` or `name[i]`. */
  readonly where: string;
  readonly checked: number;
}

/** n uniform values in [−scale, scale). */
export function randomArray(n: number, rng: Prng, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
}

/**
 * Check `block` at (params, x). `samples` coordinates per tensor; `h` is the step;
 * `floor` keeps tiny gradients from dominating the relative error; `skip` names parameters
 * without a gradient (e.g. the router's selection-only correction bias).
 */
export function gradCheck(
  block: BlockPass,
  params: TensorMap,
  x: Float32Array,
  shape: BatchShape,
  opts: { samples?: number; h?: number; floor?: number; seed?: number; skip?: (name: string) => boolean } = {},
): GradCheckResult {
  const { samples = 12, h = 1e-2, floor = 1e-3, seed = 7 } = opts;
  const rng = new Prng(seed, 'grad-check');
  const { y } = block.forward(params, x, shape);
  const r = randomArray(y.length, rng, 1);
  const loss = () => {
    const out = block.forward(params, x, shape).y;
    let s = 0;
    for (let i = 0; i < out.length; i++) s += r[i] * out[i];
    return s;
  };
  const grads: TensorMap = new Map([...params].map(([name, p]) => [name, new Float32Array(p.length)]));
  const { cache } = block.forward(params, x, shape);
  const dx = block.backward(params, grads, cache, r);

  let worst = 0;
  let where = '';
  let checked = 0;
  const probe = (label: string, target: Float32Array, analytic: Float32Array) => {
    for (let s = 0; s < Math.min(samples, target.length); s++) {
      const i = rng.nextU32() % target.length;
      const saved = target[i];
      target[i] = saved + h;
      const up = loss();
      target[i] = saved - h;
      const down = loss();
      target[i] = saved;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(analytic[i] - numeric) / Math.max(Math.abs(analytic[i]), Math.abs(numeric), floor);
      checked++;
      if (err > worst) {
        worst = err;
        where = `${label}[${i}] analytic ${analytic[i]} numeric ${numeric}`;
      }
    }
  };
  probe('x', x, dx);
  for (const [name, p] of params) if (!opts.skip?.(name)) probe(name, p, grads.get(name)!);
  return { worst, where, checked };
}
