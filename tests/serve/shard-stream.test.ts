// serve/shard-stream.ts inside workerd (crypto.DigestStream): forward reads from one pass,
// a new pass for a read behind it, every finished pass checked against its sha256, and the
// limit on passes open at once.
import { describe, expect, it } from 'vitest';
import { CorruptWeightsError } from '../../engine/core/errors.js';
import { MAX_OPEN_PASSES, ShardStreams, StreamedShard } from '../../serve/shard-stream.js';

const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7 + 3) & 255);
const sha = async (b: Uint8Array) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>))].map((x) => x.toString(16).padStart(2, '0')).join('');
const SHA = await sha(bytes);

/** A shard over `data` whose opens are counted; streams of 999-byte chunks. */
function shard(streams: ShardStreams, data = bytes, sha256: string | undefined = SHA) {
  let opens = 0;
  const open = async () => {
    opens++;
    let at = 0;
    return {
      size: data.byteLength,
      body: new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (at >= data.byteLength) return ctl.close();
          ctl.enqueue(data.slice(at, (at += 999)));
        },
      }),
    };
  };
  return (async () => {
    const s = new StreamedShard('mem:/shard', await open(), open, { sha256, index: 'mem:/index.json' }, streams);
    return { s, opens: () => opens };
  })();
}

const read = async (s: StreamedShard, offset: number, n: number) => {
  const dst = new Uint8Array(n);
  await s.readInto(dst, offset);
  return dst;
};

describe('StreamedShard', () => {
  it('serves forward reads from one pass, spanning chunks, and verifies it', async () => {
    const { s, opens } = await shard(new ShardStreams());
    expect(await read(s, 0, 8)).toEqual(bytes.slice(0, 8));
    expect(await read(s, 990, 2000)).toEqual(bytes.slice(990, 2990));
    expect(await read(s, 9000, 1000)).toEqual(bytes.slice(9000));
    await s.verify();
    expect(opens()).toBe(1);
  });

  it('starts a new pass for a read behind the current one, after checking the old pass', async () => {
    const { s, opens } = await shard(new ShardStreams());
    await read(s, 5000, 10);
    expect(await read(s, 100, 10)).toEqual(bytes.slice(100, 110));
    await s.verify();
    expect(opens()).toBe(2);
  });

  it('rejects a pass whose bytes differ from the index sha256, or that is shorter than the shard', async () => {
    const bad = await shard(new ShardStreams(), bytes, '0'.repeat(64));
    await read(bad.s, 0, 10);
    await expect(bad.s.verify()).rejects.toThrow(new CorruptWeightsError('mem:/shard', `sha256 is ${SHA} but mem:/index.json says ${'0'.repeat(64)}`));
    const short = new StreamedShard('mem:/short', { size: 20_000, body: new Blob([bytes]).stream() }, async () => ({ size: 20_000, body: new Blob([bytes]).stream() }), { index: 'i' }, new ShardStreams());
    await expect(read(short, 15_000, 10)).rejects.toThrow(/truncated: the stream ended at byte 10000 of 20000/);
  });

  it(`keeps at most ${MAX_OPEN_PASSES} passes open: the oldest is finished (and checked) to open another`, async () => {
    const streams = new ShardStreams();
    const shards = await Promise.all(Array.from({ length: MAX_OPEN_PASSES + 2 }, () => shard(streams)));
    for (const { s } of shards) await read(s, 0, 8);
    // the first two were read to their end and verified; reading on restarts them
    expect(await read(shards[0].s, 16, 8)).toEqual(bytes.slice(16, 24));
    expect(shards.map((x) => x.opens())).toEqual([2, 1, 1, 1, 1, 1]);
    for (const { s } of shards) await s.verify();
  });
});
