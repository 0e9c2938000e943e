// `npm run bench`: self-speculative decoding with the MTP block (spec §11, docs/models.md). On the
// demo model (the embedded default when it has its MTP block, i.e. the trained `demo` preset; else
// a `demo` synthesized with random weights, which the output says — random drafts are almost never
// accepted, so that row shows the overhead, not the gain): greedy decoding with --mtp K,
// K = 0…4, per backend, as generate runs it (engine/decode/speculative.ts): acceptance length (tokens
// per verification pass), decode tokens/s, the speed-up over K = 0, whether the tokens equal
// K = 0's, and the share of rounds that rolled back.
//
// Rollback strategies (engine/decode/speculative.ts), each after restoring the snapshot taken before the
// verify pass: 'replay' re-runs only the Mamba-2 layers on their inputs kept from that pass;
// 'recompute' re-runs the whole trunk on the accepted prefix. Both are timed here (decode tok/s,
// and one rollback by itself). A third, per-position snapshots (a state copy at every
// verified position, restore the one at the last accepted token, nothing re-run), needs a Mamba
// op that writes the state after every token of a pass (the chunked scan only has it at the end
// of a pass), which the op interface does not have; its cost is estimated as k + 1 measured
// snapshot copies of the real sequence state per round.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../engine/core/backend.js';
import type { MambaInputs } from '../engine/core/model.js';
import { openSession, requireText, type Session } from '../engine/core/session.js';
import { argmax } from '../engine/decode/sample.js';
import { parseConfigJson } from '../engine/formats/config-json.js';
import { SpeculativeDecoder, type RollbackStrategy, type SpeculativeStats } from '../engine/decode/speculative.js';
import { packageRoot } from '../runtime/paths.js';
import { openCheckpoint } from '../weights-tools/checkpoint.js';
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
  const config = parseConfigJson(readFileSync(join(packed, 'config.json'), 'utf8'), join(packed, 'config.json')) as Record<string, unknown>;
  if (Number(config.num_nextn_predict_layers ?? 0) > 0) return { dir: packed, trained: true };
  const dir = join(packageRoot(), 'models', 'bench', 'demo-synth');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    process.stderr.write(`writing a synthesized demo preset (random weights) to ${dir} …\n`);
    await synthesize({ preset: 'demo', seed: 1, out: dir, dtype: 'f32', ifMissing: true });
  }
  return { dir, trained: false };
}

/** CPU time of this process (user + system), ms: unlike wall time, not inflated by other processes. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** One greedy generation of n tokens after the prompt: the ids, decode CPU ms and the decoder's counts. */
interface Measured {
  readonly ids: number[];
  readonly ms: number;
  readonly stats?: SpeculativeStats;
}

/** Plain greedy decoding (--mtp 0), as generate runs it: one token per forward call. */
function plainRun(session: Session, prompt: readonly number[], n: number): Measured {
  const { model } = session;
  const seq = model.newSequence(prompt.length + n);
  const ids = [argmax(model.forward(seq, Int32Array.from(prompt)))];
  const t0 = cpuMs();
  while (ids.length < n) ids.push(argmax(model.forward(seq, Int32Array.of(ids[ids.length - 1]))));
  const ms = cpuMs() - t0;
  seq.free();
  return { ids, ms };
}

/** Speculative greedy decoding with draft depth k and a rollback strategy. */
function speculativeRun(session: Session, prompt: readonly number[], n: number, k: number, rollback: RollbackStrategy): Measured {
  const dec = new SpeculativeDecoder(session.model, { temperature: 0, k, rollback }, prompt.length + n + k + 1);
  const ids = [dec.first(Int32Array.from(prompt))];
  const t0 = cpuMs();
  while (ids.length < n) ids.push(...dec.next(n - ids.length));
  const ms = cpuMs() - t0;
  const stats = dec.stats;
  dec.free();
  return { ids, ms, stats };
}

/** Mean ms of one snapshot + free of a sequence holding `position` tokens. */
function snapshotMs(session: Session, prompt: Int32Array, reps: number): number {
  const seq = session.model.newSequence(prompt.length + 1);
  session.model.forward(seq, prompt);
  const t0 = cpuMs();
  for (let i = 0; i < reps; i++) seq.snapshot().free();
  const ms = (cpuMs() - t0) / reps;
  seq.free();
  return ms;
}

/**
 * CPU ms of one rollback after a verify pass of k + 1 tokens that accepted none: restore, then
 * replay the Mamba layers on one row, or recompute one token through the trunk.
 */
