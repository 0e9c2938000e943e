// spec §11 speculative decoding (engine/decode/speculative.ts), on random tiny-latent weights (greedy
// exactness is in speculative-greedy.test.ts):
// - sampling exactness, by chi-square tests at α = 0.001: the acceptance rule on fixed
//   distributions (60 000 rounds: the first token ~ p_0, the second ~ p_1(· | first)); through the
//   model (vocabulary 8), the empirical joint distribution of the 2nd and 3rd generated tokens
//   (both decided by the rule with k = 2) against the trunk's exact one; the same tests reject
//   wrong rules (always accept; min(1, q/p));
// - rollback, both strategies (replay the Mamba layers; recompute the trunk): after rounds with
//   rejected drafts the decoder's trunk state (conv windows, SSM states, KV rows) equals the
//   state plain decoding reaches, and so do the next logits.
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import type { Backend } from '../../../engine/core/backend.js';
import { Model } from '../../../engine/core/model.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import type { RefSequenceState } from '../../../engine/reference/state.js';
import { distribution, type Distribution, type SamplerOptions } from '../../../engine/decode/sample.js';
import { draw, residual, SpeculativeDecoder, standardAccept, verifyDrafts, type AcceptRule, type RollbackStrategy } from '../../../engine/decode/speculative.js';
import { Prng } from '../../../engine/decode/prng.js';
import { expectNormwiseClose } from '../../conformance/harness.js';
import { mtpPrompt, mtpSession, mtpTensors, tinyLatentConfig } from './mtp-models.js';

/**
 * Pearson's chi-square of observed counts against expected counts, over groups of cells (each
 * group a distribution with its own total): cells with expected count < 5 are pooled per group;
 * df = cells − groups. The critical value at α = 0.001 is the Wilson–Hilferty approximation
 * (z = 3.0902). Throws if a cell of probability 0 was observed.
 */
function chiSquare(groups: readonly { counts: Float64Array; probs: Float64Array }[]): { stat: number; critical: number } {
  let stat = 0;
  let df = 0;
  for (const { counts, probs } of groups) {
    const n = counts.reduce((a, b) => a + b, 0);
    if (n === 0) continue;
    let cells = 0;
    let pooledObs = 0;
    let pooledExp = 0;
    counts.forEach((obs, i) => {
      const exp = n * probs[i];
      if (exp === 0 && obs > 0) throw new Error(`cell ${i} has probability 0 but ${obs} samples`);
      if (exp >= 5) {
        stat += (obs - exp) ** 2 / exp;
        cells++;
      } else {
        pooledObs += obs;
        pooledExp += exp;
      }
    });
    if (pooledExp > 0) {
      stat += (pooledObs - pooledExp) ** 2 / pooledExp;
      cells++;
    }
    df += cells - 1;
  }
  const critical = df * (1 - 2 / (9 * df) + 3.0902 * Math.sqrt(2 / (9 * df))) ** 3;
  return { stat, critical };
}

/** The chi-square result, or 'impossible token' when a token of probability 0 was drawn. */
function chiSquareOrImpossible(groups: () => { counts: Float64Array; probs: Float64Array }[]) {
  try {
    return chiSquare(groups());
  } catch {
    return 'impossible token' as const;
  }
}

const alwaysAccept: AcceptRule = () => true;
const inverted: AcceptRule = (pd, qd, u) => u * pd < qd; // min(1, q/p)

