// Which files of a Hugging Face Hub repository edgetron needs (DESIGN §1: the checkpoint formats
// it opens). A safetensors checkpoint needs its root `*.safetensors` (only the shards its index
// names, when it has one), the index and the JSON/Jinja files beside them; a GGUF repository
// needs the one `.gguf` whose quantisation tag (`Q4_K_M`, `UD-Q4_K_XL`, …) was asked for.
// The same rules apply to a Hub listing and to a snapshot folder already in the cache.

import { CheckpointError, GgufTagError } from '../errors.js';

/** Root files a safetensors checkpoint uses besides its weights, downloaded when the repository has them. */
export const CHECKPOINT_SIDE_FILES: readonly string[] = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
  'hf_quant_config.json',
  'chat_template.jinja',
];

/** The files to fetch: a safetensors folder (weights still to be read from the index) or one GGUF file. */
export type HubSelection =
  | { readonly kind: 'safetensors'; readonly sideFiles: readonly string[]; readonly index: string | null; readonly weights: readonly string[] }
  | { readonly kind: 'gguf'; readonly file: string };

/** Split-file suffix llama.cpp's gguf-split writes (`-00001-of-00003`). */
const SPLIT = /-(\d{5})-of-(\d{5})$/i;
/** A quantisation tag at the end of a GGUF stem, after `-` or `.` (`UD-Q4_K_XL`, `IQ2_XXS`, `Q8_0`, `BF16`, `MXFP4_MOE`). */
const TAG_AT_END = /(?:^|[-.])((?:UD-)?(?:I?Q\d+(?:_[A-Z0-9]+)*|TQ\d+_\d+|MXFP4(?:_MOE)?|BF16|F16|F32))$/i;
/** GGUF files in model repositories that are not the language model. */
const NOT_A_MODEL = /mmproj|imatrix/i;

const baseName = (file: string) => file.slice(file.lastIndexOf('/') + 1);
const stemOf = (file: string) => baseName(file).replace(/\.gguf$/i, '');

/**
 * The quantisation tag of a GGUF file name: its trailing quant type, or the whole stem when
 * there is none.
 * @example
 * ggufTag('Nemotron-3-Nano-30B-A3B-UD-Q4_K_XL.gguf'); // 'UD-Q4_K_XL'
 */
export function ggufTag(file: string): string {
  const stem = stemOf(file).replace(SPLIT, '');
  return TAG_AT_END.exec(stem)?.[1] ?? stem;
}

/** `tag` occurs in `stem`, case-insensitively, bounded by the stem's ends or by `-` / `.`. */
function containsTag(stem: string, tag: string): boolean {
  const s = stem.toLowerCase();
  const t = tag.toLowerCase();
  for (let at = s.indexOf(t); at >= 0; at = s.indexOf(t, at + 1)) {
    const before = at === 0 ? '-' : s[at - 1];
    const after = at + t.length === s.length ? '-' : s[at + t.length];
    if ((before === '-' || before === '.') && (after === '-' || after === '.')) return true;
  }
  return false;
}

/**
 * Choose the one GGUF of `files` that `tag` names: the file whose tag equals it (case-insensitive),
 * else the one whose name contains it between `-`/`.` separators; a single file before the parts
 * of a split one. Without a tag, the repository's only GGUF. GgufTagError, listing the tags there
 * are, when none or several match, and for a GGUF only published split (edgetron reads
 * single-file GGUFs).
 * @example
 * selectGguf('unsloth/X-GGUF', ['X-Q4_K_M.gguf', 'X-Q8_0.gguf'], 'q8_0'); // 'X-Q8_0.gguf'
 */
export function selectGguf(repo: string, files: readonly string[], tag: string | undefined): string {
  const ggufs = files.filter((f) => f.toLowerCase().endsWith('.gguf') && !NOT_A_MODEL.test(baseName(f)));
  const tags = [...new Set(ggufs.map(ggufTag))].sort();
  if (ggufs.length === 0) throw new GgufTagError(repo, tag, [], 'the repository has no .gguf file');
  let hits: string[];
  if (tag === undefined) {
    if (tags.length > 1) throw new GgufTagError(repo, tag, tags, `the repository has ${tags.length} GGUF quantisations; name one with :TAG`);
    hits = ggufs;
  } else {
    hits = ggufs.filter((f) => ggufTag(f).toLowerCase() === tag.toLowerCase());
    if (hits.length === 0) hits = ggufs.filter((f) => containsTag(stemOf(f).replace(SPLIT, ''), tag));
  }
  if (hits.length === 0) throw new GgufTagError(repo, tag, tags, 'no .gguf file has this tag');
  const whole = hits.filter((f) => !SPLIT.test(stemOf(f)));
  if (whole.length === 0) {
    throw new GgufTagError(repo, tag, tags, `this quantisation is split into ${hits.length} files (${hits.map(baseName).join(', ')}); edgetron reads a single-file GGUF (merge with llama.cpp's gguf-split --merge)`);
  }
  if (whole.length > 1) throw new GgufTagError(repo, tag, tags, `the tag matches ${whole.length} files (${whole.join(', ')})`);
  return whole[0];
}

/**
 * What edgetron needs from a repository holding `files` (paths relative to its root): with a
 * tag, or with no safetensors at the root, one GGUF (selectGguf); otherwise the safetensors
 * checkpoint: the side files present, the index when there is one, and the root weights (all of
 * them when there is no index; with an index, `weightsFromIndex` decides later).
 * @example
 * selectHubFiles('nvidia/X', ['config.json', 'model.safetensors', 'README.md'], undefined);
 * // { kind: 'safetensors', sideFiles: ['config.json'], index: null, weights: ['model.safetensors'] }
 */
export function selectHubFiles(repo: string, files: readonly string[], tag: string | undefined): HubSelection {
  const root = files.filter((f) => !f.includes('/'));
  const weights = root.filter((f) => f.endsWith('.safetensors')).sort();
  if (tag === undefined && weights.length === 0 && !files.some((f) => f.toLowerCase().endsWith('.gguf'))) {
    throw new CheckpointError(repo, 'the repository has no *.safetensors at its root and no .gguf file (edgetron opens safetensors checkpoints and GGUF files)');
  }
  if (tag !== undefined || weights.length === 0) return { kind: 'gguf', file: selectGguf(repo, files, tag) };
  const index = root.find((f) => f.endsWith('.safetensors.index.json')) ?? null;
  return { kind: 'safetensors', sideFiles: CHECKPOINT_SIDE_FILES.filter((f) => root.includes(f)), index, weights: index === null ? weights : [] };
}

/**
 * The shard files a safetensors index names in its `weight_map`, sorted, each once.
 * @example
 * weightsFromIndex({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } });
 */
export function weightsFromIndex(index: unknown): string[] {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) return [];
  return [...new Set(Object.values(map as Record<string, unknown>).filter((v): v is string => typeof v === 'string'))].sort();
}
