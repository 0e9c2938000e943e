// spec §6: the Mamba-2 mixer of an 'M' layer as a training block (forward and backward), the same
// math as engine/reference/mamba2.ts, batched over B sequences that each start from zero state:
//   1. p = u·W_inᵀ, split z (dInner) | xBC (convDim) | dt (H)                            (§6.1)
//   2. v = SiLU(causal depthwise conv(xBC) + b), split x' | B | C                        (§6.2)
//   3. Δ = softplus(dt + dt_bias) (no clamp, §6.4);  A = −exp(A_log)                    (§6.3)
//   4. y = scan(x', Δ, A, B, C) + D·x'                                                  (§6.5)
//   5. out = GroupRMSNorm(y ⊙ SiLU(z))·W_outᵀ                                           (§6.7)
// Backward runs the steps in reverse; the pieces are mamba2-conv.ts, mamba2-scan.ts, mamba2-norm.ts.
//   ∂softplus(a)/∂a = σ(a);  ∂A/∂A_log = A
// Error budget: f32 activations with f64 sums; forward equals the reference to ~1e-6 relative.

import type { LayerSpec, ModelConfig } from '../../../engine/core/config.js';
import { sigmoid, softplus } from '../../../engine/reference/activations.js';
import { MissingTensorError, OpArgumentError, TensorShapeError } from '../../../engine/core/errors.js';
import type { BatchShape, BlockFactory, BlockPass, TensorMap } from '../block.js';
import { addMatmulAtB, matmulAB, matmulABt } from '../linalg.js';
import { convBackward, convForward, type ConvLayout } from './mamba2-conv.js';
import { gatedNormBackward, gatedNormForward } from './mamba2-norm.js';
import { scanBackward, scanForward, segments, type ScanDims } from './mamba2-scan.js';

/** What the forward keeps for the backward. */
export interface Mamba2Cache {
  readonly shape: BatchShape;
  readonly u: Float32Array; // (B·T, d) the block input
  readonly proj: Float32Array; // (B·T, inProjDim) z | xBC | dt
  readonly z: Float32Array; // (B·T, dInner)
  readonly a: Float32Array; // (B·T, convDim) conv pre-activation
  readonly v: Float32Array; // (B·T, convDim) x' | B | C
  readonly delta: Float32Array; // (B·T, H) Δ
  readonly starts: Float64Array; // (B, ⌈T/Q⌉, H, P, N) SSM state at each segment start
  readonly y: Float32Array; // (B·T, dInner) scan output
  readonly r: Float32Array; // (B·T, G) reciprocal group RMS
  readonly yNorm: Float32Array; // (B·T, dInner) out_proj input
}

/** A tensor of `map` with exactly `numel` elements, or a named error. */
function tensor(map: TensorMap, name: string, shape: readonly number[]): Float32Array {
  const t = map.get(name);
  if (!t) throw new MissingTensorError(name, 'the training parameters');
  const numel = shape.reduce((x, y) => x * y, 1);
  if (t.length !== numel) throw new TensorShapeError(name, shape, [t.length]);
  return t;
}

/**
 * The training pass of the Mamba-2 mixer of `layer` (spec §6), parameters keyed by HF name.
 * @example
 * const block = mamba2Block(config, config.layers[0]);
 * const { y, cache } = block.forward(params, u, { B: 8, T: 256 });
 * const du = block.backward(params, grads, cache, dy);
 */
