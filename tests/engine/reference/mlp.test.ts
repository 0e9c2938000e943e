import { describe, expect, it } from 'vitest';
import { RefAct } from '../../../engine/reference/act.js';
import { relu2Mlp } from '../../../engine/reference/mlp.js';
import type { RawTensor } from '../../../engine/reference/tensors.js';

const f32 = (name: string, rows: number, cols: number, values: number[]): RawTensor => ({
  name,
  dtype: 'f32',
  rows,
  cols,
  bytes: new Uint8Array(Float32Array.from(values).buffer),
});

describe('relu² MLP (spec §9)', () => {
  it('computes W_down · relu(W_up · u)² on a 2×3 example', () => {
    // u (2 tokens, d = 3); W_up (I = 2, 3); W_down (3, 2)
    const u = new RefAct(Float64Array.from([1, 2, 3, -1, 0, 2]), 2, 3);
    const up = f32('up', 2, 3, [1, 0, 1, 0, -1, 0.5]);
    const down = f32('down', 3, 2, [1, 2, -1, 0, 0.5, 3]);
    // token 0: h = [1+3, -2+1.5] = [4, -0.5] → relu² [16, 0]
    //          out = [1·16 + 2·0, −1·16 + 0, 0.5·16 + 3·0] = [16, −16, 8]
    // token 1: h = [−1+2, 0+1] = [1, 1] → [1, 1];  out = [3, −1, 3.5]
    expect([...relu2Mlp(u, up, down).data]).toEqual([16, -16, 8, 3, -1, 3.5]);
  });
});
