// The sparsity report's outputs from a hand-made result (lab/sparsity-report.ts):
// report.md's tables and the flip-rate plot (PNG pixels of each curve, SVG polylines). The full
// run on a synthesized model is in sparsity-report.slow.test.ts.

import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { flipRatePlot, reportMarkdown, type SparsityReport } from '../../lab/sparsity-report.js';

const evalOf = (bpb: number) => ({ tokens: 10, bytes: 40, bits_per_byte: bpb, perplexity: 2 ** ((bpb * 40) / 10) });
const report: SparsityReport = {
  model: 'models/x',
  backend: 'wasm',
  heldoutTokensPerLayer: 64,
  rows: [
    { key: 'dense', label: 'dense (as given)', eval: evalOf(1.5), layerErrors: { a: 0, b: 0 }, meanLayerError: 0 },
    { key: 'wanda', label: '2:4 one-shot Wanda', eval: evalOf(1.6), layerErrors: { a: 0.3, b: 0.1 }, meanLayerError: 0.2 },
  ],
  recovery: {
    a: { recomputes: [{ step: 4, flipRate: 0.2 }, { step: 10, flipRate: 0.1 }], explored: 0.7 },
    b: { recomputes: [{ step: 4, flipRate: 0.1 }, { step: 10, flipRate: 0.05 }], explored: 0.6 },
  },
  recoverySteps: 20,
  training: { steps: 10, recomputes: [{ step: 0, flipRate: 0, explored: 0.5 }, { step: 1, flipRate: 0.01, explored: 0.505 }, { step: 2, flipRate: 0.002, explored: 0.506 }] },
};

describe('reportMarkdown', () => {
  it('has the end-to-end table, the recovery and training summaries and one line per layer', () => {
    const md = reportMarkdown(report, 1000);
    expect(md).toContain('| dense (as given) | 1.5000 | 64.00 | 0.00% |');
    expect(md).toContain('| 2:4 one-shot Wanda | 1.6000 | 84.45 | 20.00% |');
    expect(md).toContain('2 linears, 20 steps each, mean explored fraction of the dense space 65.00%');
    expect(md).toContain('Search-space training: 10 steps, 2 mask recomputes, explored 50.60%');
    expect(md).toContain('| a | 0.00% | 30.00% |');
    expect(md).toContain('| b | 0.00% | 10.00% |');
  });
});

describe('flipRatePlot', () => {
  it('draws each layer, their mean and the training curve', () => {
    const { png, svg } = flipRatePlot(report);
    expect(svg.match(/<polyline/g)!.length).toBe(4); // 2 layers, the mean, training
    expect(svg).toContain('search-space training');
    // the PNG: 720×420 RGB, with the mean's blue and the training curve's red somewhere
    const idat = png.subarray(33 + 8, 33 + 8 + png.readUInt32BE(33));
    const raw = inflateSync(idat);
    expect(raw.length).toBe(420 * (1 + 720 * 3));
    const has = (r: number, g: number, b: number) => {
      for (let i = 0; i + 2 < raw.length; i++) if (raw[i] === r && raw[i + 1] === g && raw[i + 2] === b) return true;
      return false;
    };
    expect(has(30, 90, 200)).toBe(true);
    expect(has(210, 50, 40)).toBe(true);
  });
});