describe('the acceptance rule (verifyDrafts), on fixed distributions', () => {
  // V = 6, k = 2: p_0, p_1(· | x) per first token x, and draft distributions q_1, q_2
  const V = 6;
  const ids = Int32Array.from({ length: V }, (_, i) => i);
  const dist = (w: number[]): Distribution => {
    const total = w.reduce((a, b) => a + b, 0);
    return { ids, probs: Float64Array.from(w, (x) => x / total) };
  };
  const p0 = dist([5, 1, 3, 0, 2, 4]);
  const p1 = Array.from({ length: V }, (_, x) => dist(Array.from({ length: V }, (_, y) => 1 + ((x * 7 + y * 3) % 5))));
  const q = [dist([1, 4, 1, 2, 6, 1]), dist([3, 1, 1, 1, 1, 3])];

  /** n rounds: counts of the first token, and of the second given an accepted first. */
  function rounds(n: number, accept: AcceptRule) {
    const rng = new Prng(7, 'verify-test');
    const first = new Float64Array(V);
    const second = Array.from({ length: V }, () => new Float64Array(V));
    for (let r = 0; r < n; r++) {
      const drafts = Int32Array.from(q, (qi) => draw(qi, rng.uniform()));
      const out = verifyDrafts(drafts, q, (i) => (i === 0 ? p0 : p1[drafts[0]]), () => {}, () => rng.uniform(), accept);
      first[out[0]]++;
      if (out.length > 1) second[out[0]][out[1]]++;
    }
    return [{ counts: first, probs: p0.probs }, ...second.map((counts, x) => ({ counts, probs: p1[x].probs }))];
  }

  it('emits p_0 first, then p_1(· | x) after an accepted x (χ², α = 0.001, 60 000 rounds)', () => {
    const { stat, critical } = chiSquare(rounds(60_000, standardAccept));
    expect(stat).toBeLessThan(critical);
  });

  it('the same test rejects always-accept and min(1, q/p)', () => {
    for (const wrong of [alwaysAccept, inverted]) {
      const result = chiSquareOrImpossible(() => rounds(60_000, wrong));
      if (result !== 'impossible token') expect(result.stat).toBeGreaterThan(result.critical);
    }
  });

  it('rejects toward normalize(max(0, p − q)) and never emits a token p rules out', () => {
    // p_0 − q_1 = [5−1, 1−4, 3−1, 0−2, 2−6, 4−1] / 15 → max(0, ·) = [4, 0, 2, 0, 0, 3] / 15 → / (9/15)
    expect([...residual(p0, q[0]).probs].map((x) => +x.toFixed(12))).toEqual([4 / 9, 0, 2 / 9, 0, 0, 3 / 9].map((x) => +x.toFixed(12)));
    const counts = rounds(5000, standardAccept)[0].counts;
    expect(counts[3]).toBe(0); // p_0(3) = 0
  });
});

