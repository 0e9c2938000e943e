// spec §9 (and §8's experts): the non-gated squared-ReLU MLP, in f64.
//   out = W_down · relu(W_up · u)²      W_up (I, d), W_down (d, I), no bias
// Error budget: f64 rounding only.

import { RefAct } from './act.js';
import { relu2 } from './activations.js';
import { matmul } from './matmul.js';
import type { LinearTap, RawTensor } from './tensors.js';

/**
 * relu² MLP: (T, d) → (T, I) → (T, d).
 * @example const y = relu2Mlp(u, cache.linear(`${p}mixer.up_proj.weight`), cache.linear(`${p}mixer.down_proj.weight`));
 */
export function relu2Mlp(u: RefAct, up: RawTensor, down: RawTensor, tap: LinearTap | null = null): RefAct {
  // 1. h = W_up · u   (T, d) → (T, I)
  const h = matmul(u, up, tap);
  // 2. h ← relu(h)²
  for (let i = 0; i < h.data.length; i++) h.data[i] = relu2(h.data[i]);
  // 3. out = W_down · h   (T, I) → (T, d)
  return matmul(h, down, tap);
}
