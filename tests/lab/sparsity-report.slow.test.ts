// `sparsityReport` end to end on a synthesized tiny model (no trained rows): the files it writes,
// the per-layer held-out errors (recovery below one-shot Wanda, Wanda below magnitude on average),
// the 2:4 invariants of every sparse pack, and the recovered pack's logits on wasm and (where an
// adapter exists) webgpu against the reference backend.

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickBackend } from '../../cli/backends.js';
import type { Backend } from '../../engine/core/backend.js';
import { openSession } from '../../engine/core/session.js';
import { linearWeight, validateWeights } from '../../engine/core/weights.js';
import { checkPositionCodes } from '../../engine/formats/sparse24.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { sparsityReport, type SparsityReport } from '../../lab/sparsity-report.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { synthesize } from '../../weights-tools/synth.js';
import { gpuBackend, gpuInfo } from '../gpu/gpu-available.js';

const TEXT = 'The whale swam past the ship. The sailors watched the sea, and the sea watched them back. '.repeat(8);
let dir: string;
let report: SparsityReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgetron-sparsity-'));
  await synthesize({ preset: 'tiny', seed: 5, out: join(dir, 'f32'), dtype: 'f32' });
  const wasm = (await pickBackend('wasm')).backend;
  report = await sparsityReport({ model: join(dir, 'f32'), heldout: TEXT, calib: TEXT.split('').reverse().join(''), out: join(dir, 'report'), backend: wasm, evalChars: 200, recover: { steps: 30 } });
}, 1_800_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function logits(path: string, backend: Backend, tokens: Int32Array): Promise<Float32Array> {
  const ckpt = await openCheckpoint(path);
  const session = await openSession(ckpt, backend);
  const out = session.model.forward(session.model.newSequence(tokens.length), tokens, 'all');
  session.dispose();
  await ckpt.store.close();
  return out;
}

describe('sparsityReport on a synthesized tiny model', () => {
  it('writes report.md, report.json and the plot, with every variant in order', () => {
    for (const f of ['report.md', 'report.json', 'flip-rate.png', 'flip-rate.svg']) expect(existsSync(join(dir, 'report', f))).toBe(true);
    expect(report.rows.map((r) => r.key)).toEqual(['dense', 'nvfp4', 'magnitude', 'wanda', 'recovered']);
    expect(JSON.parse(readFileSync(join(dir, 'report', 'report.json'), 'utf8')).rows.length).toBe(5);
    expect(report.rows.every((r) => Number.isFinite(r.eval.bits_per_byte))).toBe(true);
    expect(Object.keys(report.recovery).length).toBeGreaterThan(0);
  });

  it('orders the held-out per-layer errors: recovery < Wanda ≤ magnitude on average, dense 0', () => {
    const err = (key: string) => report.rows.find((r) => r.key === key)!.meanLayerError;
    expect(err('dense')).toBe(0);
    expect(err('recovered')).toBeLessThan(err('wanda'));
    expect(err('wanda')).toBeLessThanOrEqual(err('magnitude'));
  });

  it('stores every sparse pack with legal position codes', async () => {
    for (const key of ['magnitude', 'wanda', 'recovered']) {
      const pack = await openCheckpoint(join(dir, 'report', 'packs', key));
      const tensors = validateWeights(pack.config, pack.store, false);
      for (const name of Object.keys(report.rows[0].layerErrors)) {
        const w = linearWeight(tensors, name);
        expect(w.format).toBe('nvfp4-s24');
        const pos = new Uint8Array(w.positions!.byteLength);
        await w.positions!.readInto(pos);
        expect(() => checkPositionCodes(pos, name)).not.toThrow();
      }
      await pack.store.close();
    }
  });

  it('runs the recovered pack on wasm (and webgpu) with the reference logits', async () => {
    const path = join(dir, 'report', 'packs', 'recovered');
    const tokens = Int32Array.of(1, 17, 250, 3, 99, 42);
    const want = await logits(path, referenceBackend, tokens);
    const backends: Backend[] = [(await pickBackend('wasm')).backend, ...(gpuInfo ? [gpuBackend()] : [])];
    for (const b of backends) {
      const got = await logits(path, b, tokens);
      let maxErr = 0;
      let scale = 0;
      for (let i = 0; i < want.length; i++) [maxErr, scale] = [Math.max(maxErr, Math.abs(got[i] - want[i])), Math.max(scale, Math.abs(want[i]))];
      expect(maxErr / scale).toBeLessThan(2e-2);
    }
  });
});
