// spec §12, §14.2–14.3: the quantisation config NVIDIA's ModelOpt writes beside a checkpoint, and
// which linear modules it quantises how. Two files say it, in two spellings:
//   config.json  "quantization_config": { "quant_method": "modelopt", "quant_algo": "FP8" | "NVFP4"
//                | "MIXED_PRECISION", "group_size"?: 16, "ignore"? | "exclude_modules"?: [pattern…],
//                "quantized_layers"?: { module: { "quant_algo", "group_size"? } } }
//   hf_quant_config.json  { "producer": {…}, "quantization": { "quant_algo", "kv_cache_quant_algo"?,
//                "group_size"?, "exclude_modules"?: [pattern…], "quantized_layers"?: {…} } }
// A module excluded in either file is high precision (BF16). A pattern is a glob (fnmatch: `*`
// any run of characters, dots included; `?` one character; `[abc]`, `[!abc]` a set) matched
// against the whole module name (`backbone.layers.4.mixer.in_proj`, the weight's name less
// `.weight`), or against one of its dotted prefixes (`backbone.layers.4` covers the layer's
// modules); `backbone.` and `model.` spell the same trunk. Under MIXED_PRECISION each quantised
// module is listed in `quantized_layers` with its own algorithm; a module listed nowhere is high
// precision. `kv_cache_quant_algo` is read and ignored: edgetron keeps K and V in f32.
// The stored dtypes decide how a weight is read (engine/core/weights.ts); the config is checked
// against them where the two disagree in a way that changes the numbers.

import { ConfigError } from '../core/errors.js';

/** Algorithms edgetron loads: per-tensor FP8 (engine/formats/fp8.ts) and NVFP4 (spec §14.1). */
export const QUANT_ALGOS = ['FP8', 'NVFP4'] as const;
/** `quant_algo` values a config may give for the whole checkpoint. */
export const CHECKPOINT_QUANT_ALGOS: readonly string[] = [...QUANT_ALGOS, 'MIXED_PRECISION'];

/** How one module is quantised: its algorithm as written (upper-cased) and group size. */
export interface ModuleQuant {
  readonly algo: string;
  readonly groupSize: number | null;
}

