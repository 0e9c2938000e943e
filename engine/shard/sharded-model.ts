// A model split over shards (docs/design.md §2, "Shards") is one LoadedModel: every op goes to
// the shard that holds its layer or weight, over the shard protocol (protocol.ts), and the graph
// (engine/core/model.ts) runs unchanged. Its activations are host matrices on the front. The
// fast path is `blocks`: a pass sends the hidden state once to each shard for its whole layer
// range (one hop per shard per pass), not once per op.
// Sequence ids are the front's; a sequence exists on every shard that holds a layer with state
// for its part, is freed there with it, and is lost with a shard that is lost.

import type { Act, LoadedModel, SequenceState, StatePart, StateSnapshot } from '../core/backend.js';
import { stateLayers } from '../core/backend.js';
import type { ModelConfig } from '../core/config.js';
import { ContextWindowExceededError, OpArgumentError, SequenceStateError, ShardError } from '../core/errors.js';
import { headTensorName } from '../core/weights.js';
import type { ShardLink, ShardReply, ShardRequest, WireMatrix } from './protocol.js';
import { ShardOwners, type ShardSpec } from './split.js';

/** An activation of the sharded model: rows × cols f32 on the front. */
export class HostAct implements Act, WireMatrix {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly data: Float32Array,
  ) {}
}

function hostAct(x: Act, op: string): HostAct {
  if (!(x instanceof HostAct)) throw new OpArgumentError(op, 'the activation does not belong to this sharded model');
  return x;
}

/** One shard as the front sees it: its layers, its tensors, its link. */
export interface FrontShard {
  readonly spec: ShardSpec;
  readonly link: ShardLink;
}

/** A snapshot of a sharded sequence: each holder keeps its part under the id `snap`. */
class ShardedSnapshot implements StateSnapshot {
  constructor(
    readonly position: number,
    readonly snap: number,
    private readonly release: (snap: number) => void,
  ) {}

  free(): void {
    this.release(this.snap);
  }
}

/** A sequence of the sharded model: its position on the front, its id on the shards. */
class ShardedSequence implements SequenceState {
  private pos = 0;
  private freed = false;
  private readonly snapshots = new Set<number>();

  constructor(
    readonly model: ShardedModel,
    readonly id: number,
    readonly maxTokens: number,
    /** Indexes of the shards that hold state for this sequence. */
    readonly holders: readonly number[],
  ) {}

  get position(): number {
    return this.pos;
  }

  advance(n: number): void {
    if (this.pos + n > this.maxTokens) throw new ContextWindowExceededError(this.pos + n, this.maxTokens);
    this.pos += n;
  }

  snapshot(): StateSnapshot {
    this.live();
    const snap = this.model.nextId();
    for (const s of this.holders) this.model.send(s, { op: 'snapshot', seq: this.id, position: this.pos, snap });
    this.snapshots.add(snap);
    return new ShardedSnapshot(this.pos, snap, (id) => {
      if (!this.snapshots.delete(id)) return;
      for (const s of this.holders) this.model.sendQuietly(s, { op: 'freeSnapshot', snap: id });
    });
  }

  restore(snapshot: StateSnapshot): void {
    this.live();
    const snap = snapshot instanceof ShardedSnapshot ? snapshot.snap : undefined;
    if (snap === undefined || !this.snapshots.has(snap)) throw new SequenceStateError('the snapshot was not taken from this sequence, or was freed');
    for (const s of this.holders) this.model.send(s, { op: 'restore', seq: this.id, snap });
    this.pos = snapshot.position;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const s of this.holders) this.model.sendQuietly(s, { op: 'freeSequence', seq: this.id });
    this.snapshots.clear();
  }

  private live(): void {
    if (this.freed) throw new SequenceStateError('the sequence was freed');
  }
}

/**
 * The LoadedModel of a model split over `shards` (in layer order; shard 0 holds the embedding,
 * norm_f and head).
 * @example
 * const model = new Model(new ShardedModel(config, 'wasm', shards));
 * model.forward(model.newSequence(64), Int32Array.of(1, 2, 3));
 */
export class ShardedModel implements LoadedModel {
  private ids = 0;
  private readonly owners: ShardOwners;
  private bytes: number | null = null;

  constructor(
    readonly config: ModelConfig,
    /** The backend each shard runs on. */
    readonly backend: string,
    readonly shards: readonly FrontShard[],
    /** The kernel build and thread count every shard runs with, where the backend has them (run --stats). */
    readonly runtime: { readonly kernelBuild?: string; readonly threads?: number } = {},
  ) {
    this.owners = new ShardOwners(config, shards.map((sh) => sh.spec));
  }

  get kernelBuild(): string | undefined {
    return this.runtime.kernelBuild;
  }

  get threads(): number | undefined {
    return this.runtime.threads;
  }

  /** A fresh id for a sequence or snapshot. */
  nextId(): number {
    return ++this.ids;
  }

  /** Send `request` to shard `s`; an error reply is thrown as a ShardError (a lost shard is brought back only by newSequence). */
  send(s: number, request: ShardRequest): ShardReply {
    const reply = this.shards[s].link.call(request);
    if ('error' in reply) throw new ShardError(s, request.op, reply.error.name, reply.error.message);
    return reply;
  }

  /** `send`, for releases: a lost shard has nothing left to release, so its failure is ignored. */
  sendQuietly(s: number, request: ShardRequest): void {
    if (this.shards[s].link.lost) return;
    try {
      this.send(s, request);
    } catch {
      // the shard was lost while releasing: its memory went with it
    }
  }

  private matrix(s: number, request: ShardRequest): HostAct {
    const reply = this.send(s, request);
    if (!('x' in reply)) throw new OpArgumentError(request.op, `shard ${s} answered without a matrix`);
    return new HostAct(reply.x.rows, reply.x.cols, reply.x.data);
  }


