// Real Nemotron 3 Nano layer shapes (spec §2) for the conformance tests: one-layer models of each
// kind at d 2688 with bf16 weights, and the rows that run them (wasm vs reference). nano.test.ts
// runs the rows that fit the default suite; nano.slow.test.ts runs the rest.
//   M: H 64, P 64, G 8, N 128, conv 4, chunk 128 (in_proj 2688 → 10304, out_proj 4096 → 2688)
//   *: 32 q / 2 kv heads × 128 (q 2688 → 4096, k/v 2688 → 256, o 4096 → 2688)
//   E: 128 experts top-6, I 1856, shared 3712, routed scale 2.5 (2.5 GB of bf16 experts)
//   embed / head: vocab 131072 (704 MB of bf16 each)
// Expert weights are windows into two shared seeded pools (one per fan-in) so the test does not
// generate gigabytes of random numbers; only the wasm side copies all of them.

import { beforeAll, describe, test } from 'vitest';
import type { Backend, LoadedModel } from '../../engine/core/backend.js';
import { parseConfig, type ModelConfig } from '../../engine/core/config.js';
import { f32ToBf16Bits } from '../../engine/formats/dtype.js';
import type { TensorEntry } from '../../engine/core/weights.js';
import { memoryTensors, mulberry32, randomModelTensors, type MemoryTensor } from '../helpers/memory-store.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { expectNormwiseClose, runBlock, tolPath, uploadRandom, withPrefix } from './harness.js';

const D = 2688;

/** A one-layer Nano config of `pattern`, with `vocab` rows of embedding and head. */
export function nanoConfig(pattern: string, vocab: number, overrides: Record<string, unknown> = {}): ModelConfig {
  return parseConfig({ ...presetConfig('nano'), hybrid_override_pattern: pattern, num_hidden_layers: pattern.length, vocab_size: vocab, ...overrides });
}

/** Seeded bf16 bits, uniform with standard deviation `std`. */
function bf16Pool(n: number, std: number, seed: number): Uint16Array {
  const r = mulberry32(seed);
  const half = std * Math.sqrt(3);
  return Uint16Array.from({ length: n }, () => f32ToBf16Bits(half * (2 * r() - 1)));
}

/** Window stride between experts in a pool (odd, so no two experts share alignment). */
const EXPERT_STRIDE = 1031;

/**
 * Random bf16 tensors for `config`; expert up/down projections are windows into two pools, and
 * the embedding / head (when large) repeat a pool with a per-row shift.
 */
export function nanoTensors(config: ModelConfig, seed: number): Map<string, TensorEntry> {
  const tensors: Record<string, MemoryTensor> = { ...randomModelTensors(config, seed, { linearDType: 'bf16' }) };
  const moe = config.moe;
  if (moe) {
    const numel = moe.expertDim * D;
    const up = bf16Pool(numel + moe.nExperts * EXPERT_STRIDE, 1 / Math.sqrt(D), seed + 1);
    const down = bf16Pool(numel + moe.nExperts * EXPERT_STRIDE, 1 / Math.sqrt(moe.expertDim), seed + 2);
    for (let e = 0; e < moe.nExperts; e++) {
      const at = e * EXPERT_STRIDE;
      tensors[`backbone.layers.0.mixer.experts.${e}.up_proj.weight`] = { dtype: 'bf16', shape: [moe.expertDim, D], data: up.subarray(at, at + numel) };
      tensors[`backbone.layers.0.mixer.experts.${e}.down_proj.weight`] = { dtype: 'bf16', shape: [D, moe.expertDim], data: down.subarray(at, at + numel) };
    }
  }
  if (config.vocabSize > 4096) {
    const pool = bf16Pool(4096 * D + D, 1 / Math.sqrt(D), seed + 3);
    tensors['backbone.embeddings.weight'] = { dtype: 'bf16', shape: [config.vocabSize, D], data: tiledRows(pool, new Uint16Array(config.vocabSize * D), D, 0) };
    tensors['lm_head.weight'] = { dtype: 'bf16', shape: [config.vocabSize, D], data: tiledRows(pool, new Uint16Array(config.vocabSize * D), D, 1) };
  }
  return memoryTensors(config, tensors);
}

/**
 * Fill `out` (rows of width d) from a pool of ≥ 4096·d + d values: row v is pool row v mod 4096
 * shifted by (7v + salt) mod d, so a large table costs one memcpy per row.
 */
export function tiledRows<A extends Uint16Array | Float32Array>(pool: A, out: A, d: number, salt: number): A {
  for (let v = 0; v < out.length / d; v++) {
    const at = (v % 4096) * d + ((v * 7 + salt) % d);
    out.set(pool.subarray(at, at + d), v * d);
  }
  return out;
}

/** One Nano-dimension conformance row. */
export interface NanoRow {
  readonly op: string;
  readonly shapes: string;
  /** The one-layer model it runs on. */
  readonly config: () => ModelConfig;
  readonly tol: number;
  run(m: LoadedModel): Float32Array[];
}

