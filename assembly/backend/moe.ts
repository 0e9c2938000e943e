// spec §8: the sigmoid-routed MoE mixer of an 'E' layer on the WASM kernels.
//   1. router logits r = W_g · u (T, E); f32_moe_route: σ, +bias for selection, group limiting,
//      top-K (ties to the lower index), unbiased weights renormalised (+1e-20) × routedScale
//   2. LatentMoE: x_e = W_fc1 · u (T, ℓ); plain: x_e = u
//   3. per expert, the tokens routed to it are gathered into one block (f32_gather_rows), run
//      through up → relu² → down once, and scatter-added with their weights
//      (f32_scatter_add_rows): each expert's weights are read once per forward pass
//   4. LatentMoE: routed = W_fc2 · routed (T, d)
//   5. out = routed + shared(u), the relu² MLP of width S at full width d
// Decode with kernel threads: the experts of step 3 and the shared expert of step 5 are jobs of
// whole experts (up product, relu², down product), spread over the threads longest first onto the
// least loaded one, instead of splitting each small expert matrix over every thread: one hand-off
// per layer and thread, and every thread reads whole matrices. The same kernel calls on the same
// inputs, summed in the same order: the outputs are those of one thread, bit for bit.
// Error budget: the kernels' (see their headers).

import { freeAct, newAct, type WasmAct, type WasmContext } from './act.js';
import { linear, wholeProduct, wholeProductScratch } from './linear.js';
import { relu2Mlp } from './mlp.js';
import { MAX_CALLS, type KernelPart } from './threads.js';

/** One expert's MLP as a thread job: x (1, w) → relu(W_up · x)² at h → W_down · h at y. */
interface ExpertJob {
  readonly up: string;
  readonly down: string;
  readonly x: number;
  readonly h: number;
  readonly y: number;
  readonly scratch: number;
  readonly width: number; // rows of W_up: the hidden width
  readonly cost: number; // multiply-adds of both products
}

/** An expert job for the weights up / down on the one token at x: its buffers allocated (freeExpertJob). */
function expertJob(ctx: WasmContext, up: string, down: string, x: number): ExpertJob {
  const wUp = ctx.tensors.linear(up);
  const { heap } = ctx;
  const scratch = Math.max(wholeProductScratch(ctx, up, 1), wholeProductScratch(ctx, down, 1));
  return { up, down, x, h: heap.alloc(wUp.rows * 4), y: heap.alloc(wUp.cols * 4), scratch: scratch ? heap.alloc(scratch) : 0, width: wUp.rows, cost: 2 * wUp.rows * wUp.cols };
}

function freeExpertJob(ctx: WasmContext, job: ExpertJob): void {
  for (const p of [job.h, job.y, job.scratch]) if (p) ctx.heap.free(p);
}

/** The calls of one expert job, in order. */
function expertCalls(ctx: WasmContext, job: ExpertJob): KernelPart[] {
  return [wholeProduct(ctx, job.up, job.x, 1, job.scratch, job.h), { kernel: 'f32_relu2', args: [job.h, job.width] }, wholeProduct(ctx, job.down, job.h, 1, job.scratch, job.y)];
}

/** Run the expert jobs spread over the kernel threads (longest first onto the least loaded); false, running nothing, when a thread's share would exceed MAX_CALLS. */
function runExpertJobs(ctx: WasmContext, jobs: readonly ExpertJob[]): boolean {
  const threads = ctx.threads!;
  const load = new Array<number>(threads.count).fill(0);
  const programs: KernelPart[][] = Array.from({ length: threads.count }, () => []);
  for (const job of [...jobs].sort((a, b) => b.cost - a.cost)) {
    const t = load.indexOf(Math.min(...load));
    load[t] += job.cost;
    programs[t].push(...expertCalls(ctx, job));
  }
  if (programs.some((p) => p.length > MAX_CALLS)) return false;
  threads.runAll(programs.filter((p) => p.length > 0), ctx.kernels);
  return true;
}

/**
 * The MoE mixer of layer il on u: (T, d) → (T, d).
 * @example const y = moe(ctx, 1, u);
 */
