// The wasm backend on the layout of NVIDIA's NVFP4 checkpoints (DESIGN §3): every linear weight
// nvfp4 but the embedding and lm_head, which ship in bf16 and stay bf16 (tensors.ts: copied as
// stored; linear.ts: bf16_matmul for the head, bf16_to_f32 for an embedding row). Untied (the
// Nano 4B) and tied (head = embedding). Checked against independent expectations:
//   weight bytes: every tensor at its stored size (2 bytes per bf16 element, the 4-bit codes and
//     E4M3 scales as stored; weight_scale_2 is kept as a number, no bytes), and an f32 table costs
//     exactly 2·V·d bytes more per table than the bf16 one;
//   logits: the reference backend on the same tensors, within the f32 whole-trunk bound plus one
//     int8 (relaxed build) or int16 (SIMD, scalar) activation step (harness.ts); the bf16 head
//     adds no term: its weights decode exactly and it accumulates in f32;
//   threads: with 2 kernel threads the head's bf16_matmul goes out as 2 parts of whole groups of
//     4 rows (linear.ts), and the logits are those of 1 thread bit for bit.

import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { WasmAct, type WasmContext } from '../../../assembly/backend/act.js';
import { createWasmBackend, wasmBackend, wasmScalarBackend, type WasmModel } from '../../../assembly/backend/index.js';
import { instantiateKernels, type WasmKernels } from '../../../assembly/backend/instantiate.js';
import { linear } from '../../../assembly/backend/linear.js';
import { spawnNodeThread } from '../../../assembly/backend/node-threads.js';
import { enableRelaxedSimd, readKernelBuild } from '../../../assembly/backend/node-wasm.js';
import { WasmTensors } from '../../../assembly/backend/tensors.js';
import { KernelThreads } from '../../../assembly/backend/threads.js';
import { parseConfig, type ModelConfig } from '../../../engine/core/config.js';
import { Model } from '../../../engine/core/model.js';
import { headTensorName, sidecarNames } from '../../../engine/core/weights.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { expectNormwiseClose, randomRows, tolPathI8, tolPathQ16 } from '../../conformance/harness.js';
import { memoryTensors, randomModelTensors, type MemoryTensor } from '../../helpers/memory-store.js';
import { quantizedModelTensors } from '../../helpers/quantized-store.js';

const EMBEDDING = 'backbone.embeddings.weight';
const TOKENS = new Int32Array([1, 17, 300, 4, 4, 99, 511, 0, 42]);
const untied = parseConfig(presetConfig('tiny'));
const tied = parseConfig({ ...presetConfig('tiny'), tie_word_embeddings: true });

/** The tables of `config`: the embedding, and lm_head when untied. */
const tables = (config: ModelConfig) => [...new Set([EMBEDDING, headTensorName(config)])];

/** nvfp4 linears (quantized-store.ts) with the embedding and head in `tableDType`, as NVIDIA ships them (bf16). */
function nvidiaLayout(config: ModelConfig, seed: number, tableDType: 'bf16' | 'f32'): Record<string, MemoryTensor> {
  const quant = quantizedModelTensors(config, seed, 'nvfp4');
  const float = randomModelTensors(config, seed, { linearDType: tableDType });
  const out: Record<string, MemoryTensor> = {};
  const dropped = new Set(tables(config).flatMap((t) => [t, ...Object.values(sidecarNames(t))]));
  for (const [name, t] of Object.entries(quant)) if (!dropped.has(name)) out[name] = t;
  for (const t of tables(config)) out[t] = float[t];
  return out;
}

