// Backend-level parity of the two SSD paths (spec §6.5 vs §6.6, house style H5): the wasm Mamba-2
// mixer on T tokens at once (chunked SSD, several chunks + a short one) equals T one-token calls
// (the sequential step), outputs and the state left behind; both builds.

import { describe, expect, test } from 'vitest';
import { wasmBackend, wasmScalarBackend } from '../../../assembly/backend/index.js';
import { parseConfig } from '../../../engine/core/config.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';
import { randomRows, tolPath } from '../../conformance/harness.js';

describe.each([wasmBackend, wasmScalarBackend])('$name mamba2', (backend) => {
  test.each([
    ['chunk 8, T 19 (2 chunks + 3)', 8, 19],
    ['chunk 128, T 5 (one short chunk)', 128, 5],
  ])('chunked prefill == sequential steps: %s', async (_label, chunk, T) => {
    const config = parseConfig({ ...presetConfig('tiny'), chunk_size: chunk });
    const m = await backend.load(config, memoryTensors(config, randomModelTensors(config, 23)));
    const d = config.dModel;
    const u = randomRows(T + 1, d, 7);
    const all = m.newSequence(32);
    const steps = m.newSequence(32);
    const prefill = m.upload(u.subarray(0, T * d), T, d);
    const yAll = m.download(m.mamba2(0, prefill, all));
    const ySteps = new Float32Array(T * d);
    for (let t = 0; t < T; t++) ySteps.set(m.download(m.mamba2(0, m.upload(u.subarray(t * d, (t + 1) * d), 1, d), steps)), t * d);
    // one more token from each: equal only if both left the same conv window and SSM state
    const next = u.subarray(T * d);
    const after = [all, steps].map((s) => m.download(m.mamba2(0, m.upload(next, 1, d), s)));
    // the two SSD forms sum the same terms in different orders: the Mamba chain's tolerance
    const tol = tolPath(d + 4 + chunk + 16 + 32 + 64);
    const scale = Math.max(...yAll.map(Math.abs));
    for (let i = 0; i < yAll.length; i++) expect(Math.abs(yAll[i] - ySteps[i])).toBeLessThanOrEqual(tol * scale);
    for (let i = 0; i < d; i++) expect(Math.abs(after[0][i] - after[1][i])).toBeLessThanOrEqual(tol * scale);
  });
});
