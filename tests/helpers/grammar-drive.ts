// Shared by the grammar-constraint tests (tests/engine/text/tool-constraint.test.ts,
// json-schema-grammar.test.ts): a seeded generator and a greedy sampler over a small vocabulary
// that drives a logits processor the way engine/generate does.
import { expect } from 'vitest';

/** A seeded xorshift32 in [0, 1). */
export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/**
 * Sample the argmax of `prefer(id, step)` plus uniform noise in [0, noise) after the processor's
 * masks, until a stop id or maxTokens; every row must leave some token allowed.
 */
export function drive(
  processor: { process(l: Float32Array): void; accept(id: number): void },
  vocab: { readonly length: number },
  stops: readonly number[],
  maxTokens: number,
  prefer: (id: number, step: number) => number,
  seed = 1,
  noise = 1,
): number[] {
  const next = rng(seed);
  const ids: number[] = [];
  for (let step = 0; step < maxTokens; step++) {
    const logits = Float32Array.from({ length: vocab.length }, (_, id) => prefer(id, step) + noise * next());
    processor.process(logits);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    expect(logits[best]).toBeGreaterThan(-Infinity);
    processor.accept(best);
    ids.push(best);
    if (stops.includes(best)) break;
  }
  return ids;
}

/** What `walkThenComplete` needs of a grammar (engine/text/grammar-constraint.ts's Grammar). */
interface WalkableGrammar {
  copy(): WalkableGrammar;
  feed(c: string): boolean;
  readonly cost: number;
  readonly complete: boolean;
}

/**
 * A random walk of up to `steps` characters of `alphabet` inside the grammar, then its greedy
 * completion: at every step some character must lower the shortest completion by one.
 * @example const text = walkThenComplete(grammar(SCHEMA), [...'{}[]":,0a'], rng(1), 100);
 */
export function walkThenComplete(g: WalkableGrammar, alphabet: readonly string[], next: () => number, steps: number): string {
  let text = '';
  for (let step = 0; step < steps && !g.complete; step++) {
    const options = alphabet.filter((c) => g.copy().feed(c));
    if (options.length === 0) break;
    const c = options[Math.floor(next() * options.length)];
    g.feed(c);
    text += c;
  }
  while (!g.complete) {
    const cost = g.cost;
    const best = alphabet.find((c) => {
      const h = g.copy();
      return h.feed(c) && h.cost === cost - 1;
    });
    expect(best, `no cheaper character after ${JSON.stringify(text)}`).toBeDefined();
    g.feed(best!);
    text += best;
  }
  return text;
}
