// Y = X · Wᵀ on the device for any weight format (matmul_subgroup.wgsl when the device has
// subgroups, else matmul.wgsl, with the format's decoder), one dispatch per part of a split
// weight, and per block of at most maxWorkgroups · (columns per workgroup) output columns within a
// part (a 131072-row head on subgroups of 32 is 65536 workgroups, one past the default limit of
// 65535). With `gather`, row r of Y is slot r of the routed experts: the expert Sel[r] of the
// stack, on X row ⌊r / xDiv⌋ (spec §8 dispatch without a host round trip).
// Also the embedding gather (embed.wgsl), which reads the table through the same decoders.

import { newAct, type DevAct, type GpuContext } from './act.js';
import { weightKernelSource, type WeightKernel } from './shaders.js';
import type { GpuLinear, GpuPart } from './tensors.js';

/** Options of one projection. */
export interface LinearOptions {
  /** Apply relu² to the output (spec §9). */
  readonly relu2?: boolean;
  /** Routed-expert gather: `sel` (rows) expert per output row, X row = ⌊r / xDiv⌋. */
  readonly gather?: { readonly sel: GPUBuffer; readonly rows: number; readonly xDiv: number };
}

// The pipeline key and label: the kernel stem dtype_op_variant (house style H8), e.g. nvfp4s24_matmul_subgroup.
const STEMS: Record<WeightKernel, string> = { matmul: 'matmul', matmulSubgroup: 'matmul_subgroup', embed: 'embed' };

function source(ctx: GpuContext, kernel: WeightKernel, w: GpuLinear): [string, string] {
  const f16 = ctx.gpu.info.nativeF16;
  const dtype = w.format === 'f16' && f16 ? 'f16_native' : w.format.replace('-', '');
  return [`${dtype}_${STEMS[kernel]}`, weightKernelSource(kernel, w.format, f16)];
}

function weightBindings(part: GpuPart): Record<number, GPUBuffer> {
  const b: Record<number, GPUBuffer> = { 3: part.w };
  if (part.scale) b[4] = part.scale;
  if (part.positions) b[5] = part.positions;
  if (part.scale2) b[7] = part.scale2;
  return b;
}

/**
 * Encode Y = act(X · Wᵀ): (T, in) → (T, out), or (gather.rows, out) for routed experts.
 * @example const q = linear(ctx, u, ctx.tensors.linear(`${pre}q_proj.weight`));
 */
export function linear(ctx: GpuContext, x: DevAct, w: GpuLinear, options: LinearOptions = {}): DevAct {
  const g = options.gather;
  const rows = g ? g.rows : x.rows;
  const y = newAct(ctx, rows, w.rows);
  // one subgroup per output column when the device has subgroups
  const subgroup = ctx.gpu.info.subgroups;
  const perGroup = subgroup ? Math.max(1, 64 / ctx.gpu.info.subgroupMaxSize) : 64; // columns per workgroup
  const [key, src] = source(ctx, subgroup ? 'matmulSubgroup' : 'matmul', w);
  const block = ctx.gpu.info.maxWorkgroups * perGroup; // output columns of one dispatch at most
  for (const part of w.parts) {
    const bindings = { 1: x.buf, 2: y.buf, 6: g ? g.sel : ctx.gpu.dummy, ...weightBindings(part) }; // 6: expert of each slot
    // output columns [first, end): the part's rows, or every row of one expert when gathering
    const [first, end] = g ? [0, w.rows] : [part.start, part.end];
    for (let colStart = first; colStart < end; colStart += block) {
      const nCols = Math.min(block, end - colStart);
      const params = [rows, w.cols, w.rows, colStart, nCols, part.start, part.end, g ? 1 : 0, g ? g.xDiv : 1, w.rows, options.relu2 ? 1 : 0];
      ctx.gpu.dispatch(key, src, bindings, params, [Math.ceil(nCols / perGroup), g ? rows : Math.ceil(rows / 4)]);
    }
  }
  return y;
}

/**
 * spec §4.1: X[t] = Emb[tokens[t]], (T) → (T, d), exact.
 * @example const x = embed(ctx, ctx.tensors.linear('backbone.embeddings.weight'), tokens);
 */
export function embed(ctx: GpuContext, emb: GpuLinear, tokens: Int32Array): DevAct {
  const T = tokens.length;
  const d = emb.cols;
  const y = newAct(ctx, T, d);
  const tok = ctx.gpu.upload(Uint32Array.from(tokens));
  const [key, src] = source(ctx, 'embed', emb);
  for (const part of emb.parts) {
    ctx.gpu.dispatch(key, src, { 1: tok, 2: y.buf, ...weightBindings(part) }, [T, d, part.start, part.end, emb.rows], [Math.ceil(d / 64), T]);
  }
  ctx.gpu.release(tok);
  return y;
}
