// DESIGN §1: a checkpoint plus a backend become a ready model. Weights are checked against
// the config (spec §12) before any byte is read, then loaded by the backend. Portable: no
// file system and no backend imports here (house style H1); callers pass both in.

import { TextCodec } from '../text/text.js';
import type { Backend } from './backend.js';
import type { ModelConfig } from './config.js';
import { MissingTokenizerError } from './errors.js';
import { Model } from './model.js';
import { expectedTensors, findTensor, validateWeights, type TensorEntry, type WeightStore } from './weights.js';

/** What a checkpoint loader hands over (weights-tools `openCheckpoint` returns a superset). */
export interface CheckpointLike {
  readonly config: ModelConfig;
  readonly store: WeightStore;
  readonly tokenizerJson: unknown | null;
  readonly tokenizerConfig: Record<string, unknown> | null;
}

export interface SessionOptions {
  /** Bytes loaded so far, from the backend. */
  readonly onProgress?: (loadedBytes: number, totalBytes: number) => void;
  /**
   * Sees the validated tensors before the backend reads any of them (a memory plan); may throw to
   * refuse the load, or return the backend to load on instead (a model split over shards).
   */
  readonly beforeLoad?: (tensors: ReadonlyMap<string, TensorEntry>) => Backend | void;
}

/** A loaded model with its text codec. */
export interface Session {
  readonly model: Model;
  /** Null when the checkpoint has no tokenizer.json (ids-only use, e.g. `logits`). */
  readonly text: TextCodec | null;
  /** Wall time of validation plus backend load, in ms. */
  readonly loadMs: number;
  /** Default stop ids: config eos ids plus `<|im_end|>` when the tokenizer has it (spec §10). */
  readonly stopIds: readonly number[];
  /** Where the weights came from (a path or URL), for messages. */
  readonly source: string;
  /** Whether the MTP block's weights (spec §11) were loaded, for speculative decoding. */
  readonly mtpLoaded?: boolean;
  /** Release the backend's weights and memory. */
  dispose(): void;
}

/**
 * Validate a checkpoint's weights, load them on `backend`, and build its text codec.
 * @example
 * const session = await openSession(await openCheckpoint('models/default'), referenceBackend);
 * const logits = session.model.forward(session.model.newSequence(16), Int32Array.of(1, 2), 'all');
 */
export async function openSession(checkpoint: CheckpointLike, backend: Backend, options: SessionOptions = {}): Promise<Session> {
  const start = performance.now();
  const { config, store } = checkpoint;
  // spec §11: the MTP block loads when the checkpoint carries it (HF exports often drop mtp.*)
  const mtpLoaded = config.mtp !== null && expectedTensors(config, true).every((t) => findTensor(store, t.name) !== undefined);
  const tensors = validateWeights(config, store, mtpLoaded);
  const chosen = options.beforeLoad?.(tensors) ?? backend;
  const text = checkpoint.tokenizerJson == null ? null : TextCodec.fromJson(checkpoint.tokenizerJson, checkpoint.tokenizerConfig, store.source);
  const loaded = await chosen.load(config, tensors, options.onProgress);
  const imEnd = text?.special.imEnd;
  const stopIds = [...new Set([...config.eosTokenIds, ...(imEnd == null ? [] : [imEnd])])];
  const loadMs = performance.now() - start;
  return { model: new Model(loaded), text, loadMs, stopIds, source: store.source, mtpLoaded, dispose: () => loaded.dispose() };
}

/**
 * The session's text codec, or MissingTokenizerError naming the checkpoint.
 * @example
 * const ids = requireText(session).encode('Hello');
 */
export function requireText(session: Session): TextCodec {
  if (!session.text) throw new MissingTokenizerError(session.source);
  return session.text;
}
