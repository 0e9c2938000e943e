// spec §8 steps 1–8 after the router logits r (T, E) = u·W_gᵀ (computed by f32/bf16_matmul):
//   s = σ(r);  s' = s + b (selection only);  group limiting when nGroup > 1 (group score = sum of
//   the top-2 s' of the group, keep the best topkGroup groups, others −∞);  idx = top-K of s'
//   (ties go to the lower index);  w_k = s[idx_k], renormalised w / (Σw + 1e-20) when normTopK,
//   times routedScale.
// Scalar (E is small); σ, sums and weights in f64 (Math.exp), stored as f32.
// Error budget: weights ≤ ~4u relative after the f64 math; the selection itself is exact given
// the f32 logits (a near-tie closer than the logit error could pick another expert, see tests).

import { f4 } from './lanes';

@inline function f8(i: i32): usize {
  return <usize>i << 3;
}

/** Whether expert e is already among the first k picks of row `picked`. */
@inline function taken(picked: usize, k: i32, e: i32): bool {
  for (let j = 0; j < k; j++) if (load<i32>(picked + f4(j)) == e) return true;
  return false;
}

/** Scratch bytes f32_moe_route needs: s and s' (E f64 each), group scores (nGroup f64). */
export function f32_moe_route_scratch_bytes(E: i32, nGroup: i32): i32 {
  return 16 * E + 8 * nGroup;
}

/** Keep the topkGroup best groups of sel (E) by their top-2 sum; set the others to −∞. */
function limitGroups(sel: usize, gscore: usize, E: i32, nGroup: i32, topkGroup: i32): void {
  const size = E / nGroup;
  for (let g = 0; g < nGroup; g++) {
    let b1 = -Infinity;
    let b2 = -Infinity;
    for (let e = g * size; e < (g + 1) * size; e++) {
      const v = load<f64>(sel + f8(e));
      if (v > b1) {
        b2 = b1;
        b1 = v;
      } else if (v > b2) b2 = v;
    }
    store<f64>(gscore + f8(g), size > 1 ? b1 + b2 : b1);
  }
  for (let k = 0; k < topkGroup; k++) {
    let best = -1;
    for (let g = 0; g < nGroup; g++) {
      const v = load<f64>(gscore + f8(g));
      if (v != Infinity && (best < 0 || v > load<f64>(gscore + f8(best)))) best = g;
    }
    store<f64>(gscore + f8(best), Infinity); // kept
  }
  for (let g = 0; g < nGroup; g++) {
    if (load<f64>(gscore + f8(g)) == Infinity) continue;
    for (let e = g * size; e < (g + 1) * size; e++) store<f64>(sel + f8(e), -Infinity);
  }
}

/**
 * Route T tokens: logits (T, E), bias (E) → idx (T, K) i32 and weights (T, K) f32.
 * scratch holds f32_moe_route_scratch_bytes(E, nGroup) bytes.
 */
export function f32_moe_route(
  logits: usize, bias: usize, idx: usize, wts: usize, T: i32, E: i32, K: i32, nGroup: i32, topkGroup: i32,
  routedScale: f32, normTopK: bool, scratch: usize,
): void {
  const sig = scratch; // (E) f64
  const sel = sig + f8(E); // (E) f64
  const gscore = sel + f8(E); // (nGroup) f64
  for (let t = 0; t < T; t++) {
    const row = logits + <usize>t * f4(E);
    const picked = idx + <usize>t * f4(K);
    const wrow = wts + <usize>t * f4(K);
    for (let e = 0; e < E; e++) {
      const s = 1.0 / (1.0 + Math.exp(-<f64>load<f32>(row + f4(e))));
      store<f64>(sig + f8(e), s);
      store<f64>(sel + f8(e), s + <f64>load<f32>(bias + f4(e)));
    }
    if (nGroup > 1) limitGroups(sel, gscore, E, nGroup, topkGroup);
    let sum: f64 = 0;
    for (let k = 0; k < K; k++) {
      let best = -1;
      for (let e = 0; e < E; e++) {
        if (taken(picked, k, e)) continue;
        if (best < 0 || load<f64>(sel + f8(e)) > load<f64>(sel + f8(best))) best = e;
      }
      store<i32>(picked + f4(k), best);
      sum += load<f64>(sig + f8(best));
    }
    const norm = normTopK ? <f64>routedScale / (sum + 1e-20) : <f64>routedScale;
    for (let k = 0; k < K; k++) {
      store<f32>(wrow + f4(k), <f32>(load<f64>(sig + f8(load<i32>(picked + f4(k)))) * norm));
    }
  }
}
