// The forward pass of a sharded model over links that answer asynchronously (a Durable Object's
// RPC, a postMessage port): spec §4 at shard granularity, one request per shard per step.
//   1. X = Emb[tokens]            the shard holding the embedding
//   2. X ← blocks [from, to)(X)   each shard in layer order (Model.block on its own layers)
//   3. H = RMSNorm_f(X)           the shard holding norm_f
//   4. logits = H · W_lmᵀ         the shard holding the head
// The per-layer graph stays engine/core/model.ts, run inside each shard; this file only orders
// the hops. The synchronous ShardedModel (sharded-model.ts) gives the same bits over the same
// messages (tests/engine/shard/pipeline.test.ts).

import type { ModelConfig } from '../core/config.js';
import { ContextWindowExceededError, OpArgumentError, ShardError, TokenOutOfRangeError } from '../core/errors.js';
import { headTensorName } from '../core/weights.js';
import type { ShardReply, ShardRequest, WireMatrix } from './protocol.js';
import { ShardOwners, type ShardSpec } from './split.js';

/** A link whose replies arrive later. */
export interface AsyncShardLink {
  call(request: ShardRequest): Promise<ShardReply>;
}

/** One sequence of a pipeline: its id on the shards and its position on the front. */
export interface PipelineSequence {
  readonly id: number;
  readonly maxTokens: number;
  position: number;
}

/**
 * The front of a sharded model over asynchronous links (see the header).
 * @example
 * const pipe = new ShardPipeline(config, specs, links);
 * const seq = await pipe.newSequence(256);
 * const logits = await pipe.forward(seq, Int32Array.of(1, 42, 7)); // (1, V)
 */
export class ShardPipeline {
  private ids = 0;
  private readonly owners: ShardOwners;

  constructor(
    readonly config: ModelConfig,
    readonly specs: readonly ShardSpec[],
    readonly links: readonly AsyncShardLink[],
  ) {
    if (specs.length !== links.length) throw new OpArgumentError('shards', `${specs.length} shards and ${links.length} links`);
    this.owners = new ShardOwners(config, specs);
  }

  private async send(s: number, request: ShardRequest): Promise<ShardReply> {
    const reply = await this.links[s].call(request);
    if ('error' in reply) throw new ShardError(s, request.op, reply.error.name, reply.error.message);
    return reply;
  }

  private async matrix(s: number, request: ShardRequest): Promise<WireMatrix> {
    const reply = await this.send(s, request);
    if (!('x' in reply)) throw new OpArgumentError(request.op, `shard ${s} answered without a matrix`);
    return reply.x;
  }


  /** A new trunk sequence on every shard (in parallel). */
  async newSequence(maxTokens: number): Promise<PipelineSequence> {
    const seq = { id: ++this.ids, maxTokens, position: 0 };
    await Promise.all(this.specs.map((_, s) => this.send(s, { op: 'newSequence', seq: seq.id, maxTokens, part: 'trunk' })));
    return seq;
  }

  /** Release a sequence on every shard; a shard that fails to answer is skipped (its memory goes with it). */
  async freeSequence(seq: PipelineSequence): Promise<void> {
    await Promise.allSettled(this.specs.map((_, s) => this.send(s, { op: 'freeSequence', seq: seq.id })));
  }

  /** Steps 1–4 for `tokens`, advancing `seq`: logits (rows × V), rows = 1 ('last') or T ('all'). */
  async forward(seq: PipelineSequence, tokens: Int32Array, rows: 'last' | 'all' = 'last'): Promise<Float32Array> {
    const { config } = this;
    for (const t of tokens) if (!(t >= 0 && t < config.vocabSize)) throw new TokenOutOfRangeError(t, config.vocabSize);
    if (seq.position + tokens.length > seq.maxTokens) throw new ContextWindowExceededError(seq.position + tokens.length, seq.maxTokens);
    // 1. X = Emb[tokens]   (T, d)
    let x = await this.matrix(this.owners.tensor('backbone.embeddings.weight'), { op: 'embed', tokens });
    // 2. each shard's layers, in order
    for (const [s, spec] of this.specs.entries()) {
      const to = Math.min(spec.to, config.nTrunkLayers);
      if (to > spec.from) x = await this.matrix(s, { op: 'blocks', seq: seq.id, position: seq.position, from: spec.from, to, x });
    }
    seq.position += tokens.length;
    // 3. H = RMSNorm_f(X) on the rows whose logits are wanted
    const kept = rows === 'last' && x.rows > 1 ? { rows: 1, cols: x.cols, data: x.data.slice((x.rows - 1) * x.cols) } : x;
    const h = await this.matrix(this.owners.tensor('backbone.norm_f.weight'), { op: 'rmsnorm', weight: 'backbone.norm_f.weight', x: kept });
    // 4. logits = H · W_lmᵀ   (rows, V)
    return (await this.matrix(this.owners.tensor(headTensorName(config)), { op: 'head', x: h })).data;
  }
}
