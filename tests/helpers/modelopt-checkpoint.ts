// Test helper: a ModelOpt checkpoint as NVIDIA's `-FP8` and `-NVFP4` repositories ship it, made
// from a float synth checkpoint (weights-tools/synth.ts). Every linear weight but the embedding,
// the router gate and the modules `excluded` names becomes
//   FP8:   X.weight F8_E4M3 [out, in] (E4M3 of W / s, ties to even), X.weight_scale f32 [] (or bf16)
//          s = amax|W| / 448, X.input_scale f32 [];
//   NVFP4: X.weight U8 [out, in/2], X.weight_scale F8_E4M3 [out, in/16], X.weight_scale_2 f32 [],
//          X.input_scale f32 [] (weights-tools/quantize.ts);
// every other tensor is copied as stored. config.json gets a ModelOpt `quantization_config` and
// the folder an `hf_quant_config.json`; the exclusion patterns go to either or both.

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedTensors, validateWeights } from '../../engine/core/weights.js';
import { decodeAll } from '../../engine/formats/dtype.js';
import { numberToE4m3 } from '../../engine/formats/nvfp4.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { quantizeLinear } from '../../weights-tools/quantize.js';
import { serializeSafetensors, type TensorData } from '../../weights-tools/safetensors-writer.js';

export interface ModeloptOptions {
  readonly algo: 'FP8' | 'NVFP4';
  /** Module names (weight name less `.weight`) kept in float, decided by the test. */
  readonly excluded: (module: string) => boolean;
  /** Patterns written to config.json's `quantization_config.ignore`. */
  readonly ignore?: readonly string[];
  /** Patterns written to hf_quant_config.json's `exclude_modules` (no file when undefined). */
  readonly hfExclude?: readonly string[];
  /** Store FP8's weight_scale as bf16 (default f32). */
  readonly bf16Scale?: boolean;
  /** Leave these tensors out (bad-input tests). */
  readonly drop?: readonly string[];
  /** quant_algo to write (default `algo`). */
  readonly writeAlgo?: string;
}

/** The activation scale the helper writes: amax 6 over E4M3's 448 (FP8) and over 448·6 (NVFP4). */
export const INPUT_SCALE = { FP8: Math.fround(6 / 448), NVFP4: Math.fround(6 / (448 * 6)) };

const f32Bytes = (v: number) => new Uint8Array(Float32Array.of(v).buffer);

/**
 * Write `src` (a float checkpoint folder) as a ModelOpt checkpoint in `out`; returns the quantised
 * modules.
 * @example await writeModelopt('tiny-bf16', 'tiny-fp8', { algo: 'FP8', excluded: (m) => m === 'lm_head', ignore: ['lm_head'] });
 */
export async function writeModelopt(src: string, out: string, o: ModeloptOptions): Promise<string[]> {
  const ckpt = await openCheckpoint(src);
  const withMtp = ckpt.config.layers.length > ckpt.config.nTrunkLayers;
  const tensors = validateWeights(ckpt.config, ckpt.store, withMtp);
  const files: TensorData[] = [];
  const quantized: string[] = [];
  for (const spec of expectedTensors(ckpt.config, withMtp)) {
    const entry = tensors.get(spec.name)!;
    const bytes = new Uint8Array(entry.byteLength);
    await entry.readInto(bytes);
    const module = spec.name.replace(/\.weight$/, '');
    const quantize = spec.linear && spec.name !== 'backbone.embeddings.weight' && !spec.name.endsWith('.mixer.gate.weight') && !o.excluded(module);
    if (!quantize) {
      files.push({ name: spec.name, dtype: entry.dtype, shape: entry.shape, data: bytes });
      continue;
    }
    quantized.push(module);
    const [rows, cols] = spec.shape;
    const values = decodeAll(entry.dtype, bytes, spec.name);
    if (o.algo === 'FP8') {
      const amax = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const scale = Math.fround(amax / 448);
      const codes = Uint8Array.from(values, (v) => numberToE4m3(v / scale));
      files.push({ name: spec.name, dtype: 'f8_e4m3', shape: [rows, cols], data: codes });
      const scaleData = o.bf16Scale ? new Uint8Array(Uint16Array.of(new Uint32Array(Float32Array.of(scale).buffer)[0] >>> 16).buffer) : f32Bytes(scale);
      files.push({ name: `${module}.weight_scale`, dtype: o.bf16Scale ? 'bf16' : 'f32', shape: [], data: scaleData });
    } else {
      const q = quantizeLinear({ name: spec.name, rows, cols, readRow: (r, dst) => dst.set(values.subarray(r * cols, (r + 1) * cols)) }, { format: 'nvfp4' });
      files.push({ name: spec.name, dtype: 'u8', shape: [rows, cols / 2], data: q.weight });
      files.push({ name: `${module}.weight_scale`, dtype: 'f8_e4m3', shape: [rows, cols / 16], data: q.scale });
      files.push({ name: `${module}.weight_scale_2`, dtype: 'f32', shape: [], data: f32Bytes(q.scale2) });
    }
    files.push({ name: `${module}.input_scale`, dtype: 'f32', shape: [], data: f32Bytes(INPUT_SCALE[o.algo]) });
  }
  await ckpt.store.close();
  mkdirSync(out, { recursive: true });
  const kept = files.filter((t) => !o.drop?.includes(t.name));
  writeFileSync(join(out, 'model.safetensors'), serializeSafetensors(kept, { format: 'pt' }));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(out, f));
  const raw = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  const algo = o.writeAlgo ?? o.algo;
  raw.quantization_config = {
    quant_method: 'modelopt',
    quant_algo: algo,
    ...(algo === 'NVFP4' && { group_size: 16 }),
    ...(o.ignore && { ignore: o.ignore }),
    producer: { name: 'modelopt', version: '0.35.0' },
  };
  writeFileSync(join(out, 'config.json'), JSON.stringify(raw, null, 2));
  if (o.hfExclude) {
    const quantization = { quant_algo: algo, kv_cache_quant_algo: 'FP8', ...(algo === 'NVFP4' && { group_size: 16 }), exclude_modules: o.hfExclude };
    writeFileSync(join(out, 'hf_quant_config.json'), JSON.stringify({ producer: { name: 'modelopt', version: '0.35.0' }, quantization }, null, 2));
  }
  return quantized;
}
