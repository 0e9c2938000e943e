// DESIGN §5 (`edgetron inspect PATH`): a readable report of a checkpoint: the config summary
// (spec §2–3 symbols), every tensor with dtype, shape and bytes, totals by dtype, and total
// and active parameter counts. Parameter counts come from the config's logical shapes
// (spec §12), so they are the same for f32, bf16 or packed quantized storage.

import type { ModelConfig } from '../engine/core/config.js';
import { expectedTensors, type DType } from '../engine/core/weights.js';
import { openCheckpoint } from './checkpoint.js';

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const millions = (n: number) => `${(n / 1e6).toFixed(2)}M`;
const size = (bytes: number) =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(2)} KiB`;

/** Logical parameter counts of a config: all tensors, the trunk, and the trunk per token. */
export interface ParamCounts {
  /** Every tensor, MTP included. */
  readonly total: number;
  /** Trunk only (embeddings, layers, norm_f, head). */
  readonly trunk: number;
  /** Trunk parameters one token touches: routed experts count only top-K of E. */
  readonly active: number;
}

/**
 * Count parameters from the config's tensor shapes.
 * @example
 * countParams(parseConfig(presetConfig('small'))); // { total: ~132e6, trunk: ~132e6, active: ~75e6 }
 */
export function countParams(config: ModelConfig): ParamCounts {
  const all = expectedTensors(config, true);
  const total = all.reduce((s, t) => s + numel(t.shape), 0);
  const trunk = expectedTensors(config).reduce((s, t) => s + numel(t.shape), 0);
  const moe = config.moe;
  const nMoe = config.layerKinds.filter((k) => k === 'E').length;
  const perExpert = moe ? 2 * moe.expertDim * (moe.latentDim ?? config.dModel) : 0; // up + down
  const inactive = moe ? nMoe * (moe.nExperts - moe.topK) * perExpert : 0;
  return { total, trunk, active: trunk - inactive };
}

/** The config part of the report, one line per block kind present. */
function configSummary(config: ModelConfig): string[] {
  const kinds = config.layerKinds;
  const count = (k: string) => kinds.filter((x) => x === k).length;
  const lines = [
    `d ${config.dModel}, vocab ${config.vocabSize}, ${kinds.length} layers, pattern ${kinds.join('')} ` +
      `(M ${count('M')}, * ${count('*')}, E ${count('E')}, - ${count('-')}), ε ${config.normEps}, ` +
      `${config.tieEmbeddings ? 'tied' : 'untied'} head`,
  ];
  const m = config.mamba;
  if (m) {
    lines.push(
      `mamba2: H ${m.nHeads} × P ${m.headDim}, G ${m.nGroups}, N ${m.dState}, conv ${m.convKernel}, chunk ${m.chunkSize}` +
        ` (dInner ${m.dInner}, convDim ${m.convDim}, in_proj ${m.inProjDim}),` +
        ` time_step_limit [${m.timeStepLimit.join(', ')}] (Δ not clamped, spec §6.4)`,
    );
  }
  const a = config.attention;
  if (a) lines.push(`attention: q ${a.nHeads} / kv ${a.nKvHeads} heads × ${a.headDim}, NoPE`);
  const e = config.moe;
  if (e) {
    lines.push(
      `moe: E ${e.nExperts}, top-${e.topK}, I ${e.expertDim}, shared ${e.sharedDim}, scale ${e.routedScale}` +
        (e.latentDim !== null ? `, LatentMoE ℓ ${e.latentDim}` : ''),
    );
  }
  if (config.mlpDim !== null) lines.push(`mlp: relu² width ${config.mlpDim}`);
  if (config.mtp) lines.push(`mtp: ${config.mtp.nPredict} × ${config.mtp.kinds.join('')}`);
  lines.push(`bos ${config.bosTokenId ?? '-'}, stop ids ${config.eosTokenIds.join(', ')}`);
  return lines;
}

/**
 * Open a checkpoint and describe it (reads only headers, never tensor bytes).
 * @example
 * console.log(await inspect('models/default'));
 */
export async function inspect(path: string): Promise<string> {
  const { config, store } = await openCheckpoint(path);
  try {
    const rows = store.names().map((name) => {
      const t = store.get(name)!;
      return [name, t.dtype, `[${t.shape.join(', ')}]`, String(t.byteLength)];
    });
    const head = ['tensor', 'dtype', 'shape', 'bytes'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) => r.map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();

    const byDtype = new Map<DType, { n: number; bytes: number }>();
    let bytes = 0;
    for (const name of store.names()) {
      const t = store.get(name)!;
      const agg = byDtype.get(t.dtype) ?? { n: 0, bytes: 0 };
      agg.n++;
      agg.bytes += t.byteLength;
      byDtype.set(t.dtype, agg);
      bytes += t.byteLength;
    }
    const params = countParams(config);
    return [
      `model: ${path}`,
      ...configSummary(config).map((l) => `  ${l}`),
      '',
      `tensors (${rows.length}):`,
      `  ${fmt(head)}`,
      ...rows.map((r) => `  ${fmt(r)}`),
      '',
      'by dtype:',
      ...[...byDtype].map(([dt, agg]) => `  ${dt.padEnd(8)} ${String(agg.n).padStart(6)} tensors  ${size(agg.bytes)}`),
      `  total    ${String(rows.length).padStart(6)} tensors  ${size(bytes)} (${bytes} bytes)`,
      '',
      `parameters: ${millions(params.total)} total` +
        (params.total !== params.trunk ? ` (${millions(params.trunk)} trunk + ${millions(params.total - params.trunk)} MTP)` : '') +
        `, ${millions(params.active)} active per token`,
    ].join('\n');
  } finally {
    await store.close();
  }
}
