// House style H21: the one conformance table. Each row is an op of the LoadedModel interface with
// its shapes, weight dtype and tolerance; every backend runs every row against the `reference`
// backend (f64, the oracle) on seeded random inputs: ops.test.ts (wasm relaxed-SIMD, SIMD and
// scalar builds), tests/gpu/ops.test.ts (webgpu).
//
// Metric and tolerance rule: tests/conformance/harness.ts (tol = GAMMA·√K_path·u, normwise; the
// nvfp4 rows add the int16 activation term of each 4-bit linear on their chain, tolPathQ16; nvfp4
// rows on the relaxed-SIMD build, whose nvfp4 products round to int8, take tolRelaxed = tolPathI8;
// nvfp4-s24 rows take tolPathI8 on every build: the wasm s24 products round to int8, nvfp4s24_gather.ts).

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Act, Backend, LoadedModel } from '../../engine/core/backend.js';
import { parseConfig, type ModelConfig } from '../../engine/core/config.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';
import { ggmlModelTensors, quantizedModelTensors } from '../helpers/quantized-store.js';
import { expectNormwiseClose, randomRows, runBlock, tolPath, tolPathI8, tolPathQ16, U, uploadRandom, withPrefix } from './harness.js';

type ModelKey = 'tiny' | 'tiny-latent' | 'tiny-grouped';
/** ggml block types whose 32-value blocks fit the tiny models' rows (the 256-value K-quants need K % 256 = 0: tests/engine/formats/ggml-blocks.test.ts runs them end to end). */
const GGML = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1'] as const;
type DType = 'f32' | 'bf16' | 'nvfp4' | 'nvfp4-s24' | (typeof GGML)[number];
const DTYPES: readonly DType[] = ['f32', 'bf16', 'nvfp4', 'nvfp4-s24', ...GGML];
/** 4-bit linear weights (DESIGN §3): every linear of the seeded f32 model quantised; decoding is exact. */
const QUANT = ['nvfp4', 'nvfp4-s24'] as const;
const isGgml = (d: DType): d is (typeof GGML)[number] => (GGML as readonly string[]).includes(d);

// tiny: d 64, 'ME*M-E*E', Mamba 4×16 G 2 N 16 Q 8, attention 4 q / 2 kv × 16, MoE 8 top-2 I 32 S 64, MLP 128
// tiny-latent: LatentMoE ℓ 32, 16 experts top-4; tiny-grouped: tiny with n_group 4, topk_group 2
const CONFIGS: Record<ModelKey, () => ModelConfig> = {
  tiny: () => parseConfig(presetConfig('tiny')),
  'tiny-latent': () => parseConfig(presetConfig('tiny-latent')),
  'tiny-grouped': () => parseConfig({ ...presetConfig('tiny'), n_group: 4, topk_group: 2 }),
};

export interface Row {
  readonly op: string;
  readonly shapes: string;
  readonly model: ModelKey;
  readonly dtype: DType;
  readonly tol: number;
  /** The tolerance on the relaxed-SIMD build where it differs (nvfp4: int8 activations, tolPathI8). */
  readonly tolRelaxed?: number;
  run(m: LoadedModel): Float32Array[];
}

const D = 64;
const Q = 8;
const stateless = (m: LoadedModel, rows: number, seed: number, f: (x: Act) => Act) => [runBlock(m, uploadRandom(m, rows, seed), f)];

/**
 * nvfp4 linears round their input to int16: nQ such linears on the chain (harness.ts); on the
 * relaxed-SIMD build nvfp4 linears round it to int8 (tolRelaxed = tolPathI8), and nvfp4-s24 ones
 * do on every build (tolPathI8).
 */
const tolFor = (dtype: DType, kPath: number, nQ: number): Pick<Row, 'tol' | 'tolRelaxed'> => ({
  tol: dtype === 'nvfp4' ? tolPathQ16(kPath, nQ) : dtype === 'nvfp4-s24' ? tolPathI8(kPath, nQ) : tolPath(kPath),
  ...(dtype === 'nvfp4' ? { tolRelaxed: tolPathI8(kPath, nQ) } : {}),
});