export const mamba2Block: BlockFactory = (config: ModelConfig, layer: LayerSpec): BlockPass<Mamba2Cache> => {
  const m = config.mamba;
  if (layer.kind !== 'M' || !m) throw new OpArgumentError('mamba2Block', `layer ${layer.il} is '${layer.kind}', not a Mamba-2 layer`);
  const d = config.dModel;
  const { nHeads: H, headDim: P, nGroups: G, dState: N, convKernel: K, dInner, convDim, inProjDim } = m;
  const pre = `${layer.prefix}mixer.`;
  const names = {
    inProj: [`${pre}in_proj.weight`, [inProjDim, d]],
    conv: [`${pre}conv1d.weight`, [convDim, 1, K]],
    convBias: [`${pre}conv1d.bias`, [convDim]],
    dtBias: [`${pre}dt_bias`, [H]],
    aLog: [`${pre}A_log`, [H]],
    D: [`${pre}D`, [H]],
    norm: [`${pre}norm.weight`, [dInner]],
    outProj: [`${pre}out_proj.weight`, [d, dInner]],
  } as const;
  type Key = keyof typeof names;
  const read = (map: TensorMap) => {
    const get = (k: Key) => tensor(map, names[k][0], names[k][1]);
    return {
      inProj: get('inProj'),
      conv: get('conv'),
      convBias: m.useConvBias ? get('convBias') : null,
      dtBias: get('dtBias'),
      aLog: get('aLog'),
      D: get('D'),
      norm: get('norm'),
      outProj: get('outProj'),
    };
  };
  const dims = ({ B, T }: BatchShape): ScanDims => ({ B, T, H, P, G, N, Q: m.chunkSize });
  const convLayout = ({ B, T }: BatchShape): ConvLayout => ({ B, T, C: convDim, K, off: dInner, stride: inProjDim });
  const negExp = (aLog: Float32Array) => Float64Array.from(aLog, (l) => -Math.exp(l)); // (H) A

  return {
    forward(params, u, shape) {
      const rows = shape.B * shape.T;
      if (u.length !== rows * d) throw new OpArgumentError('mamba2 forward', `input has ${u.length} values, expected B·T·d = ${rows * d}`);
      const w = read(params);
      // 1. in_proj: (B·T, d) → (B·T, 2·dInner + 2·G·N + H), split z | xBC | dt
      const proj = matmulABt(u, w.inProj, rows, d, inProjDim);
      const z = new Float32Array(rows * dInner); // (B·T, dInner)
      for (let row = 0; row < rows; row++) z.set(proj.subarray(row * inProjDim, row * inProjDim + dInner), row * dInner);
      // 2. causal conv + SiLU over xBC: (B·T, convDim)
      const { a, v } = convForward(convLayout(shape), proj, w.conv, w.convBias);
      // 3. Δ = softplus(dt + dt_bias): (B·T, H)
      const delta = new Float32Array(rows * H);
      for (let row = 0; row < rows; row++) {
        for (let h = 0; h < H; h++) delta[row * H + h] = softplus(proj[row * inProjDim + dInner + convDim + h] + w.dtBias[h]);
      }
      // 4. scan with D skip: (B·T, dInner)
      const sd = dims(shape);
      const y = new Float32Array(rows * dInner);
      const starts = new Float64Array(shape.B * segments(sd) * H * P * N);
      scanForward(sd, v, delta, negExp(w.aLog), w.D, y, starts);
      // 5. gated group RMSNorm, out_proj: (B·T, dInner) → (B·T, d)
      const { out: yNorm, r } = gatedNormForward(y, z, w.norm, G, config.normEps, rows);
      const out = matmulABt(yNorm, w.outProj, rows, dInner, d);
      return { y: out, cache: { shape, u: u.slice(), proj, z, a, v, delta, starts, y, r, yNorm } };
    },

    backward(params, grads, c, dOut) {
      const { shape } = c;
      const rows = shape.B * shape.T;
      if (dOut.length !== rows * d) throw new OpArgumentError('mamba2 backward', `dy has ${dOut.length} values, expected B·T·d = ${rows * d}`);
      const w = read(params);
      const g = read(grads);
      const A = negExp(w.aLog);
      // 5. out_proj and the gated norm
      const dyNorm = matmulAB(dOut, w.outProj, rows, d, dInner); // (B·T, dInner)
      addMatmulAtB(g.outProj, dOut, c.yNorm, rows, d, dInner);
      const { dy, dz } = gatedNormBackward(c.y, c.z, w.norm, c.r, G, dyNorm, g.norm);
      // 4. the scan, in reverse
      const sg = { dv: new Float32Array(rows * convDim), dDelta: new Float32Array(rows * H), dA: new Float64Array(H), dD: new Float64Array(H) };
      scanBackward(dims(shape), c.v, c.delta, A, w.D, c.starts, dy, sg);
      for (let h = 0; h < H; h++) {
        g.aLog[h] += sg.dA[h] * A[h];
        g.D[h] += sg.dD[h];
      }
      // 3.–1. ∂L/∂p (B·T, inProjDim) = dz | dxBC | ddt, then in_proj
      const dProj = new Float32Array(rows * inProjDim);
      const dtBiasAcc = new Float64Array(H); // (H)
      for (let row = 0; row < rows; row++) {
        const pr = row * inProjDim;
        dProj.set(dz.subarray(row * dInner, (row + 1) * dInner), pr);
        for (let h = 0; h < H; h++) {
          const col = pr + dInner + convDim + h;
          const dRaw = sg.dDelta[row * H + h] * sigmoid(c.proj[col] + w.dtBias[h]);
          dProj[col] = dRaw;
          dtBiasAcc[h] += dRaw;
        }
      }
      for (let h = 0; h < H; h++) g.dtBias[h] += dtBiasAcc[h];
      convBackward(convLayout(shape), c.proj, w.conv, c.a, sg.dv, dProj, g.conv, g.convBias);
      addMatmulAtB(g.inProj, dProj, c.u, rows, inProjDim, d);
      return matmulAB(dProj, w.inProj, rows, inProjDim, d);
    },
  };
};