const mamba = () => nanoConfig('M', 256);
const attention = () => nanoConfig('*', 256);
const moe8 = () => nanoConfig('E', 256, { n_routed_experts: 8 });
const moe = () => nanoConfig('E', 256);
const vocab = () => nanoConfig('-', 131072);

// K_path: in_proj d, conv 4, scan (Q + N), group norm 512, out_proj dInner
const MAMBA_K = D + 4 + 128 + 128 + 512 + 4096;
// q/k/v d, scores hd, softmax ≤ 8 keys, o_proj n_q·hd
const ATTN_K = D + 128 + 8 + 4096;
// router d; shared expert d + S (longer than a routed expert d + I, + the Σ over top-6)
const MOE_K = D + 3712 + 6;

/** Rows that fit the default suite (a few seconds each on the reference). */
export const FAST_ROWS: NanoRow[] = [
  {
    op: 'mamba2 prefill T=3 after 2 tokens, then 1 decode step',
    shapes: '(3, 2688) → (3, 2688); (1, 2688) → (1, 2688)',
    config: mamba,
    tol: tolPath(MAMBA_K),
    run: (m) =>
      withPrefix(m, 2, 8, (seq) => [
        runBlock(m, uploadRandom(m, 3, 1), (x) => m.mamba2(0, x, seq), seq),
        runBlock(m, uploadRandom(m, 1, 2), (x) => m.mamba2(0, x, seq), seq),
      ]),
  },
  {
    op: 'attention prefill T=3 after 2 tokens, then 1 decode step (GQA 32/2 × 128)',
    shapes: '(3, 2688) → (3, 2688); (1, 2688) → (1, 2688)',
    config: attention,
    tol: tolPath(ATTN_K),
    run: (m) =>
      withPrefix(m, 2, 8, (seq) => [
        runBlock(m, uploadRandom(m, 3, 3), (x) => m.attention(0, x, seq), seq),
        runBlock(m, uploadRandom(m, 1, 4), (x) => m.attention(0, x, seq), seq),
      ]),
  },
  {
    op: 'moe at Nano widths with 8 experts (top-6, I 1856, S 3712)',
    shapes: '(2, 2688) → (2, 2688)',
    config: moe8,
    tol: tolPath(MOE_K),
    run: (m) => [runBlock(m, uploadRandom(m, 2, 5), (x) => m.moe(0, x))],
  },
];

/** Rows for nano.slow.test.ts: the real 128-expert layer and the 131072-row embedding / head. */
export const SLOW_ROWS: NanoRow[] = [
  {
    op: 'moe, the real Nano layer (128 experts, top-6)',
    shapes: '(3, 2688) → (3, 2688); (1, 2688) → (1, 2688)',
    config: moe,
    tol: tolPath(MOE_K),
    run: (m) => [runBlock(m, uploadRandom(m, 3, 6), (x) => m.moe(0, x)), runBlock(m, uploadRandom(m, 1, 7), (x) => m.moe(0, x))],
  },
  {
    op: 'embed (bf16 rows → f32)',
    shapes: '(4) → (4, 2688)',
    config: vocab,
    tol: 0,
    run: (m) => {
      const x = m.embed(new Int32Array([0, 4097, 131071, 65536]));
      const out = m.download(x);
      m.free(x);
      return [out];
    },
  },
  {
    op: 'head (vocab 131072)',
    shapes: '(2, 2688) → (2, 131072)',
    config: vocab,
    tol: tolPath(D),
    run: (m) => {
      const x = uploadRandom(m, 2, 8);
      const out = m.head(x);
      m.free(x);
      return [out];
    },
  },
  {
    op: 'mlp at Nano widths (relu², I 1856)',
    shapes: '(2, 2688) → (2, 2688)',
    config: vocab,
    tol: tolPath(D + 1856),
    run: (m) => [runBlock(m, uploadRandom(m, 2, 9), (x) => m.mlp(0, x))],
  },
];

/**
 * One vitest `describe` per row: the reference runs the row once, then each backend loads the
 * same tensors and must match it within the row's tolerance.
 */
export function describeNanoRows(rows: readonly NanoRow[], backends: readonly Backend[]): void {
  for (const row of rows) {
    describe(`${row.op} ${row.shapes} tol ${row.tol.toExponential(1)}`, () => {
      let tensors: Map<string, TensorEntry>;
      let config: ModelConfig;
      let want: Float32Array[];
      beforeAll(async () => {
        config = row.config();
        tensors = nanoTensors(config, 5);
        const ref = await referenceBackend.load(config, tensors);
        want = row.run(ref);
        ref.dispose();
      });
      test.each(backends.map((b) => [b.name, b] as const))('%s matches the reference', async (_name, backend) => {
        const m = await backend.load(config, tensors);
        expectNormwiseClose(row.run(m), want, row.tol);
        m.dispose();
      });
    });
  }
}
