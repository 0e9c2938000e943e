// The hook of the decode loop (generate.ts, speculative.ts): what constraints, penalties and
// recorders implement.

/**
 * Edits each row of logits before it is sampled and sees every sampled id, e.g. the reasoning
 * budget of spec §15.4 (engine/text/reasoning.ts). Constraints only lower logits (mask with −∞);
 * penalties and logit bias (engine/decode/penalties.ts) may raise them, and run before any mask.
 */
export interface LogitsProcessor {
  /** Adjust the (V) logits of the next token in place. */
  process(logits: Float32Array): void;
  /** The id sampled from the row `process` last saw. */
  accept(id: number): void;
}
