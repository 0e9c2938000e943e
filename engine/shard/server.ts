// The shard side of the shard protocol (protocol.ts): a model loaded with some of the layers'
// tensors (any backend) answers the front's requests. Layers run through the one model graph
// (engine/core/model.ts `Model.block`), so a shard computes exactly what an unsplit model does.
// Sequence and snapshot ids are the front's; a sequence is brought to the front's position before
// each pass (the front advances once per pass for all shards).

import type { Act, LoadedModel, SequenceState, StateSnapshot } from '../core/backend.js';
import { SequenceStateError } from '../core/errors.js';
import { Model } from '../core/model.js';
import type { ShardReply, ShardRequest, WireMatrix } from './protocol.js';

/**
 * Serves one shard's requests over its loaded model; owns the model (dispose frees it).
 * @example
 * const server = new ShardServer(await wasmBackend.load(config, layerTensors));
 * server.handle({ op: 'blocks', seq: 1, position: 0, from: 4, to: 8, x }); // { x: … }
 */
export class ShardServer {
  private readonly model: Model;
  private readonly sequences = new Map<number, SequenceState>();
  private readonly snapshots = new Map<number, { seq: number; snapshot: StateSnapshot }>();

  constructor(readonly loaded: LoadedModel) {
    this.model = new Model(loaded);
  }

  /** Run one request; an error becomes an `{ error }` reply (the shard keeps serving). */
  handle(request: ShardRequest): ShardReply {
    try {
      return this.run(request);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      return { error: { name: err.name, message: err.message } };
    }
  }

  /** Sequences held (live ones the front has not freed). */
  get sequenceCount(): number {
    return this.sequences.size;
  }

  private run(request: ShardRequest): ShardReply {
    const ops = this.loaded;
    switch (request.op) {
      case 'newSequence':
        this.sequences.get(request.seq)?.free();
        this.sequences.set(request.seq, ops.newSequence(request.maxTokens, request.part));
        return { done: true };
      case 'freeSequence':
        this.sequences.get(request.seq)?.free();
        this.sequences.delete(request.seq);
        for (const [id, s] of this.snapshots) if (s.seq === request.seq) this.snapshots.delete(id);
        return { done: true };
      case 'snapshot':
        this.snapshots.set(request.snap, { seq: request.seq, snapshot: this.at(request.seq, request.position).snapshot() });
        return { done: true };
      case 'restore': {
        const saved = this.snapshots.get(request.snap);
        if (!saved || saved.seq !== request.seq) throw new SequenceStateError(`snapshot ${request.snap} of sequence ${request.seq} is not held by this shard`);
        this.sequence(request.seq).restore(saved.snapshot);
        return { done: true };
      }
      case 'freeSnapshot':
        this.snapshots.get(request.snap)?.snapshot.free();
        this.snapshots.delete(request.snap);
        return { done: true };
      case 'embed':
        return this.reply(ops.embed(request.tokens));
      case 'blocks': {
        const seq = this.at(request.seq, request.position);
        const x = this.upload(request.x);
        try {
          for (let il = request.from; il < request.to; il++) this.model.block(il, x, seq);
          return this.reply(x);
        } catch (e) {
          ops.free(x);
          throw e;
        }
      }
      case 'mamba2':
      case 'attention': {
        const seq = this.at(request.seq ?? -1, request.position ?? 0);
        return this.apply(request.x, (u) => (request.op === 'mamba2' ? ops.mamba2(request.il, u, seq) : ops.attention(request.il, u, seq)));
      }
      case 'moe':
        return this.apply(request.x, (u) => ops.moe(request.il, u));
      case 'mlp':
        return this.apply(request.x, (u) => ops.mlp(request.il, u));
      case 'rmsnorm':
        return this.apply(request.x, (u) => ops.rmsnorm(u, request.weight));
      case 'matmul':
        return this.apply(request.x, (u) => ops.matmul(u, request.weight));
      case 'head': {
        const h = this.upload(request.x);
        try {
          const logits = ops.head(h);
          return { x: { rows: request.x.rows, cols: logits.length / Math.max(1, request.x.rows), data: logits } };
        } finally {
          ops.free(h);
        }
      }
      case 'usage':
        return { weightBytes: ops.weightBytes(), usedBytes: (ops as { usedBytes?: () => number }).usedBytes?.() ?? ops.weightBytes() };
    }
  }

  /** Release every sequence and snapshot, then the model. */
  dispose(): void {
    for (const { snapshot } of this.snapshots.values()) snapshot.free();
    for (const seq of this.sequences.values()) seq.free();
    this.snapshots.clear();
    this.sequences.clear();
    this.loaded.dispose();
  }

  private sequence(id: number): SequenceState {
    const seq = this.sequences.get(id);
    if (!seq) throw new SequenceStateError(`sequence ${id} is not held by this shard (freed, or the shard was reloaded)`);
    return seq;
  }

  /** Sequence `id` advanced to the front's `position`. */
  private at(id: number, position: number): SequenceState {
    const seq = this.sequence(id);
    if (seq.position > position) throw new SequenceStateError(`sequence ${id} is at token ${seq.position} on this shard, past the front's ${position}`);
    if (seq.position < position) seq.advance(position - seq.position);
    return seq;
  }

  private upload(m: WireMatrix): Act {
    return this.loaded.upload(m.data, m.rows, m.cols);
  }

  /** The activation as a reply; frees it. */
  private reply(y: Act): ShardReply {
    try {
      return { x: { rows: y.rows, cols: y.cols, data: this.loaded.download(y) } };
    } finally {
      this.loaded.free(y);
    }
  }

  /** `op` on the uploaded matrix, its result as a reply. */
  private apply(m: WireMatrix, op: (u: Act) => Act): ShardReply {
    const u = this.upload(m);
    try {
      return this.reply(op(u));
    } finally {
      this.loaded.free(u);
    }
  }
}
