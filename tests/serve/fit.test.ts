import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/core/config.js';
import { ModelTooLargeError } from '../../serve/errors.js';
import { ISOLATE_LIMIT_BYTES, RUNTIME_BYTES, STREAM_BYTES, assertFitsIsolate, sequenceStateBytes } from '../../serve/fit.js';
import { presetConfig } from '../../weights-tools/presets.js';

const tiny = parseConfig(presetConfig('tiny'));
const small = parseConfig(presetConfig('small'));

describe('isolate fit check', () => {
  it('state of one sequence, by hand for tiny (ME*M-E*E: 2 Mamba, 2 attention layers)', () => {
    // Mamba: conv window (4 − 1) × (64 + 2·2·16) + SSM 4·16·16 floats; attention: K and V, T × 2 kv heads × 16
    const mamba = ((4 - 1) * 128 + 4 * 16 * 16) * 4;
    expect(sequenceStateBytes(tiny, 100)).toBe(2 * mamba + 2 * (2 * 100 * 2 * 16 * 4));
  });

  it('tiny fits: 1.125 × weights in WASM + chunks in flight + state × concurrency + runtime (no shard copies)', () => {
    const weightBytes = 1_064_896;
    const total = assertFitsIsolate({ source: 'default', config: tiny, weightBytes, maxContext: 4096, concurrency: 4 });
    expect(total).toBe(weightBytes * 1.125 + STREAM_BYTES + 4 * sequenceStateBytes(tiny, 4096) + RUNTIME_BYTES);
    expect(total).toBeLessThan(ISOLATE_LIMIT_BYTES);
  });

  it('refuses the small preset in f32 (~132M parameters) with a message that names the parts', () => {
    const weightBytes = 132e6 * 4;
    const err = (() => {
      try {
        assertFitsIsolate({ source: 'packs/small', config: small, weightBytes, maxContext: 4096, concurrency: 4 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ModelTooLargeError);
    expect((err as Error).message).toMatch(/^packs\/small: the model needs about \d{3}\.\d MiB \(WASM weights 566\.5 MiB \+ streaming 1\.0 MiB \+ state .* for 4 × 4096 tokens \+ runtime 16\.0 MiB\) but a Worker isolate has 128 MiB/);
  });

  it('the small preset as a 4-bit pack (nvfp4, all linears, head and embedding: 75 139 808 bytes) fits 4 × 2048 tokens, not 4 × 4096', () => {
    const weightBytes = 75_139_808;
    // by hand: SSM 8 layers × 24·64·64 f32 + conv 8 × 3 × 1792 f32 + KV 2 layers × 2 × T × 2 heads × 64 f32
    const perSequence = (T: number) => 8 * 24 * 64 * 64 * 4 + 8 * 3 * 1792 * 4 + 2 * 2 * T * 2 * 64 * 4;
    expect(sequenceStateBytes(small, 2048)).toBe(perSequence(2048));
    const total = assertFitsIsolate({ source: 'small-q4', config: small, weightBytes, maxContext: 2048, concurrency: 4 });
    expect(total / 2 ** 20).toBeCloseTo((weightBytes * 1.125 + STREAM_BYTES + 4 * perSequence(2048) + RUNTIME_BYTES) / 2 ** 20, 6);
    expect(total).toBeLessThan(ISOLATE_LIMIT_BYTES);
    expect(() => assertFitsIsolate({ source: 'small-q4', config: small, weightBytes, maxContext: 4096, concurrency: 4 })).toThrow(ModelTooLargeError);
  });

  it('a big context × concurrency alone can exceed the limit', () => {
    expect(() => assertFitsIsolate({ source: 'x', config: tiny, weightBytes: 0, maxContext: 262144, concurrency: 16 })).toThrow(ModelTooLargeError);
  });
});
