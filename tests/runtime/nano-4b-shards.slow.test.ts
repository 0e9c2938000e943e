// Slow (a 2.5 GB checkpoint; `npm run test:slow`): the Nemotron 3 Nano 4B shapes split over
// shard threads. A 6-layer twin of the published config (BF16, d 3136, vocab 131072, untied
// head; synth --layers 6) is run whole in one WASM memory and split over shard threads
// (--shard-budget): the logits are the same bits. The twin on wasm matches the reference backend
// (f64) within the conformance rule of tests/conformance/harness.ts: tol = 16·√K_path·u, K_path
// the reductions on a row's path (each layer's input projection and widest inner product, then
// the head), about 3e-4 here.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadForCli } from '../../cli/load.js';
import { main } from '../../cli/main.js';
import type { ShardedModel } from '../../engine/shard/sharded-model.js';
import { expectNormwiseClose, tolPath } from '../conformance/harness.js';

const tokens = Int32Array.of(1, 4242, 77, 131071, 9000);

describe('nano-4b twin (6 layers, BF16) split over shard threads', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgetron-nano4b-'));
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {} };
    expect(await main(['synth', '--preset', 'nano-4b', '--layers', '6', '--dtype', 'bf16', '--seed', '3', '--out', join(dir, 'm')], io)).toBe(0);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the unsplit logits bit for bit, and the reference backend within the conformance tolerance', async () => {
    const path = join(dir, 'm');
    const logits = async (backend: string, shardBudgetBytes?: number) => {
      const loaded = await loadForCli(path, backend, {}, { requestedContext: tokens.length, shardBudgetBytes });
      try {
        const { model } = loaded.session;
        if (shardBudgetBytes !== undefined) expect((model.ops as ShardedModel).shards.length).toBeGreaterThanOrEqual(2);
        return model.forward(model.newSequence(tokens.length), tokens, 'all');
      } finally {
        await loaded.close();
      }
    };
    const whole = await logits('wasm');
    const split = await logits('wasm', 1.8 * 2 ** 30); // shard 0: embedding + head (1.53 GiB) and a layer or two
    expect(split).toEqual(whole);
    const reference = await logits('reference');
    const V = 131072;
    const rows = (a: Float32Array) => Array.from({ length: tokens.length }, (_, t) => a.subarray(t * V, (t + 1) * V));
    // K_path: 6 × (d + the widest inner product, relu² 12544 or the Mamba-2 dInner 7680) + the head's d
    expectNormwiseClose(rows(whole), rows(reference), tolPath(6 * (3136 + 12544) + 3136));
  }, 600_000);
});
