// Shared by the memory-cap tests of convert and the GGUF export (tests/weights-tools/
// convert-stream.test.ts, gguf-writer-stream.test.ts): the tiny-latent inputs (seed 3, f32 and
// bf16), a cap that leaves 16 KiB for tensor data, and fingerprints of outputs. WHOLE holds the
// fingerprints of the whole-tensor converter's outputs on those inputs, recorded at commit f64cd7d
// before convert streamed rows; `wholePrint` falls back to converting with the default cap when
// synth no longer writes the recorded inputs.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIME_MIB } from '../../weights-tools/row-chunks.js';
import { synthesize } from '../../weights-tools/synth.js';

/** 16 KiB for tensor data: the 512 × 64 f32 embedding alone takes 8 chunks. */
export const CAP = RUNTIME_MIB + 1 / 64;

/** sha256 of the synth inputs the WHOLE fingerprints were recorded on (tiny-latent, seed 3). */
const INPUT_SHA256 = {
  f32: '70e8fea25297e18c9b72828954c313eb0375744e15d900904082529d06ff2601',
  bf16: '3f8ab029b49bd686f81f673a0d6cd51ae5eb4273d963a98d6578009d7618481e',
};

/** Fingerprints (`packPrint`, `ggufPrint`) of the whole-tensor converter's outputs at f64cd7d. */
const WHOLE: Readonly<Record<string, string>> = {
  'pack-f32': '1a8b26750e551c54',
  'pack-bf16': 'fe93a427c7c8f3b2',
  'pack-f32-from-bf16': 'c27ddf9194c05a1a',
  'pack-nvfp4': 'a5d04a821006b49d',
  'pack-nvfp4-all-mse': 'b0c5a5943070813d',
  'pack-s24': '462fffadc696b1fb',
  'pack-f32-from-nvfp4': '7c8b1e5e6007f9f6',
  'pack-bf16-from-s24': 'fdee067a0f87a51b',
  'gguf-f32-f32': '0a78024d624f8a24',
  'gguf-f32-bf16': '0853f3806befbf52',
  'gguf-f32-f16': '7aea729dac52bb40',
  'gguf-f32-q8_0': '8fc93497902ace3c',
  'gguf-f32-q4_0': 'd72ab0791575fbc0',
  'gguf-f32-nvfp4': 'b342058434ea3936',
  'gguf-pack-nvfp4-nvfp4': 'f42f000f798fbafa',
  'gguf-pack-s24-nvfp4': '095f73a9631bf450',
  'gguf-pack-s24-f32': '4dedbc0ef5011e87',
  'gguf-bf16-q8_0': 'baa2b6b6e8acffe9',
};

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A pack's fingerprint: its shards' sha256s (from the index), in order, hashed. */
export function packPrint(dir: string): string {
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { shards: Record<string, { sha256: string }> };
  return sha(Object.values(index.shards).map((s) => s.sha256).join(',')).slice(0, 16);
}

/** A GGUF file's fingerprint. */
export const ggufPrint = (path: string): string => sha(readFileSync(path)).slice(0, 16);

/**
 * Write the f32 and bf16 inputs into `dir` and return the whole-tensor fingerprint of an output:
 * the recorded one when the inputs are the recorded bytes, else what `whole()` computes now.
 */
export async function streamInputs(dir: string): Promise<(key: string, whole: () => Promise<string>) => Promise<string>> {
  for (const dtype of ['f32', 'bf16'] as const) await synthesize({ preset: 'tiny-latent', seed: 3, out: join(dir, dtype), dtype });
  const recorded = (['f32', 'bf16'] as const).every((d) => sha(readFileSync(join(dir, d, 'model.safetensors'))) === INPUT_SHA256[d]);
  return async (key, whole) => (recorded ? WHOLE[key] : whole());
}
