// `edgetron sparsity-report` (docs/sparsity.md): how much quality each way of making a model 2:4
// sparse keeps. Variants, all NVFP4 except the dense row, converted by `convertCheckpoint`:
//   dense                  the model as given
//   nvfp4                  dense 4-bit (what the sparse rows would be without pruning)
//   2:4 magnitude          one-shot, |W|
//   2:4 Wanda              one-shot, |W|·‖X_j‖ on the calibration text
//   2:4 Wanda + recovery   per-layer recovery (weights-tools/recover.ts) on the calibration text
//   2:4 fixed-mask / search-space training: models trained by `edgetron train --sparse 2:4`
//                          (already 2:4; converted with magnitude scores, which keep their mask)
// Two measures:
// - per layer, the relative output error on held-out tokens ‖X(Ŵ − W₀)ᵀ‖_F / ‖XW₀ᵀ‖_F =
//   √(tr(E H Eᵀ) / tr(W₀ H W₀ᵀ)), H = XᵀX of the dense model's inputs to that layer over prompts
//   cut from the held-out text (never the calibration text), Ŵ as the variant stores it, W₀ the
//   dense model's (for the trained rows Ŵ also moved by retraining, so this is drift, not loss);
// - end to end, bits per byte of the held-out text (eval.ts) on the chosen backend.
// Writes OUT/report.md (the tables), OUT/report.json, and the flip-rate plot OUT/flip-rate.png
// (and .svg with labels): flip rate per mask recompute against the fraction of the run, for
// per-layer recovery (mean over layers and each layer) and for search-space training.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../engine/core/backend.js';
import { openSession, requireText } from '../engine/core/session.js';
import { validateWeights } from '../engine/core/weights.js';
import { compress24 } from '../engine/formats/sparse24.js';
import { referenceBackend } from '../engine/reference/index.js';
import { openCheckpoint, resolveModelPath } from '../weights-tools/checkpoint.js';
import { convertCheckpoint, type ConvertOptions } from '../weights-tools/convert.js';
import { collectInputGrams, type InputGram } from '../weights-tools/prune.js';
import { quantizedLinears } from '../weights-tools/quant-policy.js';
import { linearMatrix, relOutputError, type RecoveredLinear, type RecoverOptions } from '../weights-tools/recover.js';
import { evaluateModel, type EvalResult } from './eval.js';
import { Raster, type Rgb } from './png.js';
import type { SparseLogEntry } from './train/sparse.js';

/** Held-out prompts for the per-layer error: this many, of this many tokens. */
const HELDOUT_PROMPTS = 16;
const HELDOUT_PROMPT_TOKENS = 64;

export interface SparsityReportOptions {
  /** The dense model (a float checkpoint, or `default`). */
  readonly model: string;
  /** The held-out text (its contents). */
  readonly heldout: string;
  /** Calibration text for Wanda and recovery (contents; default: convert's built-in text). */
  readonly calib?: string;
  /** Models from `edgetron train --sparse 2:4 --fixed-mask` / `--search-space` (HF folders). */
  readonly fixedMask?: string;
  readonly searchSpace?: string;
  readonly out: string;
  /** The backend the bits per byte are measured on. */
  readonly backend: Backend;
  /** Score only the first this many characters of the held-out text end to end (default all). */
  readonly evalChars?: number;
  readonly context?: number;
  readonly recover?: Partial<RecoverOptions>;
  readonly onProgress?: (line: string) => void;
}

/** One variant's results. */
export interface VariantRow {
  readonly key: string;
  readonly label: string;
  readonly eval: EvalResult;
  /** Held-out relative output error per pruned linear (dense: 0). */
  readonly layerErrors: Record<string, number>;
  readonly meanLayerError: number;
}

export interface SparsityReport {
  readonly model: string;
  readonly backend: string;
  readonly heldoutTokensPerLayer: number;
  readonly rows: readonly VariantRow[];
  /** Per-layer recovery's flip rates: per linear, [step, rate] per recompute, and the explored fraction. */
  readonly recovery: Record<string, { readonly recomputes: readonly { step: number; flipRate: number }[]; readonly explored: number }>;
  readonly recoverySteps: number;
  /** The search-space training run's mask log (sparse-log.json), when given. */
  readonly training: { readonly steps: number; readonly recomputes: readonly SparseLogEntry[] } | null;
}

interface Variant {
  readonly key: string;
  readonly label: string;
  /** Source checkpoint and convert options (null: evaluate the model as given). */
  readonly convert: { readonly from: string; readonly options: ConvertOptions } | null;
}

