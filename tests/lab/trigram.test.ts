import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ByteTrigram } from '../../lab/trigram.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const S = 256;
const [a, b, x] = [0x61, 0x62, 0x78];
const sumOver = (lm: ByteTrigram, p: number, q: number) => Array.from({ length: 256 }, (_, c) => lm.probability(p, q, c)).reduce((s, v) => s + v, 0);

describe('ByteTrigram on "aab" with D = 0.5 at every order (counts by hand)', () => {
  // stream S S a a b: trigrams (S,S,a) (S,a,a) (a,a,b), each once.
  // bigram types (S,a) (a,a) (a,b): N(•a) = 2, N(•b) = 1, N(••) = 3, T(••) = 2.
  // middle order: N(•Sa) = N(•aa) = N(•ab) = 1; N(•a•) = 2, T(•a•) = 2; N(•S•) = 1; N(•b•) = 0.
  const lm = ByteTrigram.fit(bytes('aab'), { discounts: [0.5, 0.5, 0.5] });
  const p1a = 1.5 / 3 + (0.5 * 2) / 3 / 256; // 0.5 + 1/768
  const p1b = 0.5 / 3 + 1 / 768;
  const p1x = 1 / 768;

  it('lowest order: P1 = max(N(•c) − D, 0)/N(••) + D·T(••)/N(••)/256', () => {
    // context (b, b) was never seen and b is never a middle symbol: P = P1
    expect(lm.probability(b, b, a)).toBeCloseTo(p1a, 15);
    expect(lm.probability(b, b, b)).toBeCloseTo(p1b, 15);
    expect(lm.probability(b, b, x)).toBeCloseTo(p1x, 15);
  });

  it('unseen trigram context backs off to the middle order', () => {
    // (b, a) never occurred: P2(c|a) = max(N(•ac) − .5, 0)/2 + .5·2/2·P1(c)
    expect(lm.probability(b, a, b)).toBeCloseTo(0.25 + 0.5 * p1b, 15);
    expect(lm.probability(b, a, x)).toBeCloseTo(0.5 * p1x, 15);
  });

  it('seen trigram context: P3(b|aa) = 0.6669921875', () => {
    // n(aab) = 1, n(aa•) = 1, T(aa•) = 1: (1 − .5)/1 + .5·P2(b|a) = .5 + .5·(.25 + .5·(1/6 + 1/768))
    expect(lm.probability(a, a, b)).toBeCloseTo(0.6669921875, 15);
    // P3(a|S S): (1 − .5) + .5·P2(a|S) with P2(a|S) = (1 − .5)/1 + .5·1/1·P1(a)
    expect(lm.probability(S, S, a)).toBeCloseTo(0.5 + 0.5 * (0.5 + 0.5 * p1a), 15);
  });

  it('bits of a text sum −log2 P over its bytes from the start contexts', () => {
    const expected = -Math.log2(lm.probability(S, S, a)) - Math.log2(lm.probability(S, a, a)) - Math.log2(lm.probability(a, a, b));
    expect(lm.bits(bytes('aab'))).toBeCloseTo(expected, 12);
    expect(lm.bitsPerByte(bytes('aab'))).toBeCloseTo(expected / 3, 12);
  });

  it('every context sums to 1 over the 256 bytes', () => {
    for (const [p, q] of [[S, S], [S, a], [a, a], [a, b], [b, b], [x, x], [b, a]]) expect(sumOver(lm, p, q)).toBeCloseTo(1, 12);
  });
});

describe('ByteTrigram with estimated discounts', () => {
  it('estimates D = n1/(n1 + 2·n2) per order', () => {
    // "aab": every trigram and middle continuation count is 1 (D3 = D2 = 1); N(•a) = 2, N(•b) = 1 (D1 = 1/3)
    expect(ByteTrigram.fit(bytes('aab')).discounts).toEqual([1 / 3, 1, 1]);
  });

  const text = readFileSync(new URL('../../assets/corpus/heldout.txt', import.meta.url), 'utf8');
  const cut = Math.floor(text.length * 0.8);
  const lm = ByteTrigram.fit(bytes(text.slice(0, cut)));

  it('gives proper distributions after fitting real text', () => {
    for (const ctx of ['th', 'e ', 'qu', 'zz', '\n\n']) {
      const [p, q] = bytes(ctx);
      expect(sumOver(lm, p, q)).toBeCloseTo(1, 10);
    }
    expect(lm.probability(0x74, 0x68, 0x65)).toBeGreaterThan(0.5); // "the"
    for (const d of lm.discounts) {
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThan(1);
    }
  });

  it('predicts unseen English text at 2–3.5 bits per byte (fitted on 360 KB), far better than uniform (8) and than a shuffled text', () => {
    const rest = bytes(text.slice(cut));
    const bpb = lm.bitsPerByte(rest);
    expect(bpb).toBeGreaterThan(1.8);
    expect(bpb).toBeLessThan(3.5);
    const shuffled = rest.slice().sort();
    expect(lm.bitsPerByte(shuffled)).toBeGreaterThan(bpb + 1);
  });
});
