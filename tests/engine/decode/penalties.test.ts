import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../engine/core/errors.js';
import { hasPenalties, Penalties, validatePenaltyOptions } from '../../../engine/decode/penalties.js';

describe('Penalties (OpenAI: l_j − c_j·frequency − [c_j > 0]·presence + bias_j)', () => {
  it('applies the formula with the counts of the ids accepted so far', () => {
    const p = new Penalties({ presencePenalty: 0.5, frequencyPenalty: 0.25, logitBias: new Map([[1, 3], [4, -100]]) });
    for (const id of [2, 2, 2, 3]) p.accept(id);
    const row = Float32Array.of(1, 1, 1, 1, 1, 1);
    p.process(row);
    // id: 0 untouched; 1 +3; 2 three times: −3·0.25 − 0.5; 3 once: −0.25 − 0.5; 4 −100
    expect([...row]).toEqual([1, 4, 1 - 0.75 - 0.5, 1 - 0.25 - 0.5, -99, 1]);
  });

  it('negative penalties raise repeated tokens; −∞ (a constraint mask) stays −∞ under any bias', () => {
    const p = new Penalties({ presencePenalty: -1, logitBias: new Map([[0, 100]]) });
    p.accept(1);
    const row = Float32Array.of(-Infinity, 0);
    p.process(row);
    expect([...row]).toEqual([-Infinity, 1]);
  });

  it('validates ids against the vocabulary and values as finite', () => {
    expect(() => validatePenaltyOptions({ logitBias: new Map([[10, 1]]) }, 10)).toThrow(InvalidOptionError);
    expect(() => validatePenaltyOptions({ logitBias: new Map([[1.5, 1]]) }, 10)).toThrow(/logitBias/);
    expect(() => validatePenaltyOptions({ logitBias: new Map([[1, NaN]]) }, 10)).toThrow(/logitBias/);
    expect(() => validatePenaltyOptions({ presencePenalty: Infinity }, 10)).toThrow(/presencePenalty/);
    expect(() => validatePenaltyOptions({ frequencyPenalty: 2, logitBias: new Map([[9, -100]]) }, 10)).not.toThrow();
    expect(hasPenalties({})).toBe(false);
    expect(hasPenalties({ logitBias: new Map() })).toBe(false);
    expect(hasPenalties({ frequencyPenalty: 0.1 })).toBe(true);
  });
});