/** Held-out prompts: consecutive pieces of the text's tokens. */
function heldoutPrompts(ids: readonly number[]): Int32Array[] {
  const out: Int32Array[] = [];
  for (let i = 0; i + 2 <= ids.length && out.length < HELDOUT_PROMPTS; i += HELDOUT_PROMPT_TOKENS) out.push(Int32Array.from(ids.slice(i, i + HELDOUT_PROMPT_TOKENS)));
  return out;
}

/**
 * The per-layer held-out errors of the checkpoint at `path` against the dense weights. With
 * `sparse`, every linear of `grams` must hold ≤ 2 non-zeros per group of 4 (SparsityPatternError
 * otherwise), so a trained model that was not 2:4 is not hidden by the conversion's pruning.
 */
async function layerErrors(path: string, dense: ReadonlyMap<string, { W: Float64Array; rows: number; cols: number }>, grams: ReadonlyMap<string, InputGram>, sparse: boolean): Promise<Record<string, number>> {
  const ckpt = await openCheckpoint(path);
  try {
    const loaded = await referenceBackend.load(ckpt.config, validateWeights(ckpt.config, ckpt.store, false));
    const out: Record<string, number> = {};
    for (const [name, gram] of grams) {
      const d = dense.get(name)!;
      const W = linearMatrix(loaded, name).W;
      if (sparse) compress24(W, d.rows, d.cols, name);
      out[name] = relOutputError(W, d.W, d.rows, d.cols, gram);
    }
    loaded.dispose();
    return out;
  } finally {
    await ckpt.store.close();
  }
}

