// The bench's model timing (DESIGN §8), shared by bench/run.ts and bench/llamacpp.ts: one
// checkpoint (HF folder, edge pack or GGUF) on one backend, a fixed prompt, then greedy decode.

import type { Backend } from '../engine/backend.js';
import { openSession } from '../engine/session.js';
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
 * Prefill of benchPrompt(promptLen) then decodeSteps greedy tokens, each timed as a whole.
 * @example const row = await benchModel('models/bench/small-f32', wasmBackend, 32, 24);
 */
export async function benchModel(dir: string, backend: Backend, promptLen: number, decodeSteps: number): Promise<ModelRow> {
  const ckpt = await openCheckpoint(dir);
  const session = await openSession(ckpt, backend);
  const { model } = session;
  const V = model.config.vocabSize;
  const prompt = benchPrompt(promptLen, V);
  // warm-up: one short prefill and decode step on a throwaway sequence (JIT tier-up)
  const warm = model.newSequence(8);
  model.forward(warm, prompt.subarray(0, 2));
  model.forward(warm, prompt.subarray(2, 3));
  warm.free();

  const seq = model.newSequence(promptLen + decodeSteps + 1);
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
  session.dispose();
  await ckpt.store.close();
  return { backend: backend.name, loadMs: session.loadMs, prefillTokS: promptLen / (prefillMs / 1e3), decodeTokS: decodeSteps / (decodeMs / 1e3) };
}
