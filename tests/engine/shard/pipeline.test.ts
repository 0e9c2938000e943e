// The asynchronous front (engine/shard/pipeline.ts) over links that answer later, with every
// request and reply passed through the byte codec as an RPC would carry them: the same logits
// bits as the synchronous sharded model and as the unsplit model, for a prefill of all rows and
// greedy decode steps; a shard error arrives as a ShardError naming the shard.

import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import { parseConfig } from '../../../engine/core/config.js';
import { ShardError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { validateWeights } from '../../../engine/core/weights.js';
import { loadLocalShards, type LocalShardLink } from '../../../engine/shard/local.js';
import { ShardPipeline, type AsyncShardLink } from '../../../engine/shard/pipeline.js';
import { decodeMessage, encodeMessage, type ShardReply } from '../../../engine/shard/protocol.js';
import { splitLayers } from '../../../engine/shard/split.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

/** A link to a local shard that answers on a later task, with request and reply as bytes. */
function rpc(link: LocalShardLink): AsyncShardLink {
  return {
    call: async (request) => {
      await new Promise((r) => setTimeout(r, 0));
      const reply = link.call(decodeMessage(encodeMessage(request)));
      return decodeMessage<ShardReply>(encodeMessage(reply));
    },
  };
}

describe('ShardPipeline', () => {
  it('gives the logits of the unsplit model, bit for bit, over byte-encoded asynchronous links', async () => {
    const config = parseConfig(presetConfig('tiny'));
    const tensors = validateWeights(config, memoryTensors(config, randomModelTensors(config, 5)));
    const total = [...tensors.values()].reduce((n, e) => n + e.byteLength, 0);
    const specs = splitLayers(config, tensors.keys(), (n) => tensors.get(n)!.byteLength, Math.ceil(total / 3));
    expect(specs.length).toBeGreaterThanOrEqual(3);
    const sharded = await loadLocalShards(wasmBackend, config, tensors, specs);
    const pipe = new ShardPipeline(config, specs, sharded.shards.map((sh) => rpc(sh.link as LocalShardLink)));
    const plain = new Model(await wasmBackend.load(config, tensors));

    const prompt = Int32Array.from({ length: 19 }, (_, i) => (i * 29 + 3) % 512);
    const seq = await pipe.newSequence(40);
    const ref = plain.newSequence(40);
    expect(await pipe.forward(seq, prompt, 'all')).toEqual(plain.forward(ref, prompt, 'all'));
    for (let step = 0; step < 6; step++) {
      const next = Int32Array.of((step * 97 + 11) % 512);
      expect(await pipe.forward(seq, next), `step ${step}`).toEqual(plain.forward(ref, next));
    }
    expect(seq.position).toBe(25);
    await pipe.freeSequence(seq);
    // a request on the freed sequence: the first shard with its layers says so, by name
    await expect(pipe.forward(seq, Int32Array.of(1))).rejects.toThrow(ShardError);
    await expect(pipe.forward(seq, Int32Array.of(1))).rejects.toThrow(/^shard \d \(blocks\): SequenceStateError: .*sequence 1 is not held/);
    plain.ops.dispose();
    sharded.dispose();
  });
});
