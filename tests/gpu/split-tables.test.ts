// The webgpu backend with the embedding and the head larger than one storage binding (DESIGN §3,
// gpu/tensors.ts): on the `tiny` shape (V 512, d 64) with bindings capped at 4096 bytes, a bf16
// table (128 bytes a row) is 16 parts of 32 rows and an nvfp4 table 4 parts of 128 rows (32 bytes
// of codes a row; its scales, 4 bytes a row, bind separately); untied (the Nano 4B, with NVIDIA's layout: nvfp4 linears, bf16 tables) and tied
// (head = embedding). With maxWorkgroups capped too, every part of the head goes out in blocks of
// columns (gpu/linear.ts: the 131072-row head on subgroups of 32 needs 65536 workgroups, one past
// the default limit). Checked against independent expectations:
//   parts: GpuTensors on a device that records its buffers: every part within the cap, the parts
//     covering rows [0, V) in order, each holding exactly its rows' stored bytes (2 per bf16 element);
//   values: the reference backend on the same tensors: the embedding rows exact, the head within
//     tolPath(d), the whole model's logits within the f32 whole-trunk bound (the decoders are
//     exact and the activations stay f32, so format-rows.ts's f32 bounds hold unchanged).

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LoadedModel } from '../../engine/core/backend.js';
import { parseConfig, type ModelConfig } from '../../engine/core/config.js';
import { Model } from '../../engine/core/model.js';
import { headTensorName, sidecarNames } from '../../engine/core/weights.js';
import { referenceBackend } from '../../engine/reference/index.js';
import type { GpuDevice, GpuOptions } from '../../gpu/device.js';
import type { WebGpuModel } from '../../gpu/index.js';
import { GpuTensors, type HostTensor } from '../../gpu/tensors.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { expectNormwiseClose, tolPath, uploadRandom } from '../conformance/harness.js';
import { memoryTensors, randomModelTensors, type MemoryTensor } from '../helpers/memory-store.js';
import { quantizedModelTensors } from '../helpers/quantized-store.js';
import { describeWithGpu, gpuBackend } from './gpu-available.js';

const EMBEDDING = 'backbone.embeddings.weight';
const CAP = 4096; // bytes of one binding
const D = 64;
const TOKENS = new Int32Array([1, 17, 300, 4, 4, 99, 511, 0, 42]);
const untied = parseConfig(presetConfig('tiny'));
const tied = parseConfig({ ...presetConfig('tiny'), tie_word_embeddings: true });

/** The tables of `config`: the embedding, and lm_head when untied. */
const tables = (config: ModelConfig) => [...new Set([EMBEDDING, headTensorName(config)])];

/** nvfp4 linears (quantized-store.ts) with the tables in bf16 (NVIDIA's NVFP4 checkpoints), or nvfp4 too. */
function model(config: ModelConfig, tableFormat: 'bf16' | 'nvfp4'): Record<string, MemoryTensor> {
  const quant = quantizedModelTensors(config, 41, 'nvfp4');
  if (tableFormat === 'nvfp4') return quant;
  const bf16 = randomModelTensors(config, 41, { linearDType: 'bf16' });
  const dropped = new Set(tables(config).flatMap((t) => [t, ...Object.values(sidecarNames(t))]));
  const out: Record<string, MemoryTensor> = {};
  for (const [name, t] of Object.entries(quant)) if (!dropped.has(name)) out[name] = t;
  for (const t of tables(config)) out[t] = bf16[t];
  return out;
}

const CASES = [
  ['bf16 tables, untied (Nano 4B layout)', untied, 'bf16'],
  ['bf16 table, tied', tied, 'bf16'],
  ['nvfp4 tables, untied', untied, 'nvfp4'],
  ['nvfp4 table, tied', tied, 'nvfp4'],
] as const;

const DEVICES: [string, GpuOptions][] = [
  ['4096-byte bindings, 4 workgroups a dimension', { maxBindingBytes: CAP, maxWorkgroups: 4 }],
  ['4096-byte bindings, 4 workgroups a dimension, no subgroups', { maxBindingBytes: CAP, maxWorkgroups: 4, disableSubgroups: true }],
  ['one binding per table, 4 workgroups a dimension', { maxWorkgroups: 4 }],
];

