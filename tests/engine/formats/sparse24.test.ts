import { describe, expect, it } from 'vitest';
import { IllegalPositionCodeError, SparsityPatternError } from '../../../engine/core/errors.js';
import {
  checkPositionCodes,
  compress24,
  decompress24,
  isLegalPositionCode,
  packPositions,
  positionCode,
  positionsOfCode,
  POSITION_CODES,
} from '../../../engine/formats/sparse24.js';
import { mulberry32 } from '../../helpers/memory-store.js';

describe('2:4 position codes', () => {
  it('has exactly the 6 ordered pairs as legal codes (i0 in bits 0-1, i1 in bits 2-3)', () => {
    expect(POSITION_CODES).toEqual([0x4, 0x8, 0xc, 0x9, 0xd, 0xe]);
    const pairs = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]];
    expect(pairs.map(([a, b]) => positionCode(a, b))).toEqual(POSITION_CODES);
    for (const [a, b] of pairs) expect(positionsOfCode(positionCode(a, b))).toEqual([a, b]);
    const legal = Array.from({ length: 16 }, (_, c) => c).filter(isLegalPositionCode);
    expect(legal.sort((a, b) => a - b)).toEqual([0x4, 0x8, 0x9, 0xc, 0xd, 0xe]);
  });

  it('packs two codes per byte, even group low', () => {
    expect([...packPositions(Uint8Array.of(0x4, 0xe, 0x9, 0x8))]).toEqual([0xe4, 0x89]);
  });

  it('rejects an illegal code, naming the tensor and the group', () => {
    expect(() => checkPositionCodes(Uint8Array.of(0xe4, 0xd8), 'w_pos')).not.toThrow();
    for (const bad of [0x0, 0x5, 0xa, 0xf, 0x1, 0x6]) {
      expect(() => checkPositionCodes(Uint8Array.of(0xe4, 0x80 | bad), 'w_pos')).toThrow(IllegalPositionCodeError);
    }
    expect(() => checkPositionCodes(Uint8Array.of(0xe4, 0x58), 'w_pos')).toThrow(/w_pos: group 3 has position code 0x5/);
  });
});

describe('compress24 / decompress24', () => {
  it('follows the hipSPARSELt examples', () => {
    const W = Float64Array.of(1, 2, 0, 0, 0, 6, 7, 0, 0, 6, 0, 8);
    const c = compress24(W, 1, 12, 'w');
    expect([...c.values]).toEqual([1, 2, 6, 7, 6, 8]);
    expect([...c.codes]).toEqual([0x4, 0x9, 0xd]);
  });

  it('fills a group with fewer than 2 non-zeros with its lowest zeros', () => {
    const c = compress24(Float64Array.of(0, 0, 0, 5, 0, 0, 0, 0), 1, 8, 'w');
    expect([...c.codes]).toEqual([0xc, 0x4]);
    expect([...c.values]).toEqual([0, 5, 0, 0]);
  });

  it('decompress(compress(masked W)) == masked W, exactly, every group ≤ 2 non-zeros', () => {
    const rand = mulberry32(24);
    const rows = 7;
    const cols = 64;
    const W = Float64Array.from({ length: rows * cols }, () => rand() - 0.5);
    // mask: keep 0, 1 or 2 random entries of each group
    for (let g = 0; g < W.length / 4; g++) {
      const keep = new Set([Math.floor(rand() * 4), Math.floor(rand() * 4)].slice(0, Math.floor(rand() * 3)));
      for (let i = 0; i < 4; i++) if (!keep.has(i)) W[4 * g + i] = 0;
    }
    const c = compress24(W, rows, cols, 'w');
    expect(c.codes.every(isLegalPositionCode)).toBe(true);
    const back = decompress24(c);
    expect([...back]).toEqual([...W]);
    for (let g = 0; g < back.length / 4; g++) expect(back.subarray(4 * g, 4 * g + 4).filter((v) => v !== 0).length).toBeLessThanOrEqual(2);
  });

  it('rejects a group with 3 non-zeros, naming row and group', () => {
    const W = Float64Array.of(1, 1, 0, 0, 1, 1, 1, 0);
    expect(() => compress24(W, 2, 4, 'w')).toThrow(SparsityPatternError);
    expect(() => compress24(W, 2, 4, 'w')).toThrow(/row 1, group 0 has 3 non-zeros/);
  });
});
