// The count-based baseline of docs/models.md: a byte-level trigram model (the "characters" are the
// UTF-8 bytes, 256 symbols) with interpolated Kneser–Ney smoothing (Chen & Goodman 1998, §3.5; one
// absolute discount per order), giving bits per byte on held-out text.
//
// The text is read as one stream preceded by two start symbols S (= 256, never predicted). For a
// next byte c after the context (a, b):
//   P3(c|ab) = max(n(abc) − D3, 0)/n(ab•) + D3·T(ab•)/n(ab•) · P2(c|b)        (P2(c|b) when n(ab•) = 0)
//   P2(c|b)  = max(N(•bc) − D2, 0)/N(•b•) + D2·T(•b•)/N(•b•) · P1(c)          (P1(c) when N(•b•) = 0)
//   P1(c)    = max(N(•c) − D1, 0)/N(••)   + D1·T(••)/N(••) · 1/256
// n(·) are counts, N(•bc) = #{a : n(abc) > 0} and N(•c) = #{b : n(bc) > 0} are Kneser–Ney
// continuation counts, N(•b•) = Σ_c N(•bc), N(••) = Σ_c N(•c), and T(…) is the number of distinct
// c with a non-zero count in that sum. The discount of each order is D = n1/(n1 + 2·n2) from the
// number n1, n2 of that order's (continuation) counts equal to 1 and 2 (0.5 when n1 = 0).
// Every P(·|ab) sums to 1 over the 256 bytes and is never 0.

/** The start symbol that pads the first two contexts. */
const S = 256;
/** Context symbols: 256 bytes and S. */
const C = 257;
/** Predicted symbols: the 256 bytes. */
const A = 256;

/** Options of {@link ByteTrigram.fit}. */
export interface TrigramOptions {
  /** Fixed discounts [D1, D2, D3] instead of the n1/(n1 + 2·n2) estimates. */
  readonly discounts?: readonly [number, number, number];
}

/** Absolute discount of one order from its counts: n1/(n1 + 2·n2), or 0.5 when n1 = 0. */
function estimateDiscount(counts: Uint32Array): number {
  let n1 = 0;
  let n2 = 0;
  for (const n of counts) {
    if (n === 1) n1++;
    else if (n === 2) n2++;
  }
  return n1 === 0 ? 0.5 : n1 / (n1 + 2 * n2);
}

/**
 * A fitted byte-level trigram model with interpolated Kneser–Ney smoothing.
 * @example
 * const lm = ByteTrigram.fit(new TextEncoder().encode(trainText));
 * lm.bitsPerByte(new TextEncoder().encode(heldoutText)); // ≈ 2.3 on the demo corpus
 */
export class ByteTrigram {
  /** [D1, D2, D3]. */
  readonly discounts: readonly [number, number, number];

  private constructor(
    private readonly tri: Uint32Array, // n(abc): (C, C, A)
    private readonly triContext: Uint32Array, // n(ab•): (C, C)
    private readonly triTypes: Uint32Array, // T(ab•): (C, C)
    private readonly midCont: Uint32Array, // N(•bc): (C, A)
    private readonly midTotal: Uint32Array, // N(•b•): (C)
    private readonly midTypes: Uint32Array, // T(•b•): (C)
    private readonly p1: Float64Array, // P1(c): (A)
    discounts: readonly [number, number, number],
  ) {
    this.discounts = discounts;
  }

  /**
   * Count the trigrams of `bytes` (preceded by S S) and fix the discounts.
   * @example
   * const lm = ByteTrigram.fit(new TextEncoder().encode('abracadabra'));
   */
  static fit(bytes: Uint8Array, options: TrigramOptions = {}): ByteTrigram {
    // 1. raw trigram counts and the bigram types they imply
    const tri = new Uint32Array(C * C * A);
    let a = S;
    let b = S;
    for (const c of bytes) {
      tri[(a * C + b) * A + c]++;
      a = b;
      b = c;
    }
    const bi = new Uint8Array(C * A); // bigram (b, c) seen: (C, A)
    const midCont = new Uint32Array(C * A);
    const triContext = new Uint32Array(C * C);
    const triTypes = new Uint32Array(C * C);
    for (let ab = 0; ab < C * C; ab++) {
      const bb = ab % C;
      for (let c = 0; c < A; c++) {
        const n = tri[ab * A + c];
        if (n === 0) continue;
        triContext[ab] += n;
        triTypes[ab]++;
        midCont[bb * A + c]++;
        bi[bb * A + c] = 1;
      }
    }
    // 2. middle order: continuation totals and types per context b
    const midTotal = new Uint32Array(C);
    const midTypes = new Uint32Array(C);
    for (let bb = 0; bb < C; bb++) {
      for (let c = 0; c < A; c++) {
        const n = midCont[bb * A + c];
        midTotal[bb] += n;
        if (n > 0) midTypes[bb]++;
      }
    }
    // 3. lowest order: N(•c) = number of distinct bigram types ending in c
    const uniCont = new Uint32Array(A);
    for (let bb = 0; bb < C; bb++) for (let c = 0; c < A; c++) uniCont[c] += bi[bb * A + c];
    const [d1, d2, d3] = options.discounts ?? [estimateDiscount(uniCont), estimateDiscount(midCont), estimateDiscount(tri)];
    const uniTotal = uniCont.reduce((s, n) => s + n, 0);
    const uniTypes = uniCont.reduce((s, n) => s + (n > 0 ? 1 : 0), 0);
    const p1 = new Float64Array(A);
    for (let c = 0; c < A; c++) {
      p1[c] = uniTotal === 0 ? 1 / A : Math.max(uniCont[c] - d1, 0) / uniTotal + ((d1 * uniTypes) / uniTotal) * (1 / A);
    }
    return new ByteTrigram(tri, triContext, triTypes, midCont, midTotal, midTypes, p1, [d1, d2, d3]);
  }

  /**
   * P(c | a, b) for context symbols a, b (bytes, or 256 for the start) and a next byte c.
   * @example
   * lm.probability(256, 256, 0x41); // P('A' at the start of a text)
   */
  probability(a: number, b: number, c: number): number {
    const [, d2, d3] = this.discounts;
    const midTotal = this.midTotal[b];
    const p2 =
      midTotal === 0
        ? this.p1[c]
        : Math.max(this.midCont[b * A + c] - d2, 0) / midTotal + ((d2 * this.midTypes[b]) / midTotal) * this.p1[c];
    const ab = a * C + b;
    const n = this.triContext[ab];
    if (n === 0) return p2;
    return Math.max(this.tri[ab * A + c] - d3, 0) / n + ((d3 * this.triTypes[ab]) / n) * p2;
  }

  /**
   * Total −log2 P of `bytes` read from the start (contexts S S, S x1, x1 x2, …).
   * @example
   * lm.bits(new TextEncoder().encode('Call me Ishmael.'));
   */
  bits(bytes: Uint8Array): number {
    let total = 0;
    let a = S;
    let b = S;
    for (const c of bytes) {
      total -= Math.log2(this.probability(a, b, c));
      a = b;
      b = c;
    }
    return total;
  }

  /**
   * Bits per byte of `bytes`: {@link bits} over the byte count.
   * @example
   * lm.bitsPerByte(new TextEncoder().encode(heldoutText));
   */
  bitsPerByte(bytes: Uint8Array): number {
    return this.bits(bytes) / bytes.length;
  }
}
