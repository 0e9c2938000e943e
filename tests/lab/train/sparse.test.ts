// 2:4 sparse training hooks (lab/train/sparse.ts) on a hand-made layout: one masked
// linear 'a' [2, 8] and one dense tensor 'b' [4]. Masks, straight-through restores, the SR-STE
// term, flip rates and the fixed-mask rule are checked against values worked out by hand.

import { describe, expect, it } from 'vitest';
import type { ParamLayout } from '../../../lab/train/params.js';
import { SparseTraining } from '../../../lab/train/sparse.js';

const layout: ParamLayout = { names: ['a', 'b'], shapes: [[2, 8], [4]], offsets: [0, 16], total: 20 };
const A0 = [1, -5, 2, 0.5, /**/ 3, 3, -1, 0, /**/ 0.1, 0.2, 0.3, 0.4, /**/ -4, 1, 1, 2]; // a, row-major
const B0 = [7, 8, 9, 10];
const fresh = () => Float32Array.from([...A0, ...B0]);
// top 2 |w| per group of 4, ties to the lower index
const MASKED = [0, -5, 2, 0, /**/ 3, 3, 0, 0, /**/ 0, 0, 0.3, 0.4, /**/ -4, 0, 0, 2];

describe('SparseTraining --fixed-mask', () => {
  it('prunes once by magnitude, zeroes the pruned gradients and keeps pruned weights at 0', () => {
    const s = new SparseTraining(layout, new Set(['a']), { mode: 'fixed-mask', steps: 10 });
    const p = fresh();
    s.start(p);
    expect([...p]).toEqual([...MASKED, ...B0].map(Math.fround));
    s.beforeStep(0, p);
    const g = new Float32Array(20).fill(1);
    s.beforeUpdate(p, g);
    expect([...g.subarray(0, 4)]).toEqual([0, 1, 1, 0]);
    expect([...g.subarray(16)]).toEqual([1, 1, 1, 1]); // dense tensor untouched
    p.fill(9); // whatever AdamW did
    s.afterUpdate(p);
    expect([...p.subarray(0, 8)]).toEqual([0, 9, 9, 0, 9, 9, 0, 0]);
    expect(s.log).toEqual([{ step: 0, flipRate: 0, explored: 0.5 }]);
  });
});

describe('SparseTraining --search-space', () => {
  it('forwards M⊙W, updates the dense shadow straight through with decay on pruned entries, and re-masks on schedule', () => {
    const s = new SparseTraining(layout, new Set(['a']), { mode: 'search-space', steps: 10, every: 2, growth: 1, searchFraction: 0.5, decay: 0.5 });
    const p = fresh();
    s.start(p);
    expect([...p]).toEqual([...fresh()]); // the shadow stays dense until the first forward
    s.beforeStep(0, p); // not a recompute step (schedule 2, 4)
    expect([...p.subarray(0, 16)]).toEqual(MASKED.map(Math.fround));
    const g = new Float32Array(20).fill(1);
    s.beforeUpdate(p, g);
    expect([...p]).toEqual([...fresh()]); // W restored for AdamW
    // pruned entries get λ·W added: index 0 (w = 1) and 3 (w = 0.5)
    expect([...g.subarray(0, 4)]).toEqual([1.5, 1, 1, 1.25]);
    // AdamW moved the shadow: entry 6 (pruned, −1) now outgrows entry 5 (3) in its group
    p[6] = -10;
    s.afterUpdate(p);
    s.beforeStep(1, p);
    expect(p[6]).toBe(0); // step 1 keeps the old mask
    s.beforeUpdate(p, new Float32Array(20));
    s.beforeStep(2, p); // recompute: group 1 keeps 4 and 6 instead of 4 and 5 → 2 flips of 16
    expect(p[6]).toBe(-10);
    expect(p[5]).toBe(0);
    expect(s.log.at(-1)).toEqual({ step: 2, flipRate: 2 / 16, explored: 9 / 16 });
    s.beforeUpdate(p, new Float32Array(20));
    s.finish(p);
    expect([...p.subarray(4, 8)]).toEqual([3, 0, -10, 0]);
    expect([...p.subarray(16)]).toEqual(B0);
  });
});
