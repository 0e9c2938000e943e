// Y(T, N) = X(T, K) · W(N, K)ᵀ for a linear weight in WASM memory: picks the kernel by the
// weight's dtype (f32_matmul or bf16_matmul; both take the matvec path when T = 1).

import { OpArgumentError } from '../../engine/errors.js';
import { newAct, type WasmAct, type WasmContext } from './act.js';

/**
 * X · Wᵀ for the linear weight `name`: (T, in) → (T, out).
 * @example const q = linear(ctx, u, 'backbone.layers.5.mixer.q_proj.weight');
 */
export function linear(ctx: WasmContext, x: WasmAct, name: string): WasmAct {
  const w = ctx.tensors.linear(name);
  if (x.cols !== w.cols) throw new OpArgumentError('matmul', `(${x.rows}, ${x.cols}) · ${name}ᵀ needs ${w.cols} columns`);
  const y = newAct(ctx, x.rows, w.rows); // (T, out)
  const kernel = w.dtype === 'f32' ? ctx.kernels.f32_matmul : ctx.kernels.bf16_matmul;
  kernel(x.ptr, w.ptr, y.ptr, x.rows, w.cols, w.rows);
  return y;
}