const mambaRow = (op: string, prefix: number, T: number, dtype: DType): Row => ({
  op,
  shapes: `(${T}, 64) → (${T}, 64) after ${prefix} tokens, then 1 decode step`,
  model: 'tiny',
  dtype,
  ...tolFor(dtype, D + 4 + (Q + 16) + 32 + 64, 2), // in_proj d, conv 4, scan Q + N, group norm 32, out_proj dInner; 4-bit: in_proj, out_proj
  run: (m) =>
    withPrefix(m, prefix, 64, (seq) => [
      runBlock(m, uploadRandom(m, T, 11), (x) => m.mamba2(0, x, seq), seq),
      runBlock(m, uploadRandom(m, 1, 12), (x) => m.mamba2(0, x, seq), seq), // reads the state the row wrote back
    ]),
});

export const ROWS: Row[] = [
  ...(['f32', 'bf16'] as const).map<Row>((dtype) => ({
    op: 'embed', shapes: '(4) → (4, 64)', model: 'tiny', dtype, tol: 0,
    run: (m) => {
      const x = m.embed(new Int32Array([0, 7, 511, 7]));
      const out = m.download(x);
      m.free(x);
      return [out];
    },
  })),
  // 4-bit and ggml blocks: every op that reads a linear weight (the fused kernels, the embedding
  // gather by decoding); ggml blocks decode exactly and keep f32 activations, so they take tolPath
  ...[...QUANT, ...GGML].flatMap<Row>((dtype) => [
    { op: 'embed (decoded rows)', shapes: '(4) → (4, 64)', model: 'tiny', dtype, tol: 0,
      run: (m) => {
        const x = m.embed(new Int32Array([0, 7, 511, 300]));
        const out = m.download(x);
        m.free(x);
        return [out];
      } },
    { op: 'matmul in_proj, prefill', shapes: '(5, 64) → (5, 196)', model: 'tiny', dtype, ...tolFor(dtype, D, 1),
      run: (m) => stateless(m, 5, 5, (x) => m.matmul(x, 'backbone.layers.0.mixer.in_proj.weight')) },
    { op: 'matmul out_proj, decode', shapes: '(1, 64) → (1, 64)', model: 'tiny', dtype, ...tolFor(dtype, D, 1),
      run: (m) => stateless(m, 1, 6, (x) => m.matmul(x, 'backbone.layers.0.mixer.out_proj.weight')) },
    mambaRow('mamba2 prefill T=5', 3, 5, dtype),
    { op: 'attention prefill + decode (GQA 4/2)', shapes: '(6, 64) then (1, 64), after 3 tokens', model: 'tiny', dtype,
      ...tolFor(dtype, D + 16 + 10 + 64, 2), // q/k/v, o_proj
      run: (m) =>
        withPrefix(m, 3, 64, (seq) => [
          runBlock(m, uploadRandom(m, 6, 30), (x) => m.attention(2, x, seq), seq),
          runBlock(m, uploadRandom(m, 1, 31), (x) => m.attention(2, x, seq), seq),
        ]) },
    { op: 'moe prefill (8 experts, top-2)', shapes: '(7, 64) → (7, 64)', model: 'tiny', dtype, ...tolFor(dtype, D + 64 + 2, 2),
      run: (m) => stateless(m, 7, 40, (x) => m.moe(1, x)) },
    { op: 'moe decode', shapes: '(1, 64) → (1, 64)', model: 'tiny', dtype, ...tolFor(dtype, D + 64 + 2, 2), // up, down
      run: (m) => stateless(m, 1, 41, (x) => m.moe(5, x)) },
    { op: 'moe latent (ℓ 32, 16 experts, top-4)', shapes: '(7, 64) → (7, 64)', model: 'tiny-latent', dtype,
      ...tolFor(dtype, D + 32 + 32 + 4 + 32, 4), // fc1, up, down, fc2
      run: (m) => stateless(m, 7, 42, (x) => m.moe(1, x)) },
    { op: 'mlp (relu², I 128)', shapes: '(5, 64) → (5, 64)', model: 'tiny', dtype, ...tolFor(dtype, D + 128, 2),
      run: (m) => stateless(m, 5, 50, (x) => m.mlp(4, x)) },
    { op: 'head', shapes: '(3, 64) → (3, 512)', model: 'tiny', dtype, ...tolFor(dtype, D, 1),
      run: (m) => {
        const x = m.upload(randomRows(3, D, 60), 3, D);
        const out = m.head(x);
        m.free(x);
        return [out];
      } },
  ]),
  { op: 'rmsnorm', shapes: '(5, 64) → (5, 64)', model: 'tiny', dtype: 'f32', tol: (D / 32 + 6) * U, // the rmsnorm kernel's relative bound
    run: (m) => stateless(m, 5, 1, (x) => m.rmsnorm(x, 'backbone.layers.0.norm.weight')) },
  { op: 'addInPlace', shapes: '(5, 64) += (5, 64)', model: 'tiny', dtype: 'f32', tol: U,
    run: (m) => stateless(m, 5, 2, (x) => {
      const y = m.upload(randomRows(5, D, 3), 5, D);
      m.addInPlace(x, y);
      m.free(y);
      return m.sliceRows(x, 0, 5);
    }) },
  { op: 'sliceRows', shapes: '(5, 64) → rows [1, 4)', model: 'tiny', dtype: 'f32', tol: 0,
    run: (m) => stateless(m, 5, 4, (x) => m.sliceRows(x, 1, 3)) },
  ...(['f32', 'bf16'] as const).flatMap<Row>((dtype) => [
    { op: 'matmul in_proj, prefill', shapes: '(5, 64) → (5, 196)', model: 'tiny', dtype, tol: tolPath(D),
      run: (m) => stateless(m, 5, 5, (x) => m.matmul(x, 'backbone.layers.0.mixer.in_proj.weight')) },
    { op: 'matmul out_proj, decode', shapes: '(1, 64) → (1, 64)', model: 'tiny', dtype, tol: tolPath(D),
      run: (m) => stateless(m, 1, 6, (x) => m.matmul(x, 'backbone.layers.0.mixer.out_proj.weight')) },
  ]),
  mambaRow('mamba2 prefill T=1', 3, 1, 'f32'),
  mambaRow('mamba2 prefill T=5', 3, 5, 'f32'),
  mambaRow('mamba2 prefill T=Q+3 (two chunks)', 3, Q + 3, 'f32'),
  mambaRow('mamba2 prefill T=Q+3 (two chunks)', 3, Q + 3, 'bf16'),
  { op: 'mamba2 decode ×3', shapes: '3 × (1, 64) → (1, 64) after 4 tokens', model: 'tiny', dtype: 'f32',
    tol: tolPath(D + 4 + 16 + 32 + 64),
    run: (m) => withPrefix(m, 4, 64, (seq) => [1, 2, 3].map((s) => runBlock(m, uploadRandom(m, 1, 20 + s), (x) => m.mamba2(3, x, seq), seq))) },
  ...(['f32', 'bf16'] as const).map<Row>((dtype) => ({
    op: 'attention prefill + decode ×2 (GQA 4/2)', shapes: '(6, 64) then 2 × (1, 64), after 3 tokens', model: 'tiny', dtype,
    tol: tolPath(D + 16 + 11 + 64), // q/k/v d, scores hd, softmax sum ≤ 11 keys, o_proj n_q·hd
    run: (m) =>
      withPrefix(m, 3, 64, (seq) => [
        runBlock(m, uploadRandom(m, 6, 30), (x) => m.attention(2, x, seq), seq),
        runBlock(m, uploadRandom(m, 1, 31), (x) => m.attention(2, x, seq), seq),
        runBlock(m, uploadRandom(m, 1, 32), (x) => m.attention(2, x, seq), seq),
      ]),
  })),
  ...(['f32', 'bf16'] as const).flatMap<Row>((dtype) => [
    { op: 'moe prefill (8 experts, top-2)', shapes: '(7, 64) → (7, 64)', model: 'tiny', dtype, tol: tolPath(D + 64 + 2),
      run: (m) => stateless(m, 7, 40, (x) => m.moe(1, x)) },
    { op: 'moe decode', shapes: '(1, 64) → (1, 64)', model: 'tiny', dtype, tol: tolPath(D + 64 + 2),
      run: (m) => stateless(m, 1, 41, (x) => m.moe(5, x)) },
  ]),
  { op: 'moe latent (ℓ 32, 16 experts, top-4)', shapes: '(7, 64) → (7, 64)', model: 'tiny-latent', dtype: 'bf16',
    tol: tolPath(D + 32 + 32 + 4 + 32), // fc1 d, up ℓ, down I, Σ_k, fc2 ℓ (shared: d + S is shorter)
    run: (m) => stateless(m, 7, 42, (x) => m.moe(1, x)) },
  { op: 'moe group-limited (n_group 4, topk_group 2)', shapes: '(7, 64) → (7, 64)', model: 'tiny-grouped', dtype: 'f32',
    tol: tolPath(D + 64 + 2),
    run: (m) => stateless(m, 7, 43, (x) => m.moe(7, x)) },
  { op: 'mlp (relu², I 128)', shapes: '(5, 64) → (5, 64)', model: 'tiny', dtype: 'bf16', tol: tolPath(D + 128),
    run: (m) => stateless(m, 5, 50, (x) => m.mlp(4, x)) },
  ...(['f32', 'bf16'] as const).map<Row>((dtype) => ({
    op: 'head', shapes: '(3, 64) → (3, 512)', model: 'tiny', dtype, tol: tolPath(D),
    run: (m) => {
      const x = m.upload(randomRows(3, D, 60), 3, D);
      const out = m.head(x);
      m.free(x);
      return [out];
    },
  })),
];

