// Scalar activations of spec §6 and §8–9, in f64.
//   SiLU(a) = a · σ(a)        σ(a) = 1 / (1 + e^−a)
//   softplus(a) = ln(1 + eᵃ), and exactly a for a > 20 (torch's threshold; the two differ by < 2·10⁻⁹ there)
//   relu²(a) = max(a, 0)²

/** Logistic sigmoid σ(a) = 1 / (1 + e^−a); 0 and 1 at the extremes, never NaN. */
export function sigmoid(a: number): number {
  return 1 / (1 + Math.exp(-a));
}

/** SiLU(a) = a · σ(a) (spec §6.2, §6.7). */
export function silu(a: number): number {
  return a * sigmoid(a);
}

/** softplus(a) = ln(1 + eᵃ), with the a > 20 shortcut (spec §6.3). */
export function softplus(a: number): number {
  return a > 20 ? a : Math.log1p(Math.exp(a));
}

/** Squared ReLU, the non-gated MLP activation (spec §8, §9). */
export function relu2(a: number): number {
  return a > 0 ? a * a : 0;
}
