import { describe, expect, it } from 'vitest';
import { relu2, sigmoid, silu, softplus } from '../../../engine/reference/activations.js';

describe('activations (spec §6.2–6.3, §8–9)', () => {
  it('sigmoid on exact points and extremes', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(Math.log(3))).toBeCloseTo(0.75, 15); // 1 / (1 + 1/3)
    expect(sigmoid(-Math.log(3))).toBeCloseTo(0.25, 15);
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0); // e^800 overflows to inf: 1/inf = 0, not NaN
  });

  it('SiLU(a) = a·σ(a)', () => {
    expect(silu(0)).toBe(0);
    expect(silu(Math.log(3))).toBeCloseTo(0.75 * Math.log(3), 15);
    expect(silu(-Math.log(3))).toBeCloseTo(-0.25 * Math.log(3), 15);
    expect(silu(50)).toBeCloseTo(50, 12);
    expect(silu(-800)).toBe(-0); // −800 · 0
  });

  it('softplus = ln(1 + eᵃ), exactly a above 20, no clamp below', () => {
    expect(softplus(0)).toBeCloseTo(Math.LN2, 15);
    expect(softplus(Math.log(3))).toBeCloseTo(Math.log(4), 15);
    expect(softplus(20)).toBeCloseTo(20 + Math.exp(-20), 15); // at 20 the log form is still used
    expect(softplus(20.5)).toBe(20.5); // the shortcut
    expect(softplus(700)).toBe(700); // no overflow
    // far below zero softplus(a) = x − x²/2 + x³/3 − …, x = eᵃ: nothing clamps it up to
    // time_step_min = 1e-3 (spec §6.4)
    const x = Math.exp(-10);
    expect(softplus(-10)).toBeCloseTo(x - x ** 2 / 2 + x ** 3 / 3, 17);
    expect(softplus(-10)).toBeLessThan(1e-3);
    expect(softplus(-800)).toBe(0);
  });

  it('relu² squares the positive part', () => {
    expect(relu2(3)).toBe(9);
    expect(relu2(-3)).toBe(0);
    expect(relu2(0)).toBe(0);
    expect(relu2(0.5)).toBe(0.25);
  });
});
