import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../engine/core/config.js';
import { RefAct } from '../../../engine/reference/act.js';
import { referenceBackend, type ReferenceModel } from '../../../engine/reference/index.js';
import { causalConv } from '../../../engine/reference/mamba2.js';
import type { RefSequenceState } from '../../../engine/reference/state.js';
import { memoryTensors, mulberry32, randomModelTensors, type MemoryTensor } from '../../helpers/memory-store.js';

const f32 = (shape: number[], values: number[]): MemoryTensor => ({ dtype: 'f32', shape, data: Float32Array.from(values) });
// written from the definitions, independently of engine/reference/activations.ts
const silu = (a: number) => a / (1 + Math.exp(-a));
const softplus = (a: number) => Math.log(1 + Math.exp(a));

async function load(raw: Record<string, unknown>, overrides: Record<string, MemoryTensor> = {}, seed = 1): Promise<ReferenceModel> {
  const config = parseConfig(raw);
  const tensors = { ...randomModelTensors(config, seed), ...overrides };
  return (await referenceBackend.load(config, memoryTensors(config, tensors))) as ReferenceModel;
}

describe('causal depthwise conv with its window (spec §6.2)', () => {
  it('matches a hand computation, and keeps the last K−1 pre-activation rows', () => {
    // one channel, K = 3: window [a, b] then tokens [c, d]
    const window = Float64Array.from([1, 2]);
    const xBC = new RefAct(Float64Array.from([3, -4]), 2, 1);
    const v = causalConv(xBC, window, Float64Array.from([0.5, -1, 2]), Float64Array.from([0.25]), 3);
    expect(v.data[0]).toBeCloseTo(silu(0.25 + 0.5 * 1 - 1 * 2 + 2 * 3), 15);
    expect(v.data[1]).toBeCloseTo(silu(0.25 + 0.5 * 2 - 1 * 3 + 2 * -4), 15);
    expect([...window]).toEqual([3, -4]);
  });

  it('T rows at once equal the same rows one at a time through the window', () => {
    const rand = mulberry32(5);
    const C = 5;
    const K = 4;
    const T = 6;
    const W = Float64Array.from({ length: C * K }, () => rand() - 0.5);
    const bias = Float64Array.from({ length: C }, () => rand() - 0.5);
    const w0 = Float64Array.from({ length: (K - 1) * C }, () => rand() - 0.5);
    const xBC = new RefAct(Float64Array.from({ length: T * C }, () => 2 * rand() - 1), T, C);
    const winAll = w0.slice();
    const all = causalConv(xBC, winAll, W, bias, K);
    const winOne = w0.slice();
    for (let t = 0; t < T; t++) {
      const one = causalConv(new RefAct(xBC.row(t).slice(), 1, C), winOne, W, bias, K);
      expect([...one.data]).toEqual([...all.row(t)]);
    }
    expect([...winOne]).toEqual([...winAll]);
    // and T < K−1: two rows shift the window by two
    const win2 = w0.slice();
    causalConv(new RefAct(xBC.data.slice(0, 2 * C), 2, C), win2, W, bias, K);
    expect([...win2]).toEqual([...w0.slice(2 * C), ...xBC.data.slice(0, 2 * C)]);
  });
});

