// `npm run bench`: self-speculative decoding with the MTP block (spec §11, issue 10). On the demo
// model (the embedded default when it is the trained `demo` preset with its MTP block; else a
// `demo` synthesized with random weights, which the output says — random drafts are almost never
// accepted, so that row shows the overhead, not the gain): greedy generation with --mtp K,
// K = 0…4, per backend: acceptance length (tokens per verification pass), decode tokens/s, the
// speed-up over K = 0, whether the tokens equal K = 0's, and the share of decode time spent on
// rollback.
//
// Rollback strategies (engine/speculative.ts), each after restoring the snapshot taken before the
// verify pass: 'replay' re-runs only the Mamba-2 layers on their inputs kept from that pass;
// 'recompute' re-runs the whole trunk on the accepted prefix. Both are timed here (decode tok/s
// and rollback ms per verification round). A third, per-position snapshots (a state copy at every
// verified position, restore the one at the last accepted token, nothing re-run), needs a Mamba
// op that writes the state after every token of a pass (the chunked scan only has it at the end
// of a pass), which the op interface does not have; its cost is estimated as k + 1 measured
// snapshot copies of the real sequence state per round.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.js';
import { generate, type DoneEvent } from '../engine/generate.js';
import { openSession, requireText, type Session } from '../engine/session.js';
import { SpeculativeDecoder, type RollbackStrategy } from '../engine/speculative.js';
import { openCheckpoint, packageRoot } from '../weights-tools/checkpoint.js';
import { synthesize } from '../weights-tools/synth.js';
import { fmt } from './table.js';

type Table = (title: string, header: string[], rows: (string | number)[][]) => void;

/** Text in the demo corpus's domain (public-domain SOTU addresses and Moby-Dick). */
const PROMPTS = [
  'Fellow-Citizens of the Senate and of the House of Representatives: I have the honor to',
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,',
];

/** The trained demo model (assets/packs/default, when it has an MTP block), else a synthesized demo. */
async function demoModel(): Promise<{ dir: string; trained: boolean }> {
  const packed = join(packageRoot(), 'assets', 'packs', 'default');
  const config = JSON.parse(readFileSync(join(packed, 'config.json'), 'utf8')) as Record<string, unknown>;
  if (Number(config.num_nextn_predict_layers ?? 0) > 0) return { dir: packed, trained: true };
  const dir = join(packageRoot(), 'models', 'bench', 'demo-synth');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    process.stderr.write(`writing a synthesized demo preset (random weights) to ${dir} …\n`);
    await synthesize({ preset: 'demo', seed: 1, out: dir, dtype: 'f32', ifMissing: true });
  }
  return { dir, trained: false };
}

async function run(session: Session, prompt: number[], maxTokens: number, mtp: number): Promise<{ ids: number[]; done: DoneEvent }> {
  const ids: number[] = [];
  let done: DoneEvent | undefined;
  for await (const ev of generate(session, prompt, { maxTokens, temperature: 0, mtp, stopIds: [] })) {
    if (ev.kind === 'token') ids.push(ev.id);
    else done = ev;
  }
  return { ids, done: done! };
}

/** Mean ms of one snapshot + free of a sequence holding `position` tokens. */
function snapshotMs(session: Session, prompt: Int32Array, reps: number): number {
  const seq = session.model.newSequence(prompt.length + 1);
  session.model.forward(seq, prompt);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) seq.snapshot().free();
  const ms = (performance.now() - t0) / reps;
  seq.free();
  return ms;
}

