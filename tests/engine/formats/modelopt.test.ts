// ModelOpt quantisation configs (engine/formats/modelopt.ts): fnmatch globs over module names,
// the two files' spellings and how they join, MIXED_PRECISION's per-module algorithms; and an
// NVFP4 checkpoint whose config excludes modules by pattern (config.json `ignore` and
// hf_quant_config.json `exclude_modules`): those modules load as bf16, resident as bf16 in WASM
// memory, the rest as nvfp4, and the logits match the reference backend's.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKernels, wasmBackend, type WasmModel } from '../../../assembly/backend/index.js';
import { WasmTensors } from '../../../assembly/backend/tensors.js';
import { ConfigError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { expectedTensors, linearWeight, validateWeights } from '../../../engine/core/weights.js';
import { matchesModule, mergeHfQuantConfig, moduleQuant, parseQuantScheme } from '../../../engine/formats/modelopt.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';
import { synthesize } from '../../../weights-tools/synth.js';
import { expectNormwiseClose, tolPath, tolPathI8 } from '../../conformance/harness.js';
import { writeModelopt } from '../../helpers/modelopt-checkpoint.js';

describe('matchesModule (fnmatch globs)', () => {
  it.each([
    ['lm_head', 'lm_head', true],
    ['lm_head', 'lm_head_extra', false],
    ['backbone.layers.*.mixer.q_proj', 'backbone.layers.12.mixer.q_proj', true],
    ['backbone.layers.*.mixer.*', 'backbone.layers.3.mixer.experts.7.up_proj', true], // `*` crosses dots
    ['*.mixer.[qkvo]_proj', 'backbone.layers.2.mixer.k_proj', true],
    ['*.mixer.[!qkvo]_proj', 'backbone.layers.2.mixer.k_proj', false],
    ['backbone.layers.?.mixer.in_proj', 'backbone.layers.4.mixer.in_proj', true],
    ['backbone.layers.?.mixer.in_proj', 'backbone.layers.41.mixer.in_proj', false],
    ['backbone.layers.1', 'backbone.layers.1.mixer.in_proj', true], // a dotted prefix covers its modules
    ['backbone.layers.1', 'backbone.layers.11.mixer.in_proj', false], // not a string prefix
    ['model.layers.5.mixer.o_proj', 'backbone.layers.5.mixer.o_proj', true], // model. ≡ backbone.
    ['*conv1d*', 'backbone.layers.0.mixer.in_proj', false],
    ['a+b(c)', 'a+b(c)', true], // regex characters are literal
  ])('%s ~ %s: %s', (pattern, module, want) => {
    expect(matchesModule(pattern, module)).toBe(want);
  });
});

describe('parseQuantScheme and mergeHfQuantConfig', () => {
  it('reads config.json spellings: ignore and exclude_modules join; no block is null', () => {
    expect(parseQuantScheme(undefined)).toBeNull();
    const s = parseQuantScheme({ quant_method: 'modelopt', quant_algo: 'nvfp4', group_size: 16, ignore: ['lm_head'], exclude_modules: ['*.q_proj'] })!;
    expect([s.algo, s.groupSize, s.exclude]).toEqual(['NVFP4', 16, ['lm_head', '*.q_proj']]);
    expect(moduleQuant(s, 'lm_head')).toBeNull();
    expect(moduleQuant(s, 'backbone.layers.2.mixer.q_proj')).toBeNull();
    expect(moduleQuant(s, 'backbone.layers.0.mixer.in_proj')).toEqual({ algo: 'NVFP4', groupSize: 16 });
    expect(parseQuantScheme({ quant_method: 'gptq', bits: 4 })!.algo).toBe('quant_method "gptq"');
    expect(() => parseQuantScheme({ quant_algo: 'FP8', ignore: 'lm_head' })).toThrow(/quantization_config\.ignore: must be a list/);
  });

  it('folds hf_quant_config.json in: exclusion lists joined, config.json keys kept, a different algorithm refused', () => {
    const merged = mergeHfQuantConfig(
      { quant_method: 'modelopt', quant_algo: 'FP8', ignore: ['lm_head'], exclude_modules: ['a'] },
      { producer: { name: 'modelopt' }, quantization: { quant_algo: 'FP8', kv_cache_quant_algo: 'FP8', exclude_modules: ['b', 'a'] } },
    )!;
    expect(merged).toMatchObject({ quant_method: 'modelopt', quant_algo: 'FP8', kv_cache_quant_algo: 'FP8', ignore: ['lm_head'], exclude_modules: ['a', 'b'] });
    expect(parseQuantScheme(merged)!.exclude).toEqual(['lm_head', 'a', 'b']);
    expect(mergeHfQuantConfig(undefined, { quantization: { quant_algo: 'NVFP4', group_size: 16, exclude_modules: ['lm_head'] } })).toEqual({
      quant_method: 'modelopt',
      quant_algo: 'NVFP4',
      group_size: 16,
      exclude_modules: ['lm_head'],
    });
    expect(() => mergeHfQuantConfig({ quant_algo: 'FP8' }, { quantization: { quant_algo: 'NVFP4' } })).toThrow(ConfigError);
    expect(() => mergeHfQuantConfig({ quant_algo: 'FP8' }, { quantization: { quant_algo: 'NVFP4' } })).toThrow(/config\.json says FP8 but hf_quant_config\.json says NVFP4/);
    expect(() => mergeHfQuantConfig(undefined, { quant_algo: 'FP8' })).toThrow(/hf_quant_config\.json: quantization/);
  });

  it('MIXED_PRECISION: each listed module has its own algorithm; unlisted and excluded ones are high precision', () => {
    const s = parseQuantScheme(
      mergeHfQuantConfig(undefined, {
        quantization: {
          quant_algo: 'MIXED_PRECISION',
          exclude_modules: ['backbone.layers.1.mixer.experts.0.up_proj'],
          quantized_layers: {
            'backbone.layers.0.mixer.in_proj': { quant_algo: 'FP8' },
            'backbone.layers.1.mixer.experts.0.up_proj': { quant_algo: 'NVFP4', group_size: 16 },
            'backbone.layers.1.mixer.experts.1.up_proj': { quant_algo: 'NVFP4', group_size: 16 },
          },
        },
      }),
    )!;
    expect(moduleQuant(s, 'backbone.layers.0.mixer.in_proj')).toEqual({ algo: 'FP8', groupSize: null });
    expect(moduleQuant(s, 'backbone.layers.1.mixer.experts.1.up_proj')).toEqual({ algo: 'NVFP4', groupSize: 16 });
    expect(moduleQuant(s, 'backbone.layers.1.mixer.experts.0.up_proj')).toBeNull();
    expect(moduleQuant(s, 'backbone.layers.0.mixer.out_proj')).toBeNull();
  });
});

describe('an NVFP4 checkpoint that excludes modules by pattern', () => {
  const TOKENS = new Int32Array([1, 17, 300, 4, 4, 99, 511, 0, 42]);
  let dir = '';
  // decided here, independently of the patterns below: layer 0's mixer, every shared expert, lm_head
  const excluded = (m: string) => m.startsWith('backbone.layers.0.mixer.') || m.includes('.shared_experts.') || m === 'lm_head';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgetron-modelopt-'));
    await synthesize({ preset: 'tiny', seed: 21, out: join(dir, 'bf16'), dtype: 'bf16' });
    await writeModelopt(join(dir, 'bf16'), join(dir, 'nvfp4'), {
      algo: 'NVFP4',
      excluded,
      ignore: ['backbone.layers.0.mixer.*', 'lm_head'],
      hfExclude: ['*.shared_experts.*'],
    });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the excluded modules as bf16 (validated and resident in WASM memory), the others as nvfp4', async () => {
    const ckpt = await openCheckpoint(join(dir, 'nvfp4'));
    expect(ckpt.config.raw.quantization_config).toMatchObject({ quant_algo: 'NVFP4', exclude_modules: ['*.shared_experts.*'], ignore: ['backbone.layers.0.mixer.*', 'lm_head'] });
    const tensors = validateWeights(ckpt.config, ckpt.store);
    const linears = expectedTensors(ckpt.config).filter((t) => t.linear && t.name !== 'backbone.embeddings.weight' && !t.name.endsWith('.mixer.gate.weight'));
    const kernels = await loadKernels();
    const resident = await WasmTensors.load(kernels.heap, ckpt.config, tensors, undefined, kernels.exports);
    let bf16 = 0;
    for (const t of linears) {
      const want = excluded(t.name.replace(/\.weight$/, '')) ? 'bf16' : 'nvfp4';
      bf16 += want === 'bf16' ? 1 : 0;
      expect([t.name, ckpt.store.get(t.name)!.dtype]).toEqual([t.name, want === 'bf16' ? 'bf16' : 'u8']);
      expect([t.name, linearWeight(tensors, t.name).format]).toEqual([t.name, want]);
      expect([t.name, resident.linear(t.name).format]).toEqual([t.name, want]);
    }
    expect(bf16).toBeGreaterThanOrEqual(5); // in_proj, out_proj of layer 0, 2 shared experts' up/down, lm_head
    await ckpt.store.close();
  });

  it('runs: wasm logits within tolerance of the reference backend on the same files', async () => {
    const ckpt = await openCheckpoint(join(dir, 'nvfp4'));
    const tensors = validateWeights(ckpt.config, ckpt.store);
    const ref = new Model(await referenceBackend.load(ckpt.config, tensors));
    const loaded = await wasmBackend.load(ckpt.config, tensors);
    const wasm = new Model(loaded);
    const kPath = 8 * (64 + 4 + 24 + 32 + 64) + 64;
    const tol = (loaded as WasmModel).kernelBuild === 'relaxed' ? tolPathI8(kPath, 1) : tolPath(kPath); // as tests/assembly/backend/quantized.test.ts
    expectNormwiseClose([wasm.forward(wasm.newSequence(16), TOKENS, 'all')], [ref.forward(ref.newSequence(16), TOKENS, 'all')], tol);
    await ckpt.store.close();
  });
});