  newSequence(maxTokens: number, part: StatePart = 'trunk'): SequenceState {
    for (const shard of this.shards) if (shard.link.lost) shard.link.revive();
    // every shard with a layer of `part` (those without 'M' or '*' layers hold an empty state)
    const holders = [...new Set(stateLayers(this.config, part).map((l) => this.owners.layer(l.il)))];
    const seq = new ShardedSequence(this, this.nextId(), maxTokens, holders);
    const made: number[] = [];
    try {
      for (const s of holders) {
        this.send(s, { op: 'newSequence', seq: seq.id, maxTokens, part });
        made.push(s);
      }
    } catch (e) {
      for (const s of made) this.sendQuietly(s, { op: 'freeSequence', seq: seq.id });
      throw e;
    }
    return seq;
  }

  private sequence(state: SequenceState): ShardedSequence {
    if (!(state instanceof ShardedSequence) || state.model !== this) throw new SequenceStateError('the sequence was not created by this sharded model');
    return state;
  }

  upload(data: Float32Array, rows: number, cols: number): HostAct {
    if (data.length !== rows * cols) throw new OpArgumentError('upload', `${data.length} values for a (${rows}, ${cols}) matrix`);
    return new HostAct(rows, cols, data.slice());
  }

  download(x: Act): Float32Array {
    return hostAct(x, 'download').data.slice();
  }

  free(x: Act): void {
    hostAct(x, 'free');
  }

  sliceRows(x: Act, start: number, count: number): HostAct {
    const a = hostAct(x, 'sliceRows');
    if (start < 0 || count < 0 || start + count > a.rows) throw new OpArgumentError('sliceRows', `rows [${start}, ${start + count}) of ${a.rows}`);
    return new HostAct(count, a.cols, a.data.slice(start * a.cols, (start + count) * a.cols));
  }

  concatCols(a: Act, b: Act): HostAct {
    const x = hostAct(a, 'concatCols');
    const y = hostAct(b, 'concatCols');
    if (x.rows !== y.rows) throw new OpArgumentError('concatCols', `(${x.rows}, ${x.cols}) beside (${y.rows}, ${y.cols})`);
    const out = new Float32Array(x.rows * (x.cols + y.cols));
    for (let t = 0; t < x.rows; t++) {
      out.set(x.data.subarray(t * x.cols, (t + 1) * x.cols), t * (x.cols + y.cols));
      out.set(y.data.subarray(t * y.cols, (t + 1) * y.cols), t * (x.cols + y.cols) + x.cols);
    }
    return new HostAct(x.rows, x.cols + y.cols, out);
  }

  embed(tokens: Int32Array): HostAct {
    return this.matrix(this.owners.tensor('backbone.embeddings.weight'), { op: 'embed', tokens });
  }

  rmsnorm(x: Act, weight: string): HostAct {
    return this.matrix(this.owners.tensor(weight), { op: 'rmsnorm', weight, x: hostAct(x, 'rmsnorm') });
  }

  addInPlace(x: Act, y: Act): void {
    const a = hostAct(x, 'addInPlace');
    const b = hostAct(y, 'addInPlace');
    if (a.rows !== b.rows || a.cols !== b.cols) throw new OpArgumentError('addInPlace', `(${a.rows}, ${a.cols}) + (${b.rows}, ${b.cols})`);
    // the same f32 sum the backends' f32_add makes, element by element
    for (let i = 0; i < a.data.length; i++) a.data[i] += b.data[i];
  }

  mamba2(il: number, u: Act, state: SequenceState): HostAct {
    const seq = this.sequence(state);
    return this.matrix(this.owners.layer(il), { op: 'mamba2', il, seq: seq.id, position: seq.position, x: hostAct(u, 'mamba2') });
  }

  attention(il: number, u: Act, state: SequenceState): HostAct {
    const seq = this.sequence(state);
    return this.matrix(this.owners.layer(il), { op: 'attention', il, seq: seq.id, position: seq.position, x: hostAct(u, 'attention') });
  }

  moe(il: number, u: Act): HostAct {
    return this.matrix(this.owners.layer(il), { op: 'moe', il, x: hostAct(u, 'moe') });
  }

  mlp(il: number, u: Act): HostAct {
    return this.matrix(this.owners.layer(il), { op: 'mlp', il, x: hostAct(u, 'mlp') });
  }

  matmul(x: Act, weight: string): HostAct {
    return this.matrix(this.owners.tensor(weight), { op: 'matmul', weight, x: hostAct(x, 'matmul') });
  }

  /** Layers [from, to) with their residuals, x updated in place: one request per shard in the range. */
  blocks(from: number, to: number, x: Act, state: SequenceState): void {
    const a = hostAct(x, 'blocks');
    const seq = this.sequence(state);
    for (let il = from; il < to; ) {
      const s = this.owners.layer(il);
      const end = Math.min(to, this.shards[s].spec.to);
      const y = this.matrix(s, { op: 'blocks', seq: seq.id, position: seq.position, from: il, to: end, x: a });
      a.data.set(y.data);
      il = end;
    }
  }

  head(h: Act): Float32Array {
    return this.matrix(this.owners.tensor(headTensorName(this.config)), { op: 'head', x: hostAct(h, 'head') }).data;
  }

  /** Resident weight bytes over every shard (asked once). */
  weightBytes(): number {
    this.bytes ??= this.shards.reduce((n, _sh, s) => {
      const reply = this.send(s, { op: 'usage' });
      return n + ('weightBytes' in reply ? reply.weightBytes : 0);
    }, 0);
    return this.bytes;
  }

  dispose(): void {
    for (const shard of this.shards) shard.link.dispose();
  }
}
