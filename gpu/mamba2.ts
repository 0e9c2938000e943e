// spec §6 on the device: the Mamba-2 mixer of an 'M' layer, all in one command buffer.
//   1. p = W_in · u: (T, d) → (T, 2·dInner + 2·G·N + H) = z | xBC | dt        (matmul.wgsl)
//   2. v = SiLU(conv(window; xBC) + b), the window advanced                    (conv.wgsl)
//   3–4. y = SSD(x', Δ = softplus(dt + dt_bias), A = −exp(A_log), B, C) + D·x' (ssd_scan.wgsl)
//   5. ŷ = GroupRMSNorm(y ⊙ SiLU(z));  out = W_out · ŷ                         (rmsnorm.wgsl, matmul.wgsl)
// z, xBC and dt are read in place from p (strides), never copied.

import { newAct, releaseAct, type DevAct, type GpuContext } from './act.js';
import { linear } from './linear.js';
import { rmsnorm } from './norm.js';
import { PLAIN_KERNELS } from './shaders.js';
import type { MambaBuffers } from './state.js';

/**
 * The Mamba-2 mixer of layer il on u (T, d), advancing `st`: (T, d) → (T, d).
 * @example const out = mamba2(ctx, 0, u, seq.mambaLayer(0));
 */
export function mamba2(ctx: GpuContext, il: number, u: DevAct, st: MambaBuffers): DevAct {
  const m = ctx.config.mamba!;
  const pre = `${ctx.config.layers[il].prefix}mixer.`;
  const { nHeads: H, headDim: P, nGroups: G, dState: N, dInner, convDim, convKernel: K, inProjDim } = m;
  const T = u.rows;
  const t = ctx.tensors;

  // 1. in_proj
  const proj = linear(ctx, u, t.linear(`${pre}in_proj.weight`)); // (T, inProjDim)
  // 2. causal conv + SiLU over the window
  const v = newAct(ctx, T, convDim); // (T, convDim) x' | B | C
  const bias = m.useConvBias ? t.vector(`${pre}conv1d.bias`) : ctx.gpu.dummy;
  ctx.gpu.dispatch('conv', PLAIN_KERNELS.conv, { 1: proj.buf, 2: v.buf, 3: st.conv, 4: t.vector(`${pre}conv1d.weight`), 5: bias },
    [T, convDim, K, inProjDim, dInner, m.useConvBias ? 1 : 0], ctx.gpu.grid(convDim));
  // 3–4. the scan, from and back into the SSM state; per head (dt_bias, A = −exp(A_log), D)
  const heads = t.cached(`${pre}heads`, () => {
    const [dtBias, aLog, d] = ['dt_bias', 'A_log', 'D'].map((n) => t.hostVector(`${pre}${n}`));
    return Float32Array.from({ length: 3 * H }, (_, i) => [dtBias, aLog.map((l) => -Math.exp(l)), d][i % 3][Math.floor(i / 3)]);
  });
  const y = newAct(ctx, T, dInner); // (T, H·P)
  ctx.gpu.dispatch('ssdScan', PLAIN_KERNELS.ssdScan, { 1: v.buf, 2: y.buf, 3: st.ssm, 4: proj.buf, 5: heads },
    [T, H, P, G, N, dInner, convDim, inProjDim, dInner + convDim], ctx.gpu.grid(dInner));
  // 5. gated group norm (z = the first dInner columns of p), out_proj
  const yn = rmsnorm(ctx, y, t.vector(`${pre}norm.weight`), G, { buf: proj.buf, stride: inProjDim });
  const out = linear(ctx, yn, t.linear(`${pre}out_proj.weight`));
  for (const a of [proj, v, y, yn]) releaseAct(ctx, a);
  return out;
}
