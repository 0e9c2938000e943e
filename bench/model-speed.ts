// The bench's model timing (DESIGN §8), shared by bench/run.ts and bench/llamacpp.ts: one
// checkpoint (HF folder, edge pack or GGUF) on one backend, a fixed prompt, then greedy decode.

import type { Backend } from '../engine/core/backend.js';
import type { Model } from '../engine/core/model.js';
import { openSession } from '../engine/core/session.js';
import { openCheckpoint } from '../weights-tools/checkpoint.js';

export interface ModelRow {
  backend: string;
  loadMs: number;
  prefillTokS: number;
  decodeTokS: number;
}

/** The bench prompt: promptLen token ids spread over the vocabulary (V). */
export function benchPrompt(promptLen: number, V: number): Int32Array {
  return Int32Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % V);
}

/**
 * ms of the prefill of `prompt` on a fresh sequence, then of decodeSteps greedy tokens after it.
 * @example const { prefillMs, decodeMs } = timeGreedy(session.model, benchPrompt(16, V), 8);
 */
export function timeGreedy(model: Model, prompt: Int32Array, decodeSteps: number): { prefillMs: number; decodeMs: number } {
  const V = model.config.vocabSize;
  const seq = model.newSequence(prompt.length + decodeSteps + 1);
  let t0 = performance.now();
  let logits = model.forward(seq, prompt);
  const prefillMs = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < decodeSteps; i++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
    logits = model.forward(seq, Int32Array.of(best));
  }
  const decodeMs = performance.now() - t0;
  seq.free();
  return { prefillMs, decodeMs };
}

/**
 * Prefill of benchPrompt(promptLen) then decodeSteps greedy tokens, each timed as a whole.
 * @example const row = await benchModel('models/bench/small-f32', wasmBackend, 32, 24);
 */
export async function benchModel(dir: string, backend: Backend, promptLen: number, decodeSteps: number): Promise<ModelRow> {
  const ckpt = await openCheckpoint(dir);
  const session = await openSession(ckpt, backend);
  const { model } = session;
  const prompt = benchPrompt(promptLen, model.config.vocabSize);
  // warm-up: one short prefill and decode step on a throwaway sequence (JIT tier-up)
  const warm = model.newSequence(8);
  model.forward(warm, prompt.subarray(0, 2));
  model.forward(warm, prompt.subarray(2, 3));
  warm.free();

  const { prefillMs, decodeMs } = timeGreedy(model, prompt, decodeSteps);
  session.dispose();
  await ckpt.store.close();
  return { backend: backend.name, loadMs: session.loadMs, prefillTokS: promptLen / (prefillMs / 1e3), decodeTokS: decodeSteps / (decodeMs / 1e3) };
}

/** Per-round rates of one checkpoint in benchModelsInterleaved. */
export interface InterleavedRow {
  prefillTokS: number[];
  decodeTokS: number[];
}

/**
 * Several checkpoints timed side by side: all loaded at once, then in each round every one in turn
 * prefills benchPrompt(promptLen) on a fresh sequence and decodes decodeSteps greedy tokens. Short
 * interleaved rounds put every model through the same machine conditions, so per-round ratios
 * between them are steadier than rates from separate runs on a noisy host.
 * @example const [f32, q4] = await benchModelsInterleaved([{ dir: f32Dir, backend }, { dir: q4Dir, backend }], 32, 12, 8);
 */
export async function benchModelsInterleaved(
  models: readonly { dir: string; backend: Backend }[],
  promptLen: number,
  rounds: number,
  decodeSteps: number,
): Promise<InterleavedRow[]> {
  const opened = [];
  for (const m of models) {
    const ckpt = await openCheckpoint(m.dir);
    opened.push({ ckpt, session: await openSession(ckpt, m.backend) });
  }
  try {
    const rows = opened.map(() => ({ prefillTokS: [] as number[], decodeTokS: [] as number[] }));
    for (let r = -1; r < rounds; r++) {
      opened.forEach(({ session: { model } }, i) => {
        const { prefillMs, decodeMs } = timeGreedy(model, benchPrompt(promptLen, model.config.vocabSize), decodeSteps);
        if (r < 0) return; // round −1 warms the JIT up
        rows[i].prefillTokS.push(promptLen / (prefillMs / 1e3));
        rows[i].decodeTokS.push(decodeSteps / (decodeMs / 1e3));
      });
    }
    return rows;
  } finally {
    for (const { ckpt, session } of opened) {
      session.dispose();
      await ckpt.store.close();
    }
  }
}