export function moe(ctx: WasmContext, il: number, u: WasmAct): WasmAct {
  const cfg = ctx.config.moe!;
  const { heap, kernels: k } = ctx;
  const pre = `${ctx.config.layers[il].prefix}mixer.`;
  const T = u.rows;
  const K = cfg.topK;

  // 1. route: (T, d) → (T, E) logits → (T, K) experts and weights
  const logits = linear(ctx, u, `${pre}gate.weight`);
  const idx = heap.alloc(T * K * 4);
  const wts = heap.alloc(T * K * 4);
  const scratch = heap.alloc(k.f32_moe_route_scratch_bytes(cfg.nExperts, cfg.nGroup));
  const bias = ctx.tensors.vector(`${pre}gate.e_score_correction_bias`);
  k.f32_moe_route(logits.ptr, bias, idx, wts, T, cfg.nExperts, K, cfg.nGroup, cfg.topkGroup, cfg.routedScale, cfg.normTopK ? 1 : 0, scratch);
  heap.free(scratch);
  freeAct(logits);
  const experts = heap.i32(idx, T * K).slice();
  const gains = heap.f32(wts, T * K).slice();
  heap.free(idx);
  heap.free(wts);

  // tokens and weights per expert
  const tokensOf = new Map<number, number[]>();
  const gainsOf = new Map<number, number[]>();
  for (let i = 0; i < T * K; i++) {
    const e = experts[i];
    if (!tokensOf.has(e)) {
      tokensOf.set(e, []);
      gainsOf.set(e, []);
    }
    tokensOf.get(e)!.push(Math.floor(i / K));
    gainsOf.get(e)!.push(gains[i]);
  }

  // 2. expert input: u, or u_ℓ = W_fc1 · u: (T, d) → (T, ℓ)
  const xe = cfg.latentDim === null ? u : linear(ctx, u, `${pre}fc1_latent_proj.weight`);
  const w = xe.cols;
  const routed = newAct(ctx, T, w); // (T, w) Σ_k w_k e_k
  heap.u8(routed.ptr, T * w * 4).fill(0);
  const rows = heap.alloc(T * 4); // (n_e) token rows of one expert
  const rowGains = heap.alloc(T * 4); // (n_e) their weights

  // a decode step on kernel threads: every expert and the shared one as whole jobs (see the header)
  const order = [...tokensOf.keys()].sort((a, b) => a - b);
  const sharedUp = `${pre}shared_experts.up_proj.weight`;
  const sharedDown = `${pre}shared_experts.down_proj.weight`;
  const jobs =
    T === 1 && ctx.threads && ctx.threads.count > 1
      ? [...order.map((e) => expertJob(ctx, `${pre}experts.${e}.up_proj.weight`, `${pre}experts.${e}.down_proj.weight`, xe.ptr)), expertJob(ctx, sharedUp, sharedDown, u.ptr)]
      : [];
  try {
    const onThreads = jobs.length > 0 && runExpertJobs(ctx, jobs);

    // 3. each expert once, over all its tokens, in expert order (its output from the jobs, or computed here)
    for (const [i, e] of order.entries()) {
      const tokens = tokensOf.get(e)!;
      const n = tokens.length;
      heap.i32(rows, n).set(tokens);
      heap.f32(rowGains, n).set(gainsOf.get(e)!);
      if (onThreads) {
        k.f32_scatter_add_rows(jobs[i].y, w, rows, rowGains, n, routed.ptr);
        continue;
      }
      const xs = newAct(ctx, n, w); // (n_e, w)
      k.f32_gather_rows(xe.ptr, w, rows, n, xs.ptr);
      const ys = relu2Mlp(ctx, xs, `${pre}experts.${e}.up_proj.weight`, `${pre}experts.${e}.down_proj.weight`);
      k.f32_scatter_add_rows(ys.ptr, w, rows, rowGains, n, routed.ptr);
      freeAct(xs);
      freeAct(ys);
    }
    heap.free(rows);
    heap.free(rowGains);
    if (xe !== u) freeAct(xe);

    // 4. LatentMoE back to width d: (T, ℓ) → (T, d)
    let out = routed;
    if (cfg.latentDim !== null) {
      out = linear(ctx, routed, `${pre}fc2_latent_proj.weight`);
      freeAct(routed);
    }
    // 5. shared expert, always on
    if (onThreads) k.f32_add(out.ptr, jobs[jobs.length - 1].y, T * ctx.config.dModel);
    else {
      const shared = relu2Mlp(ctx, u, sharedUp, sharedDown);
      k.f32_add(out.ptr, shared.ptr, T * ctx.config.dModel);
      freeAct(shared);
    }
    return out;
  } finally {
    for (const job of jobs) freeExpertJob(ctx, job);
  }
}