function rollbackMs(session: Session, prompt: Int32Array, k: number, strategy: RollbackStrategy, reps: number): number {
  const { model } = session;
  const seq = model.newSequence(prompt.length + k + 1);
  model.forward(seq, prompt);
  const verify = Int32Array.from({ length: k + 1 }, (_, i) => prompt[i]);
  let ms = 0;
  for (let r = 0; r < reps; r++) {
    const before = seq.snapshot();
    const inputs: MambaInputs = new Map();
    model.ops.free(model.forwardHidden(seq, verify, 'all', undefined, strategy === 'replay' ? inputs : undefined).hidden);
    const t0 = cpuMs();
    seq.restore(before);
    if (strategy === 'replay') model.replayMamba(seq, inputs, 1);
    else model.consume(seq, verify.subarray(0, 1));
    ms += cpuMs() - t0;
    model.freeMambaInputs(inputs);
    seq.restore(before);
    before.free();
  }
  seq.free();
  return ms / reps;
}

/**
 * Print the speculative-decoding tables for each backend. Times are CPU time of this process
 * (the machine may be shared); runs are interleaved (every K, strategy and prompt once per
 * repetition) and each keeps its fastest repetition.
 * @example await benchMtp(table, { quick: false, backends: [wasmBackend] });
 */
export async function benchMtp(table: Table, options: { quick: boolean; backends: readonly Backend[] }): Promise<void> {
  const { dir, trained } = await demoModel();
  const n = options.quick ? 32 : 96;
  const reps = options.quick ? 2 : 5;
  const what = trained ? 'the trained demo model (assets/packs/default)' : 'a SYNTHESIZED demo (random weights: the trained demo is not committed yet, so drafts are ~never accepted)';
  const K = [1, 2, 3, 4];
  const STRATEGIES = ['replay', 'recompute'] as const;
  for (const backend of options.backends) {
    const ckpt = await openCheckpoint(dir);
    const session = await openSession(ckpt, backend);
    const text = requireText(session);
    const prompts = PROMPTS.map((p) => text.encode(p));
    speculativeRun(session, prompts[0], 8, 2, 'replay'); // warm-up (JIT tier-up)
    const best = new Map<string, Measured>(); // fastest run by `${k}/${strategy}/${prompt index}`; k = 0: plain
    const keep = (key: string, m: Measured) => {
      if (!(best.get(key)!?.ms <= m.ms)) best.set(key, m);
    };
    for (let r = 0; r < reps; r++) {
      for (const [i, prompt] of prompts.entries()) {
        keep(`0/plain/${i}`, plainRun(session, prompt, n));
        for (const k of K) for (const strategy of STRATEGIES) keep(`${k}/${strategy}/${i}`, speculativeRun(session, prompt, n, k, strategy));
      }
    }
    const sum = (k: number, strategy: string, f: (m: Measured) => number) => prompts.reduce((a, _, i) => a + f(best.get(`${k}/${strategy}/${i}`)!), 0);
    const tokS = (k: number, strategy: string) => (prompts.length * (n - 1) * 1000) / sum(k, strategy, (m) => m.ms);
    const same = (k: number, strategy: string) => prompts.every((_, i) => best.get(`${k}/${strategy}/${i}`)!.ids.join() === best.get(`0/plain/${i}`)!.ids.join());
    const base = tokS(0, 'plain');
    table(
      `MTP speculative decoding, greedy, ${backend.name}, ${what}: ${prompts.length} prompts × ${n} tokens, CPU time, fastest of ${reps} interleaved runs (rollback 'replay')`,
      ['--mtp K', 'accept_len', 'decode tok/s', 'speed-up', 'same tokens as K=0', 'rounds with a rollback'],
      [
        ['0', '-', fmt(base), '1.00×', 'yes', '-'],
        ...K.map((k) => {
          const acceptLen = 1 + sum(k, 'replay', (m) => m.stats!.accepted) / sum(k, 'replay', (m) => m.stats!.rounds);
          const rollbacks = sum(k, 'replay', (m) => m.stats!.rollbacks) / sum(k, 'replay', (m) => m.stats!.rounds);
          return [String(k), fmt(acceptLen), fmt(tokS(k, 'replay')), `${fmt(tokS(k, 'replay') / base)}×`, same(k, 'replay') && same(k, 'recompute') ? 'yes' : 'NO', `${(100 * rollbacks).toFixed(0)}%`];
        }),
      ],
    );
    const p0 = Int32Array.from(prompts[0]);
    table(
      `Rollback strategies, ${backend.name}: decode tok/s (CPU time) and CPU ms of one rollback (restore + replay or recompute of 1 token); per-position snapshots: k + 1 measured state copies per round, an estimate (they need a per-token Mamba state op)`,
      ['--mtp K', 'replay tok/s', 'recompute tok/s', 'replay ms', 'recompute ms', 'per-position snapshots ms/round'],
      K.map((k) => [String(k), fmt(tokS(k, 'replay')), fmt(tokS(k, 'recompute')), fmt(rollbackMs(session, p0, k, 'replay', 20)), fmt(rollbackMs(session, p0, k, 'recompute', 20)), fmt((k + 1) * snapshotMs(session, p0, 50))]),
    );
    session.dispose();
    await ckpt.store.close();
  }
}
