// spec §6: the Mamba-2 mixer of an 'M' layer on the WASM kernels.
//   1. p = W_in · u, columns z (dInner) | xBC (convDim) | dt (H)            bf16/f32_matmul
//   2. v = SiLU(causal conv(xBC)) with the conv window, columns x' | B | C  f32_conv1d_silu
//   3–4. y = SSD(x', Δ = softplus(dt + dt_bias), A, B, C) + D·x' from the cached state:
//        f32_ssd_chunked for T > 1 (chunk length Q from the config), f32_ssd_step for T = 1 (with
//        kernel threads, its heads split in whole groups: every head's arithmetic unchanged)
//   5. ŷ = GroupRMSNorm(y ⊙ SiLU(z)) (f32_gated_rmsnorm);  out = W_out · ŷ
// Error budget: the kernels' (see their headers); the outputs agree with the f64 reference to
// a few 1e-6 relative for Nano sizes (tests/conformance).

import { freeAct, newAct, type WasmAct, type WasmContext } from './act.js';
import { linear } from './linear.js';
import type { MambaBuffers } from './state.js';
import { partBounds, threadParts } from './threads.js';

/**
 * f32_ssd_step of one token; with kernel threads and enough work (3 multiply-adds per state
 * element, H·P·N of them; ≥ minWork per part) the heads go out in parts of whole groups (G = 1:
 * any heads, which share B and C). p: the kernel's pointers x, B, C, dt, dtBias, A, D, state, y.
 */
function ssdStep(ctx: WasmContext, p: readonly number[], H: number, P: number, G: number, N: number): void {
  const [x, B, C, dt, dtBias, A, D, state, y] = p;
  const unit = G > 1 ? H / G : 1; // heads a part may not split
  const parts = threadParts(ctx.threads, 3 * H * P * N, H / unit);
  if (parts <= 1) return ctx.kernels.f32_ssd_step(x, B, C, dt, dtBias, A, D, state, y, H, P, G, N);
  const at = partBounds(H / unit, parts);
  const calls = at.slice(0, parts).map((u0, i) => {
    const [h0, h1] = [u0 * unit, at[i + 1] * unit];
    const g0 = G > 1 ? u0 : 0;
    const args = [x + h0 * P * 4, B + g0 * N * 4, C + g0 * N * 4, dt + h0 * 4, dtBias + h0 * 4, A + h0 * 4, D + h0 * 4, state + h0 * P * N * 4, y + h0 * P * 4];
    return { kernel: 'f32_ssd_step' as const, args: [...args, h1 - h0, P, G > 1 ? at[i + 1] - u0 : 1, N] };
  });
  ctx.threads!.runAll(calls, ctx.kernels);
}

/**
 * The Mamba-2 mixer of layer il on u (T, d), advancing `st`: (T, d) → (T, d).
 * @example const y = mamba2(ctx, 0, u, seq.mambaLayer(0));
 */
export function mamba2(ctx: WasmContext, il: number, u: WasmAct, st: MambaBuffers): WasmAct {
  const m = ctx.config.mamba!;
  const k = ctx.kernels;
  const pre = `${ctx.config.layers[il].prefix}mixer.`;
  const { nHeads: H, headDim: P, nGroups: G, dState: N, dInner, convDim, inProjDim } = m;
  const T = u.rows;

  // 1. in_proj: (T, d) → (T, 2·dInner + 2·G·N + H) = z | xBC | dt
  const p = linear(ctx, u, `${pre}in_proj.weight`);
  const xBC = p.ptr + dInner * 4;
  const dt = p.ptr + (dInner + convDim) * 4;

  // 2. conv + SiLU over xBC: (T, convDim), then x' | B | C by column
  const v = newAct(ctx, T, convDim);
  const bias = m.useConvBias ? ctx.tensors.vector(`${pre}conv1d.bias`) : 0;
  k.f32_conv1d_silu(xBC, inProjDim, st.conv, ctx.tensors.vector(`${pre}conv1d.weightT`), bias, v.ptr, T, convDim, m.convKernel);
  const x = v.ptr;
  const B = v.ptr + dInner * 4;
  const C = v.ptr + (dInner + G * N) * 4;

  // 3–4. SSD with the D skip: (T, H·P)
  const y = newAct(ctx, T, dInner);
  const dtBias = ctx.tensors.vector(`${pre}dt_bias`);
  const A = ctx.tensors.vector(`${pre}A`);
  const D = ctx.tensors.vector(`${pre}D`);
  if (T === 1) {
    ssdStep(ctx, [x, B, C, dt, dtBias, A, D, st.ssm, y.ptr], H, P, G, N);
  } else {
    const scratch = ctx.heap.alloc(k.f32_ssd_chunked_scratch_bytes(m.chunkSize, P, N));
    k.f32_ssd_chunked(x, B, C, convDim, dt, inProjDim, dtBias, A, D, st.ssm, y.ptr, T, H, P, G, N, m.chunkSize, scratch);
    ctx.heap.free(scratch);
  }
  freeAct(v);

  // 5. gated group RMSNorm in place, then out_proj: (T, dInner) → (T, d)
  k.f32_gated_rmsnorm(y.ptr, p.ptr, inProjDim, ctx.tensors.vector(`${pre}norm.weight`), y.ptr, T, dInner, dInner / G, ctx.config.normEps);
  freeAct(p);
  const out = linear(ctx, y, `${pre}out_proj.weight`);
  freeAct(y);
  return out;
}