/** A checkpoint's quantisation config, read. */
export interface QuantScheme {
  /** Where it was read, for messages. */
  readonly source: string;
  /** `quant_method` (lower-cased); 'modelopt' is the only one edgetron reads. */
  readonly method: string;
  /** `quant_algo` of the checkpoint, upper-cased. */
  readonly algo: string;
  readonly groupSize: number | null;
  /** Module patterns kept in high precision (`ignore` ∪ `exclude_modules`). */
  readonly exclude: readonly string[];
  /** MIXED_PRECISION: each quantised module's own algorithm. */
  readonly layers: ReadonlyMap<string, ModuleQuant>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function patterns(block: Json, key: string, where: string): string[] {
  const v = block[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((p) => typeof p === 'string')) throw new ConfigError(`${where}.${key}`, 'must be a list of module names or glob patterns');
  return v as string[];
}

function groupSize(block: Json, where: string): number | null {
  const g = block.group_size;
  if (g === undefined || g === null) return null;
  if (!(Number.isInteger(g) && (g as number) > 0)) throw new ConfigError(`${where}.group_size`, `must be a positive integer, got ${JSON.stringify(g)}`);
  return g as number;
}

function layers(block: Json, where: string): Map<string, ModuleQuant> {
  const out = new Map<string, ModuleQuant>();
  const v = block.quantized_layers;
  if (v === undefined || v === null) return out;
  if (!isObject(v)) throw new ConfigError(`${where}.quantized_layers`, 'must be an object of module → { quant_algo, group_size? }');
  for (const [module, q] of Object.entries(v)) {
    if (!isObject(q) || typeof q.quant_algo !== 'string') throw new ConfigError(`${where}.quantized_layers.${module}`, 'must be { "quant_algo": string, "group_size"?: n }');
    out.set(module, { algo: q.quant_algo.toUpperCase(), groupSize: groupSize(q, `${where}.quantized_layers.${module}`) });
  }
  return out;
}

/**
 * Read config.json's `quantization_config` block (after `mergeHfQuantConfig`, it also carries
 * hf_quant_config.json); null when the checkpoint has none.
 * @example
 * parseQuantScheme({ quant_method: 'modelopt', quant_algo: 'FP8', ignore: ['lm_head'] })!.exclude // ['lm_head']
 */
export function parseQuantScheme(block: unknown, source = 'quantization_config (config.json, hf_quant_config.json)'): QuantScheme | null {
  if (block === undefined || block === null) return null;
  const where = 'quantization_config';
  if (!isObject(block)) throw new ConfigError(where, 'must be an object');
  const method = typeof block.quant_method === 'string' ? block.quant_method.toLowerCase() : 'modelopt';
  const algo = typeof block.quant_algo === 'string' ? block.quant_algo.toUpperCase() : '';
  return {
    source,
    method,
    algo: method === 'modelopt' ? algo : `quant_method ${JSON.stringify(method)}`,
    groupSize: groupSize(block, where),
    exclude: [...patterns(block, 'ignore', where), ...patterns(block, 'exclude_modules', where)],
    layers: layers(block, where),
  };
}

/**
 * config.json's `quantization_config` with hf_quant_config.json's `quantization` folded in: the
 * exclusion lists and `quantized_layers` joined, the other keys taken from config.json where both
 * give them. Two different `quant_algo`s are a ConfigError naming both files.
 * @example
 * mergeHfQuantConfig(undefined, { quantization: { quant_algo: 'NVFP4', exclude_modules: ['lm_head'] } })
 * // { quant_method: 'modelopt', quant_algo: 'NVFP4', exclude_modules: ['lm_head'] }
 */
export function mergeHfQuantConfig(configBlock: unknown, hfQuantConfig: unknown): Json | undefined {
  if (hfQuantConfig === null || hfQuantConfig === undefined) return isObject(configBlock) ? configBlock : undefined;
  if (!isObject(hfQuantConfig) || !isObject(hfQuantConfig.quantization)) {
    throw new ConfigError('hf_quant_config.json: quantization', 'must be an object { quant_algo, exclude_modules?, … }');
  }
  const hf = hfQuantConfig.quantization;
  if (configBlock !== undefined && configBlock !== null && !isObject(configBlock)) throw new ConfigError('quantization_config', 'must be an object');
  const cfg: Json = configBlock ?? {};
  const a = typeof cfg.quant_algo === 'string' ? cfg.quant_algo.toUpperCase() : null;
  const b = typeof hf.quant_algo === 'string' ? hf.quant_algo.toUpperCase() : null;
  if (a !== null && b !== null && a !== b) {
    throw new ConfigError('quantization_config.quant_algo', `config.json says ${a} but hf_quant_config.json says ${b}`);
  }
  const exclude = [...new Set([...patterns(cfg, 'exclude_modules', 'quantization_config'), ...patterns(hf, 'exclude_modules', 'hf_quant_config.json: quantization')])];
  const merged: Json = { quant_method: 'modelopt', ...hf, ...cfg };
  if (exclude.length > 0) merged.exclude_modules = exclude;
  if (isObject(hf.quantized_layers) || isObject(cfg.quantized_layers)) {
    merged.quantized_layers = { ...(isObject(hf.quantized_layers) ? hf.quantized_layers : {}), ...(isObject(cfg.quantized_layers) ? cfg.quantized_layers : {}) };
  }
  return merged;
}

const globCache = new Map<string, RegExp>();

/** fnmatch's glob as a RegExp over the whole name. */
function globRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (re) return re;
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const close = c === '[' ? pattern.indexOf(']', i + 2) : -1;
    if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else if (close > 0) {
      const set = pattern.slice(i + 1, close);
      const body = (set[0] === '!' ? set.slice(1) : set).replace(/[\\\]^]/g, '\\$&');
      src += set[0] === '!' ? `[^${body}]` : `[${body}]`;
      i = close;
    } else src += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  re = new RegExp(`^${src}$`, 's');
  globCache.set(pattern, re);
  return re;
}

/** The spellings of a module name: as stored, and with the trunk prefix `backbone.` ↔ `model.`. */
function spellings(module: string): string[] {
  if (module.startsWith('backbone.')) return [module, `model.${module.slice(9)}`];
  if (module.startsWith('model.')) return [module, `backbone.${module.slice(6)}`];
  return [module];
}

/**
 * Whether `pattern` (a module name or an fnmatch glob) names `module` or one of its dotted prefixes.
 * @example matchesModule('backbone.layers.*.mixer.q_proj', 'backbone.layers.5.mixer.q_proj') // true
 */
export function matchesModule(pattern: string, module: string): boolean {
  const re = globRegExp(pattern);
  return spellings(module).some((name) => {
    const parts = name.split('.');
    for (let n = parts.length; n > 0; n--) if (re.test(parts.slice(0, n).join('.'))) return true;
    return false;
  });
}

/**
 * How the scheme quantises `module` (a linear weight's name less `.weight`): null when it is
 * excluded, or, under MIXED_PRECISION, not listed (high precision either way).
 * @example moduleQuant(parseQuantScheme({ quant_algo: 'FP8', ignore: ['lm_head'] })!, 'lm_head') // null
 */
export function moduleQuant(scheme: QuantScheme, module: string): ModuleQuant | null {
  if (scheme.exclude.some((p) => matchesModule(p, module))) return null;
  if (scheme.algo === 'MIXED_PRECISION') {
    for (const name of spellings(module)) {
      const q = scheme.layers.get(name);
      if (q) return q;
    }
    return null;
  }
  return { algo: scheme.algo, groupSize: scheme.groupSize };
}
