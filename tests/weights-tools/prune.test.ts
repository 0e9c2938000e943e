import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/core/config.js';
import { InvalidOptionError } from '../../engine/core/errors.js';
import { referenceBackend, type ReferenceModel } from '../../engine/reference/index.js';
import type { LoadedModel } from '../../engine/core/backend.js';
import { collectInputGrams, collectInputNorms, mask24Row, prune24Row } from '../../weights-tools/prune.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';

describe('prune24Row', () => {
  it('keeps the 2 largest |w| of each group of 4 (ties to the lower index)', () => {
    const row = Float64Array.of(0.1, -3, 2, 0.5, 1, 1, 1, 1, 0, 0, 0, -0.5);
    prune24Row(row, null);
    expect([...row]).toEqual([0, -3, 2, 0, 1, 1, 0, 0, 0, 0, 0, -0.5]);
  });

  it('scores by |w|·‖x_j‖ with Wanda importances', () => {
    const row = Float64Array.of(4, 3, 2, 1);
    prune24Row(row, Float64Array.of(0.1, 1, 1, 10));
    // scores 0.4, 3, 2, 10 → keep indices 3 and 1
    expect([...row]).toEqual([0, 3, 0, 1]);
  });
});

describe('mask24Row', () => {
  it('marks what prune24Row keeps, 2 per group even where the kept values are 0', () => {
    const mask = new Uint8Array(10).fill(7);
    mask24Row(Float32Array.of(0.1, -3, 2, 0.5, 0, 0, 0, 1), null, mask, 1, new Float64Array(8));
    expect([...mask]).toEqual([7, 0, 1, 1, 0, 1, 0, 0, 1, 7]);
  });
});

describe('collectInputNorms (Wanda calibration)', () => {
  const config = parseConfig(presetConfig('tiny'));
  const tokens = Int32Array.of(5, 17, 300, 2, 9);

  it('returns ‖X_j‖₂ of the input each projection saw, and removes its tap', async () => {
    const loaded = (await referenceBackend.load(config, memoryTensors(config, randomModelTensors(config, 3)))) as ReferenceModel;
    const inProj = 'backbone.layers.0.mixer.in_proj.weight';
    const norms = collectInputNorms(loaded, [tokens], new Set([inProj, 'lm_head.weight']));
    expect([...norms.keys()].sort()).toEqual([inProj, 'lm_head.weight']);
    // layer 0's in_proj sees RMSNorm_0(Emb[tokens]) (spec §4): recompute it with the ops
    const u = loaded.download(loaded.rmsnorm(loaded.embed(tokens), 'backbone.layers.0.norm.weight')); // (T, d)
    const d = config.dModel;
    const want = Array.from({ length: d }, (_, j) => Math.sqrt(tokens.reduce((s, _t, t) => s + u[t * d + j] ** 2, 0)));
    const got = norms.get(inProj)!;
    for (let j = 0; j < d; j++) expect(got[j]).toBeCloseTo(want[j], 5);
    // lm_head sees only the last row
    expect(norms.get('lm_head.weight')!.length).toBe(d);
    expect(loaded.tensors.tap).toBeNull();
  });

  it('collectInputGrams gives H = XᵀX of the same inputs; its diagonal is the squared norms', async () => {
    const loaded = (await referenceBackend.load(config, memoryTensors(config, randomModelTensors(config, 3)))) as ReferenceModel;
    const inProj = 'backbone.layers.0.mixer.in_proj.weight';
    const { gram, cols, tokens: n } = collectInputGrams(loaded, [tokens, tokens.subarray(0, 2)], new Set([inProj])).get(inProj)!;
    const norms = collectInputNorms(loaded, [tokens, tokens.subarray(0, 2)], new Set([inProj])).get(inProj)!;
    const d = config.dModel;
    expect([cols, n]).toEqual([d, tokens.length + 2]);
    const u = loaded.download(loaded.rmsnorm(loaded.embed(tokens), 'backbone.layers.0.norm.weight')); // (T, d)
    // the second prompt is the first two tokens again: rows 0 and 1 of u count twice
    const h = (i: number, j: number) => tokens.reduce((s, _t, t) => s + (t < 2 ? 2 : 1) * u[t * d + i] * u[t * d + j], 0);
    for (const [i, j] of [[0, 0], [3, 7], [7, 3], [d - 1, 1]]) expect(gram[i * d + j]).toBeCloseTo(h(i, j), 5);
    for (let j = 0; j < d; j++) expect(gram[j * d + j]).toBeCloseTo(norms[j] ** 2, 8);
    expect(loaded.tensors.tap).toBeNull();
  });

  it('refuses a backend it cannot tap', () => {
    const other = { backend: 'wasm' } as LoadedModel;
    expect(() => collectInputNorms(other, [tokens], new Set())).toThrow(InvalidOptionError);
  });
});
