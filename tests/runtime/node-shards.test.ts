// Shards in worker threads (runtime/node-shards.ts, started by cli/load.ts): a model split over
// several threads, each with its own WASM memory, gives the same logits bits as the unsplit
// model; a shard thread that dies mid-pass ends that pass with a ShardLostError naming it (never
// a hang), the next sequence reloads it and computes the same logits again; closing the model
// ends every thread it started.

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadForCli, type LoadedCli } from '../../cli/load.js';
import { ShardLostError } from '../../engine/core/errors.js';
import { generate, type GenerateEvent } from '../../engine/decode/generate.js';
import type { ShardedModel } from '../../engine/shard/sharded-model.js';
import type { ThreadShardLink } from '../../runtime/node-shards.js';
import { FIXTURES } from '../helpers/fixtures.js';

const MOE = `${FIXTURES}moe/hf`;
/** Shards of at most 3 MiB of weights: the fixture MoE model (8 layers, 14.6 MiB in f32) in 6. */
const BUDGET = 3 * 2 ** 20;
const prompt = Int32Array.from({ length: 24 }, (_, i) => (i * 37 + 5) % 512);

/** Threads of this process (Linux: /proc/self/task), or null elsewhere. */
function threadCount(): number | null {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return null;
  }
}

function run(loaded: LoadedCli): Float32Array[] {
  const { model } = loaded.session;
  const seq = model.newSequence(64);
  const out = [model.forward(seq, prompt, 'all')];
  for (const t of [3, 500, 77]) out.push(model.forward(seq, Int32Array.of(t)));
  seq.free();
  return out;
}

describe('a model split over shard threads', () => {
  it('gives the logits of the unsplit model, bit for bit, and ends its threads when closed', async () => {
    const plain = await loadForCli(MOE, 'wasm');
    const want = run(plain);
    await plain.close();
    const before = threadCount();
    const split = await loadForCli(MOE, 'wasm', {}, { shardBudgetBytes: BUDGET });
    const sharded = split.session.model.ops as ShardedModel;
    expect(split.plan.shards.length).toBeGreaterThanOrEqual(3);
    expect(sharded.shards.length).toBe(split.plan.shards.length);
    if (before !== null) expect(threadCount()!).toBeGreaterThan(before);
    const got = run(split);
    got.forEach((logits, i) => expect(logits, `pass ${i}`).toEqual(want[i]));
    await split.close();
    if (before !== null) await expect.poll(() => threadCount(), { timeout: 5000 }).toBeLessThanOrEqual(before);
  });

  it('a shard thread that dies mid-pass: ShardLostError, then the next sequence reloads it', async () => {
    const split = await loadForCli(MOE, 'wasm', {}, { shardBudgetBytes: BUDGET });
    try {
      const { model } = split.session;
      const sharded = model.ops as ShardedModel;
      const want = run(split);
      const victim = sharded.shards.at(-1)!.link as ThreadShardLink;
      const long = Int32Array.from({ length: 4000 }, (_, i) => (i * 7 + 1) % 512);
      const seq = model.newSequence(long.length);
      const start = performance.now();
      victim.kill(30); // the thread ends while the front is blocked in this prefill
      let caught: unknown;
      try {
        for (let i = 0; i < 50; i++) model.forward(seq, long.subarray(0, 80));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ShardLostError);
      expect((caught as ShardLostError).shard).toBe(sharded.shards.length - 1);
      expect((caught as Error).message).toMatch(/^shard \d+ was lost during blocks: its thread exited with code 1; .*the next one reloads the shard$/);
      expect(performance.now() - start).toBeLessThan(10_000);
      expect(victim.lost).toBe(true);
      // the old sequence is gone with it; a new one brings the shard back with its weights
      expect(() => model.forward(seq, Int32Array.of(1))).toThrow(ShardLostError);
      seq.free();
      const again = run(split);
      again.forEach((logits, i) => expect(logits, `pass ${i}`).toEqual(want[i]));
      expect(victim.lost).toBe(false);
    } finally {
      await split.close();
    }
  });

  it('a generation whose shard dies ends with ShardLostError; the next generation works and gives the same tokens', async () => {
    // the embedded default model in 2 shards: shard 1 (its layers) in a thread
    const loaded = await loadForCli(undefined, 'wasm', {}, { shardBudgetBytes: 5 * 2 ** 20 });
    try {
      const { session } = loaded;
      const ids = [1, 2, 3, 4];
      const options = { maxTokens: 400, temperature: 0, stopIds: [] };
      const tokens = async (onToken?: (n: number) => void) => {
        const out: number[] = [];
        for await (const ev of generate(session, ids, options) as AsyncGenerator<GenerateEvent>) {
          if (ev.kind === 'token') {
            out.push(ev.id);
            onToken?.(out.length);
          }
        }
        return out;
      };
      const want = await tokens();
      expect(want.length).toBe(400);
      const victim = (session.model.ops as ShardedModel).shards[1].link as ThreadShardLink;
      await expect(tokens((n) => n === 5 && victim.kill(0))).rejects.toBeInstanceOf(ShardLostError);
      expect(await tokens()).toEqual(want);
    } finally {
      await loaded.close();
    }
  });

  it('the state a generation holds on every shard comes back when it ends, is aborted, or fails', async () => {
    const loaded = await loadForCli(undefined, 'wasm', {}, { shardBudgetBytes: 5 * 2 ** 20 });
    try {
      const { session } = loaded;
      const sharded = session.model.ops as ShardedModel;
      const used = () => sharded.shards.map((_, s) => (sharded.send(s, { op: 'usage' }) as { usedBytes: number }).usedBytes);
      const before = used();
      const drain = async (signal?: AbortSignal, onToken?: (n: number) => void) => {
        let n = 0;
        for await (const ev of generate(session, [1, 2, 3], { maxTokens: 200, temperature: 0, stopIds: [] }, signal) as AsyncGenerator<GenerateEvent>) {
          if (ev.kind === 'token') onToken?.(++n);
        }
      };
      // ends normally
      await drain();
      expect(used()).toEqual(before);
      // aborted after 5 tokens
      const abort = new AbortController();
      await drain(abort.signal, (n) => n === 5 && abort.abort()).catch(() => undefined);
      expect(used()).toEqual(before);
    } finally {
      await loaded.close();
    }
  });

  it('a generation that fails when a shard dies frees its state on the shards that are left', async () => {
    const loaded = await loadForCli(MOE, 'wasm', {}, { shardBudgetBytes: BUDGET });
    try {
      const { session } = loaded;
      const sharded = session.model.ops as ShardedModel;
      const left = sharded.shards.slice(0, -1).map((_, s) => s);
      const used = () => left.map((s) => (sharded.send(s, { op: 'usage' }) as { usedBytes: number }).usedBytes);
      const before = used();
      const victim = sharded.shards.at(-1)!.link as ThreadShardLink;
      let n = 0;
      const run = async () => {
        for await (const ev of generate(session, [1, 2, 3], { maxTokens: 400, temperature: 0, stopIds: [] }) as AsyncGenerator<GenerateEvent>) {
          if (ev.kind === 'token' && ++n === 3) victim.kill(0);
        }
      };
      await expect(run()).rejects.toBeInstanceOf(ShardLostError);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(used()).toEqual(before);
    } finally {
      await loaded.close();
    }
  });
});

