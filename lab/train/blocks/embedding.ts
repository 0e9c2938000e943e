// spec §4.1: the embedding's training pass. x[t] = Emb[tok_t] (R, d);
// backward: ∂Emb[tok_t] += ∂x[t] (rows of repeated tokens accumulate).

/**
 * Gather rows of emb (V, d) for the token ids: (R) → (R, d).
 * @example const x = embedForward(params.get('backbone.embeddings.weight')!, tokens, d);
 */
export function embedForward(emb: Float32Array, tokens: Int32Array, d: number): Float32Array {
  const x = new Float32Array(tokens.length * d);
  tokens.forEach((tok, t) => x.set(emb.subarray(tok * d, (tok + 1) * d), t * d));
  return x;
}

/**
 * Scatter-add ∂L/∂x (R, d) into the embedding's gradient dEmb (V, d).
 * @example embedBackward(grads.get('backbone.embeddings.weight')!, tokens, dx, d);
 */
export function embedBackward(dEmb: Float32Array, tokens: Int32Array, dx: Float32Array, d: number): void {
  tokens.forEach((tok, t) => {
    const off = tok * d;
    for (let c = 0; c < d; c++) dEmb[off + c] += dx[t * d + c];
  });
}
