// Named intermediates, as llama.cpp's `cb(cur, "name", il)`: the model graph (engine/core/model.ts)
// reports each tensor it computes as {name, layer} to an optional hook, so two backends can be
// run on the same tokens and the first tensor where they part pinpointed, instead of a whole
// forward pass's logits. Names, in graph order (layer −1: outside the layers):
//   embed (−1) → per layer il: norm, mamba2 | attention | moe | mlp, residual → norm_f (−1) → logits (−1)
// Tracing downloads every tensor to the host, so it is for debugging and tests, never serving.

/** Where a tensor was computed. */
export interface TracePoint {
  readonly name: string;
  /** The layer index il, or −1 outside the layers. */
  readonly layer: number;
}

/** Receives each traced tensor as host floats (rows × cols, row-major); must not keep `values` past the call unless it copies them. */
export type TraceHook = (point: TracePoint, values: Float32Array) => void;

/** One traced tensor, copied. */
export interface TraceEntry extends TracePoint {
  readonly values: Float32Array;
}

/**
 * Records every traced tensor of a run.
 * @example
 * const rec = new TraceRecorder();
 * model.trace = rec.hook;
 * model.forward(seq, tokens, 'all');
 * rec.entries.map((e) => `${e.name}@${e.layer}`); // ['embed@-1', 'norm@0', 'mamba2@0', 'residual@0', …]
 */
export class TraceRecorder {
  readonly entries: TraceEntry[] = [];
  readonly hook: TraceHook = (point, values) => void this.entries.push({ ...point, values: values.slice() });
}

/** Normalised mean squared error, mse(a, b) / mse(a, 0) (llama.cpp's test-backend-ops measure). */
export function nmse(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    err += (a[i] - b[i]) ** 2;
    ref += a[i] ** 2;
  }
  return ref === 0 ? (err === 0 ? 0 : Infinity) : err / ref;
}

/** The first point where two traces part, and by how much. */
export interface Divergence extends TracePoint {
  readonly nmse: number;
}

/**
 * The first traced tensor where `b` parts from `a` (NMSE above `tolerance`, a shape or a name
 * that differs), or null when every tensor agrees.
 * @example
 * firstDivergence(onReference.entries, onWasm.entries, 1e-6); // { name: 'moe', layer: 3, nmse: 0.02 } | null
 */
export function firstDivergence(a: readonly TraceEntry[], b: readonly TraceEntry[], tolerance: number): Divergence | null {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y || x.name !== y.name || x.layer !== y.layer || x.values.length !== y.values.length) {
      const at = x ?? y;
      return { name: at.name, layer: at.layer, nmse: Infinity };
    }
    const e = nmse(x.values, y.values);
    if (!(e <= tolerance)) return { name: x.name, layer: x.layer, nmse: e };
  }
  return null;
}