/**
 * One `describe` per backend: every row runs on the backend's model and on the reference model of
 * the same seeded tensors, and must match within the row's tolerance. `backends` are loaded once
 * per (model, dtype) in beforeAll and disposed in afterAll.
 * @example describeOpRows([wasmBackend, wasmScalarBackend]);
 */
export function describeOpRows(backends: readonly Backend[], rows: readonly Row[] = ROWS): void {
  const models = new Map<string, LoadedModel>();
  const key = (backend: string, model: ModelKey, dtype: DType) => `${backend}/${model}/${dtype}`;
  beforeAll(async () => {
    for (const model of Object.keys(CONFIGS) as ModelKey[]) {
      for (const dtype of DTYPES) {
        if (!rows.some((r) => r.model === model && r.dtype === dtype)) continue;
        const config = CONFIGS[model]();
        const raw =
          dtype === 'f32' || dtype === 'bf16'
            ? randomModelTensors(config, 17, { linearDType: dtype })
            : isGgml(dtype)
              ? ggmlModelTensors(config, 17, dtype)
              : quantizedModelTensors(config, 17, dtype);
        const tensors = memoryTensors(config, raw);
        for (const backend of [referenceBackend, ...backends]) {
          models.set(key(backend.name, model, dtype), await backend.load(config, tensors));
        }
      }
    }
  });
  afterAll(() => {
    for (const m of models.values()) m.dispose();
  });

  const label = (r: Row) => `${r.op} ${r.dtype} ${r.shapes} tol ${r.tol.toExponential(1)}${r.tolRelaxed === undefined ? '' : ` (relaxed build ${r.tolRelaxed.toExponential(1)})`}`;
  describe.each(backends.map((b) => b.name))('%s vs reference', (backend) => {
    test.each(rows.map((r) => [label(r), r] as const))('%s', (_label, row) => {
      const m = models.get(key(backend, row.model, row.dtype))!;
      const relaxed = (m as { kernelBuild?: string }).kernelBuild === 'relaxed'; // the wasm backend's build
      expectNormwiseClose(row.run(m), row.run(models.get(key('reference', row.model, row.dtype))!), relaxed ? (row.tolRelaxed ?? row.tol) : row.tol);
    });
  });
}