describe('sampling exactness through the model (vocabulary 8, wasm)', () => {
  const V = 8;
  const config = tinyLatentConfig(V, 'M*E');
  const tensors = mtpTensors(config, 21);
  const prompt = Int32Array.from(mtpPrompt(6, 4, V));
  const options: SamplerOptions = { temperature: 0.8, topP: 0.95 };

  /** The trunk's exact P(x2, x3) = Σ_x1 p(x1) p(x2 | x1) p(x3 | x1, x2), (V·V) row-major. */
  function exactPairs(model: Model): Float64Array {
    const T = prompt.length;
    const pairs = new Float64Array(V * V);
    const probs = (logits: Float32Array, row: number) => {
      const { ids, probs: p } = distribution(logits.slice(row * V, (row + 1) * V), options);
      const full = new Float64Array(V);
      ids.forEach((id, i) => (full[id] = p[i]));
      return full;
    };
    for (let x1 = 0; x1 < V; x1++) {
      for (let x2 = 0; x2 < V; x2++) {
        const seq = model.newSequence(T + 2);
        const logits = model.forward(seq, Int32Array.of(...prompt, x1, x2), 'all'); // (T + 2, V)
        seq.free();
        const p1 = probs(logits, T - 1)[x1];
        const p2 = probs(logits, T)[x2];
        const p3 = probs(logits, T + 1);
        for (let x3 = 0; x3 < V; x3++) pairs[x2 * V + x3] += p1 * p2 * p3[x3];
      }
    }
    return pairs;
  }

  /** Counts of (x2, x3) over n seeded speculative generations with k = 2 and the given rule. */
  function sampledPairs(model: Model, n: number, accept: AcceptRule): Float64Array {
    const counts = new Float64Array(V * V);
    for (let seed = 0; seed < n; seed++) {
      const dec = new SpeculativeDecoder(model, { ...options, seed, k: 2, accept }, prompt.length + 8);
      const ids = [dec.first(prompt)];
      while (ids.length < 3) ids.push(...dec.next(3 - ids.length + 1));
      dec.free();
      counts[ids[1] * V + ids[2]]++;
    }
    return counts;
  }

  it('the joint distribution of the 2nd and 3rd tokens is the trunk’s (χ², α = 0.001); always-accept is rejected', async () => {
    const session = await mtpSession(config, tensors, wasmBackend);
    const model = session.model;
    const exact = exactPairs(model);
    expect(exact.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const good = chiSquare([{ counts: sampledPairs(model, 1000, standardAccept), probs: exact }]);
    expect(good.stat, `χ² ${good.stat.toFixed(1)} vs critical ${good.critical.toFixed(1)}`).toBeLessThan(good.critical);
    const wrong = chiSquareOrImpossible(() => [{ counts: sampledPairs(model, 400, alwaysAccept), probs: exact }]);
    if (wrong !== 'impossible token') expect(wrong.stat).toBeGreaterThan(wrong.critical);
  });
});

describe('rollback', () => {
  /**
   * Four speculative rounds (greedy, random drafts: rejections) after a 19-token prompt, and plain
   * decoding of the same tokens (the prompt, then each emitted token but the last).
   */
  async function decodeBoth(backend: Backend, k: number, rollback: RollbackStrategy) {
    const config = tinyLatentConfig();
    const { model } = await mtpSession(config, mtpTensors(config, 3), backend);
    const prompt = Int32Array.from(mtpPrompt(19, 5, config.vocabSize));
    const dec = new SpeculativeDecoder(model, { temperature: 0, k, rollback }, 64);
    const ids = [dec.first(prompt)];
    for (let r = 0; r < 4; r++) ids.push(...dec.next(16));
    expect(dec.stats.rollbacks).toBeGreaterThan(0);
    const plain = model.newSequence(64);
    model.forward(plain, prompt);
    for (const id of ids.slice(0, -1)) model.forward(plain, Int32Array.of(id));
    expect(dec.trunkState.position).toBe(plain.position);
    return { config, model, dec, plain, last: Int32Array.of(ids[ids.length - 1]) };
  }

  it.each(['replay', 'recompute'] as const)('%s: after rejected drafts the trunk state equals plain decoding’s (reference: conv, SSM, KV rows; next logits)', async (rollback) => {
    const { config, model, dec, plain, last } = await decodeBoth(referenceBackend, 3, rollback);
    const spec = dec.trunkState as RefSequenceState;
    const ref = plain as RefSequenceState;
    const close = (a: Float64Array, b: Float64Array) => {
      const scale = Math.max(...b.map(Math.abs));
      expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeLessThanOrEqual(1e-12 * scale);
    };
    for (const layer of config.layers.slice(0, config.nTrunkLayers)) {
      if (layer.kind === 'M') {
        close(spec.mambaLayer(layer.il).conv, ref.mambaLayer(layer.il).conv);
        close(spec.mambaLayer(layer.il).ssm, ref.mambaLayer(layer.il).ssm);
      } else if (layer.kind === '*') {
        const rows = ref.position * config.attention!.nKvHeads * config.attention!.headDim;
        close(spec.kvLayer(layer.il).k.subarray(0, rows), ref.kvLayer(layer.il).k.subarray(0, rows));
        close(spec.kvLayer(layer.il).v.subarray(0, rows), ref.kvLayer(layer.il).v.subarray(0, rows));
      }
    }
    expectNormwiseClose([model.forward(spec, last)], [model.forward(ref, last)], 1e-12);
    dec.free();
  });

  it.each(['replay', 'recompute'] as const)('%s on wasm: the next logits after rejected rounds equal plain decoding’s', async (rollback) => {
    const { model, dec, plain, last } = await decodeBoth(wasmBackend, 4, rollback);
    expectNormwiseClose([model.forward(dec.trunkState, last)], [model.forward(plain, last)], 1e-4);
    dec.free();
  });
});