/** Bits per byte of `text` under the checkpoint at `path` on `backend`. */
async function evaluatePath(path: string, backend: Backend, text: string, context: number | undefined): Promise<EvalResult> {
  const ckpt = await openCheckpoint(path);
  try {
    const session = await openSession(ckpt, backend);
    try {
      return evaluateModel(session, text, { context });
    } finally {
      session.dispose();
    }
  } finally {
    await ckpt.store.close();
  }
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * Build every variant into OUT/packs, measure it, and write report.md, report.json and the
 * flip-rate plot (see the file header).
 * @example
 * const report = await sparsityReport({ model: 'models/demo-train', heldout, out: 'reports/sparsity', backend });
 */
export async function sparsityReport(o: SparsityReportOptions): Promise<SparsityReport> {
  const say = o.onProgress ?? (() => {});
  await mkdir(o.out, { recursive: true });
  const model = resolveModelPath(o.model);
  const base = { quant: 'nvfp4', calibText: o.calib } as const;
  const recovery: Record<string, { recomputes: { step: number; flipRate: number }[]; explored: number }> = {};
  const onRecovered = (r: RecoveredLinear) => {
    recovery[r.name] = { recomputes: [...r.log.recomputes], explored: r.log.explored };
  };
  const variants: Variant[] = [
    { key: 'dense', label: 'dense (as given)', convert: null },
    { key: 'nvfp4', label: 'NVFP4, no pruning', convert: { from: model, options: base } },
    { key: 'magnitude', label: '2:4 one-shot magnitude', convert: { from: model, options: { ...base, sparse: true, score: 'magnitude' } } },
    { key: 'wanda', label: '2:4 one-shot Wanda', convert: { from: model, options: { ...base, sparse: true, score: 'wanda' } } },
    { key: 'recovered', label: '2:4 Wanda + per-layer recovery', convert: { from: model, options: { ...base, sparse: true, score: 'wanda', recover: o.recover ?? {}, onRecovered } } },
  ];
  if (o.fixedMask) variants.push({ key: 'fixed-mask', label: '2:4 fixed-mask retraining', convert: { from: o.fixedMask, options: { ...base, sparse: true, score: 'magnitude' } } });
  if (o.searchSpace) variants.push({ key: 'search-space', label: '2:4 search-space training', convert: { from: o.searchSpace, options: { ...base, sparse: true, score: 'magnitude' } } });

  // the dense weights and the held-out Gram matrices of every linear the sparse packs prune
  const ckpt = await openCheckpoint(model);
  const dense = new Map<string, { W: Float64Array; rows: number; cols: number }>();
  let grams: Map<string, InputGram>;
  try {
    const session = await openSession(ckpt, referenceBackend);
    const prompts = heldoutPrompts(requireText(session).encode(o.heldout));
    session.dispose();
    const loaded = await referenceBackend.load(ckpt.config, validateWeights(ckpt.config, ckpt.store, false));
    grams = collectInputGrams(loaded, prompts, quantizedLinears(ckpt.config, { name: 'nano' }));
    for (const name of grams.keys()) dense.set(name, linearMatrix(loaded, name));
    loaded.dispose();
  } finally {
    await ckpt.store.close();
  }
  const heldoutTokens = Math.max(0, ...[...grams.values()].map((g) => g.tokens));
  const text = o.evalChars === undefined ? o.heldout : o.heldout.slice(0, o.evalChars);

  const rows: VariantRow[] = [];
  for (const v of variants) {
    const path = v.convert ? join(o.out, 'packs', v.key) : model;
    if (v.convert) {
      say(`${v.key}: converting`);
      await convertCheckpoint(v.convert.from, path, v.convert.options);
    }
    const sparse = v.convert?.options.sparse === true;
    if (v.convert && v.convert.from !== model) await layerErrors(v.convert.from, dense, grams, true); // trained: already 2:4
    const errors = v.convert ? await layerErrors(path, dense, grams, sparse) : Object.fromEntries([...grams.keys()].map((n) => [n, 0]));
    say(`${v.key}: evaluating on ${o.backend.name}`);
    const result = await evaluatePath(path, o.backend, text, o.context);
    say(`${v.key}: ${result.bits_per_byte.toFixed(4)} bits/byte`);
    rows.push({ key: v.key, label: v.label, eval: result, layerErrors: errors, meanLayerError: mean(Object.values(errors)) });
  }

  let training: SparsityReport['training'] = null;
  if (o.searchSpace) {
    const log = JSON.parse(await readFile(join(o.searchSpace, 'sparse-log.json'), 'utf8')) as { steps: number; recomputes: SparseLogEntry[] };
    training = { steps: log.steps, recomputes: log.recomputes };
  }
  const report: SparsityReport = {
    model: o.model,
    backend: o.backend.name,
    heldoutTokensPerLayer: heldoutTokens,
    rows,
    recovery,
    recoverySteps: { steps: 200, ...o.recover }.steps,
    training,
  };
  await writeFile(join(o.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(o.out, 'report.md'), reportMarkdown(report, text.length));
  const plot = flipRatePlot(report);
  await writeFile(join(o.out, 'flip-rate.png'), plot.png);
  await writeFile(join(o.out, 'flip-rate.svg'), plot.svg);
  return report;
}

/** report.md: the end-to-end table, then the per-layer table. */
export function reportMarkdown(r: SparsityReport, evalChars: number): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const lines = [
    `# 2:4 sparsity report: ${r.model}`,
    '',
    `End to end: bits per byte of the first ${evalChars} characters of the held-out text on the ${r.backend} backend.`,
    `Per layer: relative output error ‖X(Ŵ − W₀)ᵀ‖/‖XW₀ᵀ‖ on up to ${r.heldoutTokensPerLayer} held-out tokens per layer (routed experts: their tokens), mean over the pruned linears.`,
    '',
    '| variant | bits/byte | perplexity | mean per-layer held-out error |',
    '|---|---|---|---|',
    ...r.rows.map((row) => `| ${row.label} | ${row.eval.bits_per_byte.toFixed(4)} | ${row.eval.perplexity.toFixed(2)} | ${pct(row.meanLayerError)} |`),
    '',
  ];
  const recovered = Object.values(r.recovery);
  if (recovered.length > 0) {
    lines.push(`Per-layer recovery: ${recovered.length} linears, ${r.recoverySteps} steps each, mean explored fraction of the dense space ${pct(mean(recovered.map((x) => x.explored)))}.`);
  }
  if (r.training) {
    const last = r.training.recomputes.at(-1)!;
    lines.push(`Search-space training: ${r.training.steps} steps, ${r.training.recomputes.length - 1} mask recomputes, explored ${pct(last.explored)} of the dense space.`);
  }
  lines.push('', 'Flip rates: flip-rate.png (flip-rate.svg has the labels).', '', '## Per layer (held-out relative output error)', '');
  lines.push(`| linear | ${r.rows.map((row) => row.key).join(' | ')} |`, `|---|${r.rows.map(() => '---').join('|')}|`);
  for (const name of Object.keys(r.rows[0].layerErrors)) lines.push(`| ${name} | ${r.rows.map((row) => pct(row.layerErrors[name])).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

/** The flip-rate curves as x = step / steps, y = flip rate: per layer, their mean, and training. */
function flipCurves(r: SparsityReport): { color: Rgb; width: number; points: [number, number][]; label: string }[] {
  const layers = Object.values(r.recovery).filter((x) => x.recomputes.length > 0);
  const curves: { color: Rgb; width: number; points: [number, number][]; label: string }[] = layers.map((x) => ({
    color: [170, 200, 235] as Rgb,
    width: 1,
    points: x.recomputes.map((m) => [m.step / r.recoverySteps, m.flipRate] as [number, number]),
    label: '',
  }));
  if (layers.length > 0) {
    const steps = layers[0].recomputes.map((m) => m.step);
    curves.push({
      color: [30, 90, 200],
      width: 3,
      points: steps.map((s, i) => [s / r.recoverySteps, mean(layers.map((x) => x.recomputes[i]?.flipRate ?? 0))]),
      label: 'per-layer recovery (mean; thin: each layer)',
    });
  }
  if (r.training) {
    const steps = r.training.steps;
    curves.push({ color: [210, 50, 40], width: 3, points: r.training.recomputes.slice(1).map((m) => [m.step / steps, m.flipRate]), label: 'search-space training' });
  }
  return curves;
}

/**
 * The flip-rate plot as PNG (axes, grid, curves) and SVG (the same with labels).
 * @example const { png, svg } = flipRatePlot(report);
 */
export function flipRatePlot(r: SparsityReport): { png: Buffer; svg: string } {
  const [W, H, left, right, top, bottom] = [720, 420, 60, 20, 20, 50];
  const curves = flipCurves(r);
  const yMax = Math.max(0.01, ...curves.flatMap((c) => c.points.map((p) => p[1]))) * 1.1;
  const X = (x: number) => left + x * (W - left - right);
  const Y = (y: number) => H - bottom - (y / yMax) * (H - top - bottom);
  const raster = new Raster(W, H);
  const grid: Rgb = [225, 225, 225];
  for (let i = 0; i <= 10; i++) {
    raster.line(X(i / 10), Y(0), X(i / 10), Y(yMax), grid);
    raster.line(X(0), Y((i / 10) * yMax), X(1), Y((i / 10) * yMax), grid);
  }
  raster.line(X(0), Y(0), X(1), Y(0), [0, 0, 0], 2);
  raster.line(X(0), Y(0), X(0), Y(yMax), [0, 0, 0], 2);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(1)}" y2="${Y(0)}" stroke="black"/><line x1="${X(0)}" y1="${Y(0)}" x2="${X(0)}" y2="${Y(yMax)}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    svg.push(`<text x="${X(i / 5)}" y="${H - bottom + 16}" text-anchor="middle">${(i / 5).toFixed(1)}</text>`);
    svg.push(`<text x="${left - 6}" y="${Y((i / 5) * yMax) + 4}" text-anchor="end">${((100 * i * yMax) / 5).toFixed(1)}%</text>`);
  }
  svg.push(`<text x="${(left + W - right) / 2}" y="${H - 10}" text-anchor="middle">fraction of the run (step / steps)</text>`);
  svg.push(`<text x="14" y="${(top + H - bottom) / 2}" transform="rotate(-90 14 ${(top + H - bottom) / 2})" text-anchor="middle">flip rate per mask recompute</text>`);
  let legend = 0;
  for (const c of curves) {
    for (let i = 1; i < c.points.length; i++) raster.line(X(c.points[i - 1][0]), Y(c.points[i - 1][1]), X(c.points[i][0]), Y(c.points[i][1]), c.color, c.width);
    for (const p of c.points) raster.fill(Math.round(X(p[0])) - c.width, Math.round(Y(p[1])) - c.width, 2 * c.width + 1, 2 * c.width + 1, c.color);
    const rgb = `rgb(${c.color.join(',')})`;
    svg.push(`<polyline fill="none" stroke="${rgb}" stroke-width="${c.width}" points="${c.points.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ')}"/>`);
    if (c.label) {
      raster.fill(W - right - 250, top + 6 + 18 * legend, 20, 4, c.color);
      svg.push(`<rect x="${W - right - 250}" y="${top + 6 + 18 * legend}" width="20" height="4" fill="${rgb}"/><text x="${W - right - 224}" y="${top + 12 + 18 * legend}">${c.label}</text>`);
      legend++;
    }
  }
  svg.push('</svg>');
  return { png: raster.png(), svg: `${svg.join('\n')}\n` };
}
