// DESIGN §3, §6: will a model fit a Worker isolate? Cloudflare caps an isolate at 128 MB.
// Shards stream straight into WASM memory (shard-stream.ts), so no copy of them is held in JS;
// the peak is
//   weights in WASM (the heap grows ≥ 1/8 ahead: ×1.125) + STREAM_BYTES (chunks in flight)
//   + per-sequence state × concurrency (KV rows for the context of every '*' layer, conv
//     window and SSM state of every 'M' layer) + RUNTIME_BYTES (code, tokenizer, JS heap).
// The estimate is checked before any shard is fetched.

import type { LayerSpec, ModelConfig } from '../engine/core/config.js';
import { ModelTooLargeError } from './errors.js';

/** Cloudflare Workers' memory limit per isolate. */
export const ISOLATE_LIMIT_BYTES = 128 * 2 ** 20;
/** Code, tokenizer, template and JS heap besides the model. */
export const RUNTIME_BYTES = 16 * 2 ** 20;
/** Network chunks held while the shards stream (a few per open pass). */
export const STREAM_BYTES = 2 ** 20;
/** WASM heap headroom: it grows at least 1/8 ahead of what is asked. */
const HEAP_GROWTH = 1.125;

/**
 * Bytes of one sequence's state for `maxTokens` tokens (f32, as the wasm backend keeps it), over
 * `layers` (default all; a shard holds its own).
 * @example sequenceStateBytes(config, 4096);
 */
export function sequenceStateBytes(config: ModelConfig, maxTokens: number, layers: readonly LayerSpec[] = config.layers): number {
  const m = config.mamba;
  const a = config.attention;
  let bytes = 0;
  for (const layer of layers) {
    if (layer.kind === 'M' && m) bytes += ((m.convKernel - 1) * m.convDim + m.nHeads * m.headDim * m.dState) * 4;
    if (layer.kind === '*' && a) bytes += 2 * maxTokens * a.nKvHeads * a.headDim * 4;
  }
  return bytes;
}

export interface FitInput {
  readonly source: string;
  readonly config: ModelConfig;
  /** Tensor bytes of the pack (index metadata.total_size). */
  readonly weightBytes: number;
  readonly maxContext: number;
  readonly concurrency: number;
  readonly limitBytes?: number;
}

/** A peak-memory estimate and what it is made of. */
export interface PeakEstimate {
  readonly bytes: number;
  /** The terms, for messages. */
  readonly detail: string;
}

/**
 * The estimated peak bytes of a model loaded from a streamed pack and serving `concurrency`
 * sequences of `maxContext` tokens, wherever it runs (a Worker isolate, a browser tab).
 * @example estimatePeakBytes({ source: 'default', config, weightBytes: 1e6, maxContext: 4096, concurrency: 4 }).bytes; // ≈ 20 MiB
 */
export function estimatePeakBytes(input: FitInput): PeakEstimate {
  const { config, weightBytes, maxContext, concurrency } = input;
  const state = sequenceStateBytes(config, maxContext) * concurrency;
  const wasm = weightBytes * HEAP_GROWTH;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return {
    bytes: wasm + STREAM_BYTES + state + RUNTIME_BYTES,
    detail: `WASM weights ${mib(wasm)} + streaming ${mib(STREAM_BYTES)} + state ${mib(state)} for ${concurrency} × ${maxContext} tokens + runtime ${mib(RUNTIME_BYTES)}`,
  };
}

/**
 * The estimated peak bytes in a Worker isolate, or ModelTooLargeError when it exceeds the
 * isolate's limit (`limitBytes`, default 128 MB).
 * @example
 * assertFitsIsolate({ source: 'default', config, weightBytes: 1e6, maxContext: 4096, concurrency: 4 }); // ≈ 20 MiB
 */
export function assertFitsIsolate(input: FitInput): number {
  const { limitBytes = ISOLATE_LIMIT_BYTES } = input;
  const { bytes, detail } = estimatePeakBytes(input);
  if (bytes > limitBytes) throw new ModelTooLargeError(input.source, bytes, limitBytes, detail);
  return bytes;
}