describe.each([
  ['untied (Nano 4B)', untied],
  ['tied', tied],
] as const)('nvfp4 linears with a bf16 embedding and head, %s', (_, config) => {
  const raw = nvidiaLayout(config, 31, 'bf16');

  test('the tables are resident at 2 bytes per element: every tensor at its stored size', async () => {
    const tensors = memoryTensors(config, raw);
    for (const t of tables(config)) expect(tensors.get(t)!.dtype).toBe('bf16');
    const model = (await wasmBackend.load(config, tensors)) as WasmModel;
    const f32 = (await wasmBackend.load(config, memoryTensors(config, nvidiaLayout(config, 31, 'f32')))) as WasmModel;
    try {
      const scale2 = [...tensors.keys()].filter((n) => n.endsWith('.weight_scale_2'));
      const stored = [...tensors.values()].reduce((n, e) => n + e.byteLength, 0);
      expect(model.weightBytes()).toBe(stored - 4 * scale2.length);
      const { vocabSize: V, dModel: d } = config;
      expect(f32.weightBytes() - model.weightBytes()).toBe(tables(config).length * V * d * 2);
    } finally {
      model.dispose();
      f32.dispose();
    }
  });

  test.each([
    ['wasm (relaxed)', wasmBackend],
    ['wasm-simd', createWasmBackend({ build: 'simd' }, 'wasm-simd')],
    ['wasm-scalar', wasmScalarBackend],
  ] as const)('%s: logits of every position and a decode step match the reference', async (__, backend) => {
    const tensors = memoryTensors(config, raw);
    const ref = new Model(await referenceBackend.load(config, tensors));
    const wasm = new Model(await backend.load(config, tensors));
    try {
      const [s1, s2] = [ref.newSequence(16), wasm.newSequence(16)];
      const kPath = 8 * (64 + 4 + 24 + 32 + 64) + 64;
      // every linear but the tables is nvfp4, the router included: one activation step at the trunk's
      // output, int8 on the relaxed build (quantized.test.ts), int16 on the others (linear.ts header)
      const tol = (wasm.ops as WasmModel).kernelBuild === 'relaxed' ? tolPathI8(kPath, 1) : tolPathQ16(kPath, 1);
      expectNormwiseClose([wasm.forward(s2, TOKENS, 'all')], [ref.forward(s1, TOKENS, 'all')], tol);
      expectNormwiseClose([wasm.forward(s2, new Int32Array([7]))], [ref.forward(s1, new Int32Array([7]))], tol);
      // the embedding rows are exact bf16 → f32
      const x = wasm.ops.embed(new Int32Array([0, 511, 300]));
      const y = ref.ops.embed(new Int32Array([0, 511, 300]));
      expect(wasm.ops.download(x)).toEqual(ref.ops.download(y));
      wasm.ops.free(x);
    } finally {
      wasm.ops.dispose();
    }
  });
});

describe('the bf16 head over 2 kernel threads', () => {
  let kernels: WasmKernels;
  let threads: KernelThreads;
  let tensors: WasmTensors;

  beforeAll(async () => {
    enableRelaxedSimd();
    kernels = await instantiateKernels(await readKernelBuild('relaxed', true), true, true);
    threads = await KernelThreads.start(kernels.heap, kernels.module, kernels.exports, 1, spawnNodeThread, 0);
    tensors = await WasmTensors.load(kernels.heap, untied, memoryTensors(untied, nvidiaLayout(untied, 32, 'bf16')));
  });
  afterAll(() => threads?.dispose());

  test('lm_head (512, 64) bf16: 2 bf16_matmul parts of 256 rows, the logits of 1 thread bit for bit (decode and prefill)', () => {
    const base: WasmContext = { config: untied, kernels: kernels.exports, heap: kernels.heap, tensors, relaxed: true };
    const ctx: WasmContext = { ...base, threads };
    const runAll = vi.spyOn(threads, 'runAll');
    const { dModel: d, vocabSize: V } = untied;
    const w = tensors.linear('lm_head.weight');
    expect([w.format, w.rows, w.cols]).toEqual(['bf16', V, d]);
    for (const T of [1, 5]) {
      runAll.mockClear();
      const x = kernels.heap.alloc(T * d * 4);
      kernels.heap.f32(x, T * d).set(randomRows(T, d, 40 + T));
      const act = new WasmAct(x, T, d, kernels.heap); // (T, d)
      const one = linear(base, act, 'lm_head.weight');
      const two = linear(ctx, act, 'lm_head.weight');
      expect(runAll).toHaveBeenCalledTimes(1);
      const parts = runAll.mock.calls[0][0];
      expect(parts.map((p) => p.kernel)).toEqual(['bf16_matmul', 'bf16_matmul']);
      // args: x, W rows [n0, …) at ptr + n0·K·2 bytes, y, T, K, n
      expect(parts.map((p) => [p.args[1] - w.ptr, p.args[3], p.args[4], p.args[5]])).toEqual([
        [0, T, d, V / 2],
        [(V / 2) * d * 2, T, d, V / 2],
      ]);
      const [a, b] = [kernels.heap.f32(one.ptr, T * V).slice(), kernels.heap.f32(two.ptr, T * V).slice()];
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
      for (const p of [x, one.ptr, two.ptr]) kernels.heap.free(p);
    }
  });
});
