// Data parallelism for the trainer: the batch is split into `threads` shares of whole windows;
// the calling thread computes share 0 and worker threads (grad-worker.ts) the others, each over
// the same parameters (a SharedArrayBuffer, read-only while they run) into its own gradient
// buffer. The step's gradient is the window-weighted average Σ_k (B_k / B)·g_k, summed in thread
// order, so a run is deterministic for a given thread count.

import { Worker } from 'node:worker_threads';
import { parseConfig } from '../../engine/core/config.js';
import type { TensorMap } from './block.js';
import { TrainModel, windowLength, type StepStats } from './model.js';
import { flatBuffer, tensorViews, type ParamLayout } from './params.js';

/** What a worker posts back after a step. */
export interface WorkerReply {
  readonly loss: number;
  readonly mtpLoss: number | null;
  readonly loads: [string, Float32Array][];
}

/** A step's result: the averaged gradient is in `grads`. */
export interface PoolStep extends StepStats {
  readonly grads: Float32Array;
}

/**
 * Gradient computation over 1 + (threads − 1) worker threads.
 * @example
 * const pool = await GradPool.start(raw, layout, params, 2);
 * const { loss, grads } = await pool.step(windows, B, T);
 * await pool.close();
 */
export class GradPool {
  private constructor(
    private readonly model: TrainModel,
    private readonly params: TensorMap,
    private readonly grads: Float32Array[], // one flat buffer per thread (0 = this one)
    private readonly gradViews: TensorMap,
    private readonly workers: Worker[],
  ) {}

  static async start(rawConfig: Record<string, unknown>, layout: ParamLayout, params: Float32Array, threads: number): Promise<GradPool> {
    const config = parseConfig(rawConfig);
    const grads = Array.from({ length: threads }, () => flatBuffer(layout.total, threads > 1));
    const workers: Worker[] = [];
    for (let k = 1; k < threads; k++) {
      const w = new Worker(new URL('./grad-worker.js', import.meta.url), { workerData: { rawConfig, layout, params, grads: grads[k] } });
      await new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
      workers.push(w);
    }
    return new GradPool(new TrainModel(config), tensorViews(layout, params), grads, tensorViews(layout, grads[0]), workers);
  }

  /** Loss and averaged gradient of B windows (B × windowLength(T) ids). */
  async step(windows: Int32Array, B: number, T: number): Promise<PoolStep> {
    const n = this.workers.length + 1;
    const W = windowLength(this.model.config, T);
    const shares = Array.from({ length: n }, (_, k) => Math.floor((B * (k + 1)) / n) - Math.floor((B * k) / n));
    const starts = shares.map((_, k) => Math.floor((B * k) / n));
    const replies = this.workers.map(
      (w, j) =>
        new Promise<WorkerReply>((resolve, reject) => {
          const fail = (e: Error) => reject(e);
          w.once('error', fail);
          w.once('message', (reply: WorkerReply) => {
            w.off('error', fail);
            resolve(reply);
          });
          const k = j + 1;
          w.postMessage({ windows: windows.slice(starts[k] * W, (starts[k] + shares[k]) * W), B: shares[k], T });
        }),
    );
    this.grads[0].fill(0);
    const own = this.model.lossAndGrads(this.params, this.gradViews, windows.subarray(0, shares[0] * W), shares[0], T);
    const results: WorkerReply[] = [{ loss: own.loss, mtpLoss: own.mtpLoss, loads: [...own.loads] }, ...(await Promise.all(replies))];
    const g = this.grads[0];
    let loss = 0;
    let mtpLoss: number | null = own.mtpLoss === null ? null : 0;
    const loads = new Map<string, Float32Array>();
    results.forEach((r, k) => {
      const share = shares[k] / B;
      loss += share * r.loss;
      if (mtpLoss !== null) mtpLoss += share * r.mtpLoss!;
      if (k > 0) {
        const gk = this.grads[k];
        if (k === 1) for (let i = 0; i < g.length; i++) g[i] *= shares[0] / B;
        for (let i = 0; i < g.length; i++) g[i] += share * gk[i];
      }
      for (const [prefix, load] of r.loads) {
        const acc = loads.get(prefix) ?? new Float32Array(load.length);
        for (let e = 0; e < load.length; e++) acc[e] += load[e];
        loads.set(prefix, acc);
      }
    });
    return { loss, mtpLoss, loads, grads: g };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
