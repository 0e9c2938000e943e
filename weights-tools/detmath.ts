// DESIGN §4: ln, exp and expm1 from + − × ÷ only, in a fixed order, so synthetic weights that
// need them (A_log = ln U, dt_bias = softplus⁻¹(dt)) are bit-identical on every machine.
// Math.log/Math.exp are "implementation-approximated" in ECMAScript and may differ between
// engines; IEEE-754 basic operations may not. Accuracy: a few ulp over the ranges synth uses
// (checked against Math.log/Math.exp in tests to 1e-14 relative), which is far below the f32
// rounding the weights go through.

/** ln 2, the double nearest to it. */
const LN2 = 0.6931471805599453;
/** √2, the double nearest to it. */
const SQRT2 = 1.4142135623730951;

/**
 * Natural logarithm of x > 0: x = m·2^e with m ∈ [√½, √2], ln m = 2·atanh((m−1)/(m+1)).
 * @example
 * detLn(8); // 3·ln 2, bit-identical everywhere
 */
export function detLn(x: number): number {
  if (!(x > 0 && Number.isFinite(x))) throw new RangeError(`detLn needs a finite x > 0, got ${x}`);
  let m = x;
  let e = 0;
  while (m >= SQRT2) (m /= 2), e++;
  while (m < SQRT2 / 2) (m *= 2), e--;
  const s = (m - 1) / (m + 1); // |s| ≤ 0.172
  const s2 = s * s;
  let term = s;
  let sum = 0;
  for (let k = 1; k <= 31; k += 2) {
    sum += term / k;
    term *= s2;
  }
  return e * LN2 + 2 * sum;
}

/**
 * e^x − 1 for |x| ≤ 0.5 by its Taylor series (no cancellation for small x).
 * @example
 * detExpm1(1e-3); // 0.0010005001667083417
 */
export function detExpm1(x: number): number {
  if (!(Math.abs(x) <= 0.5)) throw new RangeError(`detExpm1 needs |x| ≤ 0.5, got ${x}`);
  let term = x;
  let sum = 0;
  for (let k = 2; k <= 24; k++) {
    sum += term;
    term = (term * x) / k;
  }
  return sum;
}

/**
 * e^x for |x| ≤ 700: x = k·ln2 + r with |r| ≤ ln2/2, e^x = 2^k·(1 + expm1(r)).
 * @example
 * detExp(detLn(0.1)); // ≈ 0.1
 */
export function detExp(x: number): number {
  if (!(Math.abs(x) <= 700)) throw new RangeError(`detExp needs |x| ≤ 700, got ${x}`);
  const k = Math.round(x / LN2);
  let y = 1 + detExpm1(x - k * LN2);
  for (let i = 0; i < k; i++) y *= 2;
  for (let i = 0; i > k; i--) y /= 2;
  return y;
}
