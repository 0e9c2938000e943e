// spec §7: NoPE causal GQA attention over the KV cache. For token t (absolute position
// pos0 + t) and query head h, KV head k = ⌊h / (nHeads / nKvHeads)⌋:
//   s_j = scale·⟨q_{t,h}, K_{j,k}⟩ for j ≤ pos0 + t,  p = softmax(s),  o_{t,h} = Σ_j p_j·V_{j,k}.
// Caches K, V are (maxTokens, nKvHeads·hd), f32 (f32_attention) or bf16 (bf16_attention: the
// cache in 16 bits, each element widened exactly to f32 as it is read), and already hold rows
// 0..pos0+T−1.
// Lanes: head-dim index in lane i mod 4 for the q·k dot (dotW) and the p·V sum (axpyW); the
// softmax is scalar with Mathf.exp and the max subtracted.
// Error budget (u = 2⁻²⁴): each score ≤ (hd/16 + 4)·u·scale·Σ|q k|; softmax ≤ ~(L/4 + 4)·u
// relative (L = keys summed); output ≤ (L + 4)·u·Σ_j p_j |V_j| worst case, ~√L·u typical.

import { axpyW } from './eltwise';
import { f4 } from './lanes';
import { dotW } from './matmul';

/** The attention of the header over caches of element type W (f32, or u16: bf16 bits). */
function attend<W>(
  simd: bool, q: usize, kc: usize, vc: usize, y: usize, T: i32, pos0: i32, nHeads: i32, nKvHeads: i32, hd: i32,
  scale: f32, scores: usize,
): void {
  const group = nHeads / nKvHeads;
  const qs = f4(nHeads * hd);
  const kvs = <usize>(nKvHeads * hd) * sizeof<W>();
  for (let t = 0; t < T; t++) {
    const L = pos0 + t + 1; // keys visible to this token
    for (let h = 0; h < nHeads; h++) {
      const kvo = <usize>((h / group) * hd) * sizeof<W>();
      const qh = q + <usize>t * qs + f4(h * hd);
      const oh = y + <usize>t * qs + f4(h * hd);
      let mx = -Infinity as f32;
      for (let j = 0; j < L; j++) {
        const s = scale * dotW<W>(simd, qh, kc + <usize>j * kvs + kvo, hd);
        store<f32>(scores + f4(j), s);
        mx = max(mx, s);
      }
      let sum: f32 = 0;
      for (let j = 0; j < L; j++) {
        const e = Mathf.exp(load<f32>(scores + f4(j)) - mx);
        store<f32>(scores + f4(j), e);
        sum += e;
      }
      const inv = <f32>1 / sum;
      memory.fill(oh, 0, f4(hd));
      for (let j = 0; j < L; j++) axpyW<W>(simd, load<f32>(scores + f4(j)) * inv, vc + <usize>j * kvs + kvo, oh, hd);
    }
  }
}

/**
 * O(T, nHeads·hd) = causal GQA attention of Q(T, nHeads·hd) over caches K, V (rows 0..pos0+T−1,
 * each nKvHeads·hd floats); scores is scratch for pos0 + T floats.
 */
export function f32_attention(
  q: usize, kc: usize, vc: usize, y: usize, T: i32, pos0: i32, nHeads: i32, nKvHeads: i32, hd: i32, scale: f32,
  scores: usize,
): void {
  attend<f32>(true, q, kc, vc, y, T, pos0, nHeads, nKvHeads, hd, scale, scores);
}

export function f32_attention_scalar(
  q: usize, kc: usize, vc: usize, y: usize, T: i32, pos0: i32, nHeads: i32, nKvHeads: i32, hd: i32, scale: f32,
  scores: usize,
): void {
  attend<f32>(false, q, kc, vc, y, T, pos0, nHeads, nKvHeads, hd, scale, scores);
}

/** f32_attention over bf16 caches (u16 bits per element). */
export function bf16_attention(
  q: usize, kc: usize, vc: usize, y: usize, T: i32, pos0: i32, nHeads: i32, nKvHeads: i32, hd: i32, scale: f32,
  scores: usize,
): void {
  attend<u16>(true, q, kc, vc, y, T, pos0, nHeads, nKvHeads, hd, scale, scores);
}

export function bf16_attention_scalar(
  q: usize, kc: usize, vc: usize, y: usize, T: i32, pos0: i32, nHeads: i32, nKvHeads: i32, hd: i32, scale: f32,
  scores: usize,
): void {
  attend<u16>(false, q, kc, vc, y, T, pos0, nHeads, nKvHeads, hd, scale, scores);
}
