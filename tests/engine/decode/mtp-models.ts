// Models for the MTP and speculative-decoding tests (spec §11): the tiny-latent preset (MTP block
// `*E`, SSD chunk 8) with seeded random weights, MTP included, as a session with the fixture
// tokenizer; optionally with a vocabulary of 8 so that random drafts are often accepted and a
// chi-square test over all next-token pairs is cheap.

import { readFileSync } from 'node:fs';
import type { Backend } from '../../../engine/core/backend.js';
import { parseConfig, type ModelConfig } from '../../../engine/core/config.js';
import { openSession, type Session } from '../../../engine/core/session.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { FIXTURES } from '../../helpers/fixtures.js';
import { memoryStore, randomModelTensors, type MemoryTensor } from '../../helpers/memory-store.js';

const readJson = (name: string) => JSON.parse(readFileSync(`${FIXTURES}moe/hf/${name}`, 'utf8'));

/** tiny-latent, optionally with `vocab_size` = vocab and a shorter trunk `pattern` (e.g. 'M*E'). */
export function tinyLatentConfig(vocab?: number, pattern?: string): ModelConfig {
  return parseConfig({
    ...presetConfig('tiny-latent'),
    ...(vocab ? { vocab_size: vocab } : {}),
    ...(pattern ? { hybrid_override_pattern: pattern, num_hidden_layers: pattern.length } : {}),
  });
}

/** Seeded random tensors of `config`, MTP included; `edit` may replace some. */
export function mtpTensors(config: ModelConfig, seed: number, edit: Record<string, MemoryTensor> = {}): Record<string, MemoryTensor> {
  return { ...randomModelTensors(config, seed, { withMtp: true }), ...edit };
}

/** A session over the tensors, with the fixture tokenizer. */
export function mtpSession(config: ModelConfig, tensors: Record<string, MemoryTensor>, backend: Backend): Promise<Session> {
  return openSession({ config, store: memoryStore(tensors), tokenizerJson: readJson('tokenizer.json'), tokenizerConfig: readJson('tokenizer_config.json') }, backend);
}

/** A seeded prompt of n ids below `vocab`. */
export const mtpPrompt = (n: number, seed: number, vocab: number): number[] => Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + 5) % vocab);