describe('tables above one binding: the parts GpuTensors uploads', () => {
  /** A device that records each weight buffer's bytes (GpuTensors needs info, weight, upload). */
  const recording = () => {
    const buffers = new Map<unknown, Uint8Array>();
    const buffer = (bytes: Uint8Array, label: string) => {
      const b = { size: Math.max(16, Math.ceil(bytes.byteLength / 16) * 16), label, destroy: () => {} };
      buffers.set(b, bytes);
      return b;
    };
    const gpu = {
      info: { maxBindingBytes: CAP, maxBufferBytes: 1 << 30 },
      weight: async (bytes: number, label: string, fill: (dst: Uint8Array) => void) => {
        const dst = new Uint8Array(bytes);
        fill(dst);
        return buffer(dst, label);
      },
      upload: (data: ArrayBufferView, label: string) => buffer(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(), label),
    };
    return { gpu: gpu as unknown as GpuDevice, bytesOf: (b: unknown) => buffers.get(b)! };
  };

  test.each(CASES)('%s: every table split by rows into parts within the cap, covering [0, V) with its stored bytes', async (_, config, tableFormat) => {
    const raw = model(config, tableFormat);
    const bytes = (name: string) => new Uint8Array(raw[name].data.buffer, raw[name].data.byteOffset, raw[name].data.byteLength);
    const host = new Map<string, HostTensor>(Object.keys(raw).map((name) => [name, { name, dtype: raw[name].dtype, shape: raw[name].shape, bytes: bytes(name) }]));
    const { gpu, bytesOf } = recording();
    const tensors = await GpuTensors.load(gpu, host);
    const { vocabSize: V, dModel: d } = config;
    const rowBytes = tableFormat === 'bf16' ? d * 2 : d / 2; // bf16, or the E2M1 codes (the E4M3 scales are d/16 bytes a row)
    const perPart = Math.floor(CAP / rowBytes);
    for (const name of tables(config)) {
      const w = tensors.linear(name);
      expect([w.format, w.rows, w.cols]).toEqual([tableFormat, V, d]);
      expect(w.parts.map((p) => [p.start, p.end])).toEqual(Array.from({ length: Math.ceil(V / perPart) }, (_p, i) => [i * perPart, Math.min(V, (i + 1) * perPart)]));
      for (const p of w.parts) {
        expect(p.w.size).toBeLessThanOrEqual(CAP);
        expect(bytesOf(p.w)).toEqual(bytes(name).subarray(p.start * rowBytes, p.end * rowBytes));
        if (tableFormat === 'nvfp4') expect(bytesOf(p.scale)).toEqual(bytes(sidecarNames(name).scale).subarray((p.start * d) / 16, (p.end * d) / 16));
      }
    }
    if (config.tieEmbeddings) expect(tensors.linear(headTensorName(config))).toBe(tensors.linear(EMBEDDING));
  });
});

describeWithGpu.each(DEVICES)('webgpu with %s vs reference', (_, device) => {
  describe.each(CASES)('%s', (__, config, tableFormat) => {
    let gpuModel: LoadedModel;
    let refModel: LoadedModel;
    beforeAll(async () => {
      const tensors = memoryTensors(config, model(config, tableFormat));
      refModel = await referenceBackend.load(config, tensors);
      gpuModel = await gpuBackend(device).load(config, tensors);
      const info = (gpuModel as WebGpuModel).info!;
      expect(info.maxWorkgroups).toBe(4);
      if (device.maxBindingBytes) expect(info.maxBindingBytes).toBe(CAP);
    });
    afterAll(() => gpuModel?.dispose());

    test('embed (4) → (4, 64): the rows exactly', () => {
      const tokens = new Int32Array([0, 7, 511, 300]);
      const [x, y] = [gpuModel.embed(tokens), refModel.embed(tokens)];
      expect(gpuModel.download(x)).toEqual(refModel.download(y));
      gpuModel.free(x);
    });

    test('head (3, 64) → (3, 512)', () => {
      const [x, y] = [uploadRandom(gpuModel, 3, 60), uploadRandom(refModel, 3, 60)];
      expectNormwiseClose([gpuModel.head(x)], [refModel.head(y)], tolPath(D));
      gpuModel.free(x);
    });

    test('logits of every position, then a decode step', () => {
      const [gpu, ref] = [new Model(gpuModel), new Model(refModel)];
      const [s1, s2] = [ref.newSequence(16), gpu.newSequence(16)];
      const tol = tolPath(8 * (64 + 4 + 24 + 32 + 64) + 64); // index.test.ts's whole-trunk bound
      expectNormwiseClose([gpu.forward(s2, TOKENS, 'all')], [ref.forward(s1, TOKENS, 'all')], tol);
      expectNormwiseClose([gpu.forward(s2, new Int32Array([7]))], [ref.forward(s1, new Int32Array([7]))], tol);
    });
  });
});
