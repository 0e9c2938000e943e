// engine/core/trace.ts + the graph's named intermediates (engine/core/model.ts): every tensor of a forward
// pass is reported as {name, layer} in graph order; reference and WASM agree at every point on
// a fixture model; and a one-op fault injected into one backend is pinned to its {name, layer}.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../../assembly/backend/index.js';
import type { Act, LoadedModel } from '../../../engine/core/backend.js';
import { parseConfig, type ModelConfig } from '../../../engine/core/config.js';
import { Model } from '../../../engine/core/model.js';
import { firstDivergence, nmse, TraceRecorder } from '../../../engine/core/trace.js';
import { validateWeights } from '../../../engine/core/weights.js';
import { memorySource } from '../../../engine/formats/bytes.js';
import { openSafetensorsStore } from '../../../engine/formats/safetensors.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { FIXTURES as FIXTURE } from '../../helpers/fixtures.js';
const tokens = Int32Array.from((JSON.parse(readFileSync(`${FIXTURE}fixture.json`, 'utf8')) as { tokens: number[] }).tokens.slice(0, 16));
const config = parseConfig(JSON.parse(readFileSync(`${FIXTURE}moe/hf/config.json`, 'utf8'))) as ModelConfig;
const load = async (backend: { load: typeof referenceBackend.load }) => {
  const store = await openSafetensorsStore([memorySource('model.safetensors', new Uint8Array(readFileSync(`${FIXTURE}moe/hf/model.safetensors`)))]);
  return backend.load(config, validateWeights(config, store));
};

/** Every traced tensor of one forward pass over `tokens`. */
function traceOf(ops: LoadedModel): TraceRecorder {
  const model = new Model(ops);
  const rec = new TraceRecorder();
  model.trace = rec.hook;
  const seq = model.newSequence(tokens.length);
  model.forward(seq, tokens, 'all');
  seq.free();
  return rec;
}

/** `ops` with layer `il`'s `kind` mixer output scaled by 1.01 (a one-op fault). */
function faulty(ops: LoadedModel, kind: 'moe' | 'mamba2' | 'attention', il: number): LoadedModel {
  const broken = Object.create(ops) as LoadedModel;
  const original = ops[kind].bind(ops) as (i: number, u: Act, ...rest: never[]) => Act;
  (broken as unknown as Record<string, unknown>)[kind] = (i: number, u: Act, ...rest: never[]) => {
    const y = original(i, u, ...rest);
    if (i !== il) return y;
    const v = ops.download(y).map((e) => e * 1.01);
    const out = ops.upload(v, y.rows, y.cols);
    ops.free(y);
    return out;
  };
  return broken;
}

describe('named intermediates (llama.cpp cb(cur, name, il))', () => {
  it('reports embed, norm / mixer / residual per layer, norm_f and logits, in graph order', async () => {
    const rec = traceOf(await load(referenceBackend));
    const mixer = { M: 'mamba2', '*': 'attention', E: 'moe', '-': 'mlp' } as const;
    const expected = [
      'embed@-1',
      ...config.layers.slice(0, config.nTrunkLayers).flatMap((l, il) => [`norm@${il}`, `${mixer[l.kind]}@${il}`, `residual@${il}`]),
      'norm_f@-1',
      'logits@-1',
    ];
    expect(rec.entries.map((e) => `${e.name}@${e.layer}`)).toEqual(expected);
    expect(rec.entries[0].values.length).toBe(tokens.length * config.dModel);
    expect(rec.entries.at(-1)!.values.length).toBe(tokens.length * config.vocabSize);
  });

  it('reference and WASM agree at every traced tensor of the moe fixture', async () => {
    const ref = traceOf(await load(referenceBackend));
    const wasm = traceOf(await load(createWasmBackend({ build: 'simd' }, 'wasm-simd')));
    expect(firstDivergence(ref.entries, wasm.entries, 1e-8)).toBeNull();
  });

  for (const [kind, pick] of [
    ['moe', (k: string) => k === 'E'],
    ['mamba2', (k: string) => k === 'M'],
    ['attention', (k: string) => k === '*'],
  ] as const) {
    it(`a fault injected into the last ${kind} layer of the WASM backend is found at {${kind}, il}`, async () => {
      const il = config.layers.map((l) => l.kind).findLastIndex(pick);
      expect(il).toBeGreaterThanOrEqual(0);
      const ref = traceOf(await load(referenceBackend));
      const wasm = traceOf(faulty(await load(createWasmBackend({ build: 'simd' }, 'wasm-simd')), kind, il));
      const at = firstDivergence(ref.entries, wasm.entries, 1e-8);
      expect(at).toMatchObject({ name: kind, layer: il });
      expect(at!.nmse).toBeGreaterThan(1e-5);
      expect(nmse(ref.entries.at(-1)!.values, wasm.entries.at(-1)!.values)).toBeGreaterThan(0); // the logits move too
    });
  }
});
