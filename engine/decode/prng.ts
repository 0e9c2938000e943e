// DESIGN §4: the seeded generator behind synthetic weights. Bit-identical on every machine:
// integer arithmetic only (xoshiro128**, seeded through a splitmix-style 32-bit mixer), and
// floats are built from integer bits with exact operations (a 24-bit integer × 2^-24).
// Every tensor draws from its own stream, keyed by (seed, tensor name), so adding or
// reordering tensors never changes the bytes of the others.

/** 2^-24: scales a 24-bit integer into [0, 1) exactly. */
const TWO_POW_M24 = 1 / 16777216;

/** One round of a 32-bit avalanche mixer (xor-shift-multiply), used for seeding. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x21f0aaad);
  x ^= x >>> 15;
  x = Math.imul(x, 0x735a2d97);
  x ^= x >>> 15;
  return x >>> 0;
}

/** FNV-1a over the UTF-8 bytes of `label`: a stable 32-bit stream id. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(label)) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/**
 * xoshiro128** with 128 bits of state.
 * @example
 * const rng = new Prng(1, 'backbone.layers.0.mixer.in_proj.weight');
 * rng.nextU32();     // same integer on every machine
 * rng.uniform(-1, 1); // same float on every machine
 */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A stream for `seed` (any 32-bit integer) and an optional label (e.g. a tensor name). */
  constructor(seed: number, label = '') {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    let z = (mix32(seed >>> 0) ^ hashLabel(label)) >>> 0;
    const next = () => (z = (z + 0x9e3779b9) >>> 0, mix32(z));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /**
   * A generator at an explicit state (four 32-bit words, not all zero): resumes a saved stream
   * and checks the algorithm against published reference vectors.
   * @example
   * Prng.fromState([1, 2, 3, 4]).nextU32(); // 11520
   */
  static fromState(state: readonly [number, number, number, number]): Prng {
    if (state.every((w) => w >>> 0 === 0)) throw new RangeError('xoshiro128** state must not be all zero');
    const rng = new Prng(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = state.map((w) => w | 0);
    return rng;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [lo, hi): 24 random bits, then one multiply and one add (both exact-rounded). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * ((this.nextU32() >>> 8) * TWO_POW_M24);
  }
}
