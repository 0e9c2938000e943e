// spec §12: the Nemotron 3 Nano tensor table, typed in by hand from the spec (not derived from
// engine/core/weights.ts), for the first layers of the pattern; and spec §14.2's NVFP4 exclusions.

const D = 2688;
const VOCAB = 131072;
const N_EXPERTS = 128;
/** spec §2: the Nano pattern. */
export const NANO_PATTERN = 'MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME';

export interface NanoTensor {
  readonly name: string;
  readonly shape: readonly number[];
}

/** One layer's tensors (spec §12 tables, Nano shapes). */
function layerTable(l: number, kind: string): NanoTensor[] {
  const p = `backbone.layers.${l}.`;
  const m = `${p}mixer.`;
  const out: NanoTensor[] = [{ name: `${p}norm.weight`, shape: [D] }];
  if (kind === 'M') {
    out.push(
      { name: `${m}in_proj.weight`, shape: [10304, D] },
      { name: `${m}conv1d.weight`, shape: [6144, 1, 4] },
      { name: `${m}conv1d.bias`, shape: [6144] },
      { name: `${m}dt_bias`, shape: [64] },
      { name: `${m}A_log`, shape: [64] },
      { name: `${m}D`, shape: [64] },
      { name: `${m}norm.weight`, shape: [4096] },
      { name: `${m}out_proj.weight`, shape: [D, 4096] },
    );
  } else if (kind === '*') {
    out.push(
      { name: `${m}q_proj.weight`, shape: [4096, D] },
      { name: `${m}k_proj.weight`, shape: [256, D] },
      { name: `${m}v_proj.weight`, shape: [256, D] },
      { name: `${m}o_proj.weight`, shape: [D, 4096] },
    );
  } else {
    out.push({ name: `${m}gate.weight`, shape: [N_EXPERTS, D] }, { name: `${m}gate.e_score_correction_bias`, shape: [N_EXPERTS] });
    for (let e = 0; e < N_EXPERTS; e++) {
      out.push({ name: `${m}experts.${e}.up_proj.weight`, shape: [1856, D] }, { name: `${m}experts.${e}.down_proj.weight`, shape: [D, 1856] });
    }
    out.push({ name: `${m}shared_experts.up_proj.weight`, shape: [3712, D] }, { name: `${m}shared_experts.down_proj.weight`, shape: [D, 3712] });
  }
  return out;
}

/** Every tensor of the first `n` Nano layers plus the globals, sorted by name. */
export function nanoTable(n: number): NanoTensor[] {
  const out: NanoTensor[] = [
    { name: 'backbone.embeddings.weight', shape: [VOCAB, D] },
    { name: 'backbone.norm_f.weight', shape: [D] },
    { name: 'lm_head.weight', shape: [VOCAB, D] },
  ];
  for (let l = 0; l < n; l++) out.push(...layerTable(l, NANO_PATTERN[l]));
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * spec §14.2: is this linear weight NVFP4 in NVIDIA's Nano release? Not lm_head, the embedding,
 * the router gate, attention q/k/v/o, or the in/out_proj of a Mamba layer right before an
 * attention layer (within the pattern of the first `n` layers).
 */
export function nanoQuantized(name: string, n: number): boolean {
  const match = /^backbone\.layers\.(\d+)\.mixer\.(.+)\.weight$/.exec(name);
  if (!match) return false;
  const [, layer, module] = match;
  const l = Number(layer);
  if (/^(q_proj|k_proj|v_proj|o_proj|gate|conv1d|norm)$/.test(module)) return false;
  if (/^(in_proj|out_proj)$/.test(module) && l + 1 < n && NANO_PATTERN[l + 1] === '*') return false;
  return true;
}
