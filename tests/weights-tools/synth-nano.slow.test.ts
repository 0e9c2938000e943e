// `synth --preset nano --layers N` writes NVIDIA's Nemotron 3 Nano names, shapes
// and dtypes (spec §12 table, typed in by hand in nano-table.ts) for the first N layers, in BF16
// and in ModelOpt NVFP4 under the §14.2 exclusions; the folder opens, validates and runs a
// 2-token forward pass on the wasm backend. N = 2 ('ME') and N = 6 ('MEMEM*', with attention).
// Each folder is 2–7 GB and is deleted after its case.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateWeights } from '../../engine/core/weights.js';
import { loadForCli } from '../../cli/load.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { synthesize } from '../../weights-tools/synth.js';
import { nanoQuantized, nanoTable } from './nano-table.js';

interface Stored {
  readonly dtype: string;
  readonly shape: readonly number[];
}

/** What spec §12 / §14.2 say the file holds, by stored name. */
function expectedStored(n: number, quant: boolean): Map<string, Stored> {
  const out = new Map<string, Stored>();
  for (const { name, shape } of nanoTable(n)) {
    if (quant && nanoQuantized(name, n)) {
      const base = name.replace(/\.weight$/, '');
      out.set(name, { dtype: 'u8', shape: [shape[0], shape[1] / 2] });
      out.set(`${base}.weight_scale`, { dtype: 'f8_e4m3', shape: [shape[0], shape[1] / 16] });
      out.set(`${base}.weight_scale_2`, { dtype: 'f32', shape: [] });
    } else {
      out.set(name, { dtype: name.endsWith('e_score_correction_bias') ? 'f32' : 'bf16', shape });
    }
  }
  return out;
}

const CASES = [
  { layers: 2, quant: false },
  { layers: 2, quant: true },
  { layers: 6, quant: false },
  { layers: 6, quant: true },
];

describe.each(CASES)('synth nano --layers $layers (nvfp4: $quant)', ({ layers, quant }) => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgetron-synth-nano-'));
    await synthesize({ preset: 'nano', seed: 3, out: dir, dtype: 'bf16', layers, quant: quant ? 'nvfp4' : undefined });
  }, 1_200_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds exactly the spec §12 tensors with NVIDIA dtypes and shapes, and validates', async () => {
    const ckpt = await openCheckpoint(dir);
    try {
      expect(ckpt.config.layerKinds.join('')).toBe('MEMEM*'.slice(0, layers));
      const want = expectedStored(layers, quant);
      const names = ckpt.store.names().sort();
      expect(names).toEqual([...want.keys()].sort());
      for (const name of names) {
        const t = ckpt.store.get(name)!;
        expect({ name, dtype: t.dtype, shape: t.shape }).toEqual({ name, ...want.get(name) });
      }
      expect(validateWeights(ckpt.config, ckpt.store, true).size).toBeGreaterThan(0);
      const q = ckpt.config.raw.quantization_config as Record<string, unknown> | undefined;
      if (!quant) expect(q).toBeUndefined();
      else {
        expect(q).toMatchObject({ quant_method: 'modelopt', quant_algo: 'NVFP4', group_size: 16 });
        const kept = nanoTable(layers).filter((t) => t.shape.length === 2 && !nanoQuantized(t.name, layers));
        expect([...(q!.exclude_modules as string[])].sort()).toEqual(kept.map((t) => t.name.replace(/\.weight$/, '')).sort());
      }
    } finally {
      await ckpt.store.close();
    }
  });

  it('runs 2 tokens on the wasm backend to finite logits', async () => {
    const { session, close } = await loadForCli(dir, 'wasm');
    try {
      const { model } = session;
      const V = model.config.vocabSize;
      const logits = model.forward(model.newSequence(2), Int32Array.from([5, 9]), 'all');
      expect(logits.length).toBe(2 * V);
      expect(logits.every(Number.isFinite)).toBe(true);
      expect(new Set(logits.subarray(0, 64)).size).toBeGreaterThan(1);
    } finally {
      await close();
    }
  }, 600_000);
});