/** Greedy decode of `n` tokens per prompt with the decoder directly: tok/s and rollback ms per round. */
function strategyRun(session: Session, prompts: readonly number[][], n: number, k: number, rollback: RollbackStrategy): { tokS: number; msPerRound: number } {
  let ms = 0;
  let tokens = 0;
  let rollbackMs = 0;
  let rounds = 0;
  for (const prompt of prompts) {
    const dec = new SpeculativeDecoder(session.model, { temperature: 0, k, rollback }, prompt.length + n + k + 1);
    dec.first(Int32Array.from(prompt));
    const t0 = performance.now();
    for (let left = n - 1; left > 0; ) left -= dec.next(left).length;
    ms += performance.now() - t0;
    tokens += n - 1;
    rollbackMs += dec.stats.rollbackMs;
    rounds += dec.stats.rounds;
    dec.free();
  }
  return { tokS: (tokens * 1000) / ms, msPerRound: rollbackMs / rounds };
}

/**
 * Print the speculative-decoding tables for each backend.
 * @example await benchMtp(table, { quick: false, backends: [wasmBackend] });
 */
export async function benchMtp(table: Table, options: { quick: boolean; backends: readonly Backend[] }): Promise<void> {
  const { dir, trained } = await demoModel();
  const maxTokens = options.quick ? 32 : 96;
  const rounds = options.quick ? 1 : 3;
  const what = trained ? 'the trained demo model (assets/packs/default)' : 'a SYNTHESIZED demo (random weights: the trained demo is not committed yet, so drafts are ~never accepted)';
  for (const backend of options.backends) {
    const ckpt = await openCheckpoint(dir);
    const session = await openSession(ckpt, backend);
    const text = requireText(session);
    const prompts = PROMPTS.map((p) => text.encode(p));
    await run(session, prompts[0], 8, 2); // warm-up (JIT tier-up)
    const rows: (string | number)[][] = [];
    const base: number[][] = [];
    let baseTokS = 0;
    const strategy: (string | number)[][] = [];
    for (let k = 0; k <= 4; k++) {
      let ms = 0;
      let tokens = 0;
      let accepted = 0;
      let verifies = 0;
      let rollbackMs = 0;
      let same = true;
      for (let r = 0; r < rounds; r++) {
        for (const [i, prompt] of prompts.entries()) {
          const { ids, done } = await run(session, prompt, maxTokens, k);
          if (k === 0 && r === 0) base[i] = ids;
          same &&= ids.join() === base[i].join();
          ms += done.timings.decodeMs;
          tokens += done.usage.completionTokens - 1;
          const s = done.speculative;
          if (s) {
            accepted += s.accepted;
            verifies += s.rounds;
            rollbackMs += s.rollbackMs;
          }
        }
      }
      const tokS = (tokens * 1000) / ms;
      if (k === 0) baseTokS = tokS;
      rows.push([String(k), k === 0 ? '-' : fmt(1 + accepted / verifies), fmt(tokS), `${fmt(tokS / baseTokS)}×`, same ? 'yes' : 'NO', k === 0 ? '-' : `${((100 * rollbackMs) / ms).toFixed(1)}%`]);
      if (k > 0) {
        const replay = strategyRun(session, prompts, maxTokens, k, 'replay');
        const recompute = strategyRun(session, prompts, maxTokens, k, 'recompute');
        const perPosition = (k + 1) * snapshotMs(session, Int32Array.from(prompts[0]), 50);
        strategy.push([String(k), fmt(replay.tokS), fmt(recompute.tokS), fmt(replay.msPerRound), fmt(recompute.msPerRound), fmt(perPosition)]);
      }
    }
    table(
      `MTP speculative decoding, greedy, ${backend.name}, ${what}: ${prompts.length} prompts × ${rounds} rounds, ${maxTokens} tokens each`,
      ['--mtp K', 'accept_len', 'decode tok/s', 'speed-up', 'same tokens as K=0', 'rollback share'],
      rows,
    );
    table(
      `Rollback strategies, ${backend.name}: decode tok/s and rollback ms per verification round (per-position snapshots: k + 1 measured state copies, an estimate; they need a per-token Mamba state op)`,
      ['--mtp K', 'replay tok/s', 'recompute tok/s', 'replay ms/round', 'recompute ms/round', 'per-position snapshots ms/round'],
      strategy,
    );
    session.dispose();
    await ckpt.store.close();
  }
}