describe('Mamba-2 mixer (spec §6)', () => {
  // d = 1; H = 1 head of P = 2, G = 1, N = 1, conv K = 2: in_proj width 2·2 + 2·1 + 1 = 7
  const TINY = {
    vocab_size: 4,
    hidden_size: 1,
    hybrid_override_pattern: 'M',
    mamba_num_heads: 1,
    mamba_head_dim: 2,
    n_groups: 1,
    ssm_state_size: 1,
    conv_kernel: 2,
    chunk_size: 4,
  };
  const pre = 'backbone.layers.0.mixer.';
  const weights = {
    [`${pre}in_proj.weight`]: f32([7, 1], [0.5, -1, 2, 1, -1, 3, 0.25]), // z0 z1 | x0 x1 B C | dt
    [`${pre}conv1d.weight`]: f32([4, 1, 2], [0.375, 1, 0.75, -0.5, 0.5, -1, 1, 0.5]), // per channel [previous, current]
    [`${pre}conv1d.bias`]: f32([4], [0.125, 0.25, 0.25, -0.25]),
    [`${pre}dt_bias`]: f32([1], [0.375]),
    [`${pre}A_log`]: f32([1], [Math.LN2]), // A = −exp(ln 2 rounded to f32) ≈ −2
    [`${pre}D`]: f32([1], [0.5]),
    [`${pre}norm.weight`]: f32([2], [1.5, -0.5]),
    [`${pre}out_proj.weight`]: f32([1, 2], [1, 2]),
  };

  it('matches a two-token computation by hand (split order, conv window, Δ, A, D, gate, group norm)', async () => {
    const model = await load(TINY, weights);
    const seq = model.newSequence(8);
    const out = (model.mamba2(0, model.upload(Float32Array.from([1.5, -1]), 2, 1), seq) as RefAct).data;

    const eps = model.config.normEps;
    // token 1: p = 1.5 · in_proj; window is zero
    // (every weight is exact in f32 except A_log)
    const A = -Math.exp(Math.fround(Math.LN2));
    const x1 = [silu(0.125 + 1 * 3), silu(0.25 + -0.5 * 1.5)];
    const B1 = silu(0.25 + -1 * -1.5);
    const C1 = silu(-0.25 + 0.5 * 4.5);
    const d1 = softplus(0.375 + 0.375);
    // token 2: p = −1 · in_proj; the window holds token 1's pre-activation xBC [3, 1.5, −1.5, 4.5]
    const x2 = [silu(0.125 + 0.375 * 3 + 1 * -2), silu(0.25 + 0.75 * 1.5 + -0.5 * -1)];
    const B2 = silu(0.25 + 0.5 * -1.5 + -1 * 1);
    const C2 = silu(-0.25 + 1 * 4.5 + 0.5 * -3);
    const d2 = softplus(-0.25 + 0.375);
    const S1 = [d1 * B1 * x1[0], d1 * B1 * x1[1]];
    const y1 = [C1 * S1[0] + 0.5 * x1[0], C1 * S1[1] + 0.5 * x1[1]];
    const S2 = [Math.exp(A * d2) * S1[0] + d2 * B2 * x2[0], Math.exp(A * d2) * S1[1] + d2 * B2 * x2[1]];
    const y2 = [C2 * S2[0] + 0.5 * x2[0], C2 * S2[1] + 0.5 * x2[1]];
    const outOf = (y: number[], z: number[]) => {
      const g = [y[0] * silu(z[0]), y[1] * silu(z[1])];
      const r = Math.sqrt((g[0] * g[0] + g[1] * g[1]) / 2 + eps);
      return 1 * ((1.5 * g[0]) / r) + 2 * ((-0.5 * g[1]) / r);
    };
    expect(out[0]).toBeCloseTo(outOf(y1, [0.75, -1.5]), 12);
    expect(out[1]).toBeCloseTo(outOf(y2, [-0.5, 1]), 12);
    // the SSM state after two tokens, (H, P, N) = (1, 2, 1)
    const ssm = (seq as RefSequenceState).mambaLayer(0).ssm;
    expect(ssm[0]).toBeCloseTo(S2[0], 13);
    expect(ssm[1]).toBeCloseTo(S2[1], 13);
    expect(Math.abs(S2[0]) + Math.abs(S2[1])).toBeGreaterThan(0.1);
  });

  it('takes the conv weight as [convDim, 1, K] or [convDim, K] (same bytes)', async () => {
    const conv = weights[`${pre}conv1d.weight`];
    const flat = await load(TINY, { ...weights, [`${pre}conv1d.weight`]: { ...conv, shape: [4, 2] } });
    const model = await load(TINY, weights);
    const u = Float32Array.from([1.5, -1]);
    const a = model.mamba2(0, model.upload(u, 2, 1), model.newSequence(2)) as RefAct;
    const b = flat.mamba2(0, flat.upload(u, 2, 1), flat.newSequence(2)) as RefAct;
    expect([...b.data]).toEqual([...a.data]);
  });

  it('prefill (chunked SSD, T not a multiple of Q) equals token-by-token decode, outputs and state', async () => {
    const raw = {
      vocab_size: 4,
      hidden_size: 12,
      hybrid_override_pattern: 'M',
      mamba_num_heads: 4,
      mamba_head_dim: 3,
      n_groups: 2,
      ssm_state_size: 5,
      conv_kernel: 4,
      chunk_size: 3,
    };
    const model = await load(raw, {}, 11);
    const rand = mulberry32(3);
    const T = 7;
    const u = Float32Array.from({ length: T * 12 }, () => 2 * rand() - 1);
    const seqAll = model.newSequence(T);
    const all = model.mamba2(0, model.upload(u, T, 12), seqAll) as RefAct;
    const seqOne = model.newSequence(T);
    let maxOut = 0;
    let maxDiff = 0;
    for (let t = 0; t < T; t++) {
      const one = model.mamba2(0, model.upload(u.slice(t * 12, (t + 1) * 12), 1, 12), seqOne) as RefAct;
      one.data.forEach((v, i) => {
        maxOut = Math.max(maxOut, Math.abs(v));
        maxDiff = Math.max(maxDiff, Math.abs(v - all.data[t * 12 + i]));
      });
    }
    expect(maxOut).toBeGreaterThan(0.01);
    expect(maxDiff).toBeLessThanOrEqual(1e-12 * maxOut);
    const a = (seqAll as RefSequenceState).mambaLayer(0);
    const b = (seqOne as RefSequenceState).mambaLayer(0);
    expect([...b.conv]).toEqual([...a.conv]);
    b.ssm.forEach((v, i) => expect(Math.abs(v - a.ssm[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
  });
});
