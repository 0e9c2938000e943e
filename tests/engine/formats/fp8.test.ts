// ModelOpt FP8 weights read as bf16 (engine/formats/fp8.ts): every E4M3 code against the OCP FP8
// E4M3 definition worked by hand, the one rounding to bf16 (no double rounding through f32), the
// bf16 view's whole, synchronous and ranged reads, and a synthetic FP8 checkpoint with NVIDIA's
// tensor names and quantisation config: the reference backend on it gives the same logits, bit
// for bit, as on its weights dequantised here by hand (E4M3 · weight_scale rounded once to bf16),
// and the wasm and webgpu backends are within the whole-trunk f32 tolerance of that (harness.ts tolPath).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmBackend } from '../../../assembly/backend/index.js';
import { MissingTensorError, QuantizedLayoutError, UnsupportedQuantizationError } from '../../../engine/core/errors.js';
import { Model } from '../../../engine/core/model.js';
import { expectedTensors, validateWeights, type TensorEntry } from '../../../engine/core/weights.js';
import { bf16ToF32, f32ToBf16Bits } from '../../../engine/formats/dtype.js';
import { f64ToBf16Bits, fp8AsBf16, fp8Bf16Table, type Fp8Bf16Entry } from '../../../engine/formats/fp8.js';
import { E4M3_VALUES } from '../../../engine/formats/nvfp4.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { openCheckpoint } from '../../../weights-tools/checkpoint.js';
import { synthesize } from '../../../weights-tools/synth.js';
import { expectNormwiseClose, tolPath } from '../../conformance/harness.js';
import { memoryStore, memoryTensors, type MemoryTensor } from '../../helpers/memory-store.js';
import { INPUT_SCALE, writeModelopt } from '../../helpers/modelopt-checkpoint.js';
import { gpuBackend, gpuInfo } from '../../gpu/gpu-available.js';

/**
 * OCP FP8 E4M3 by hand, from the bit fields (sign | 4 exponent bits, bias 7 | 3 mantissa bits):
 * e = 0 is subnormal, m/8 · 2^−6 = m · 2^−9; otherwise (8 + m) · 2^(e − 10) = (1 + m/8) · 2^(e − 7);
 * S.1111.111 is NaN; there are no infinities.
 */
function e4m3ByHand(byte: number): number {
  const s = byte >> 7;
  const e = (byte >> 3) & 15;
  const m = byte & 7;
  if (e === 15 && m === 7) return NaN;
  const magnitude = e === 0 ? m / 512 : (8 + m) * 2 ** (e - 10);
  return s ? -magnitude : magnitude;
}

/** bf16 nearest to x (ties to even), found by scanning the two bf16 neighbours of x in f64: independent of f64ToBf16Bits. */
function bf16Nearest(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === 0) return x;
  const e = Math.floor(Math.log2(Math.abs(x)));
  const ulp = 2 ** (e - 7); // bf16 keeps 8 significant bits
  const lo = Math.floor(x / ulp) * ulp;
  const hi = lo + ulp;
  const dl = x - lo;
  const dh = hi - x;
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return (lo / ulp) % 2 === 0 ? lo : hi;
}

describe('E4M3 codes', () => {
  it('all 256 decode to the OCP E4M3 values worked by hand', () => {
    for (let b = 0; b < 256; b++) {
      const want = e4m3ByHand(b);
      if (Number.isNaN(want)) expect(E4M3_VALUES[b], `0x${b.toString(16)}`).toBeNaN();
      else expect(Object.is(E4M3_VALUES[b], want), `0x${b.toString(16)}: ${E4M3_VALUES[b]} vs ${want}`).toBe(true);
    }
    expect(E4M3_VALUES.filter(Number.isNaN).length).toBe(2); // 0x7f and 0xff only
  });

  it('landmarks: ±0, the subnormals, 1, the largest value and NaN', () => {
    const cases: [number, number][] = [
      [0x00, 0], // +0
      [0x01, 0.001953125], // 2^-9, the smallest subnormal
      [0x07, 0.013671875], // 7 · 2^-9, the largest subnormal
      [0x08, 0.015625], // 2^-6, the smallest normal
      [0x30, 0.5],
      [0x38, 1], // e = 7, m = 0
      [0x39, 1.125],
      [0x3f, 1.875],
      [0x40, 2],
      [0x77, 240], // e = 14, m = 7: 1.875 · 2^7
      [0x7e, 448], // e = 15, m = 6: 1.75 · 2^8, the largest finite value
      [0xb8, -1],
      [0xfe, -448],
    ];
    for (const [b, v] of cases) expect(E4M3_VALUES[b]).toBe(v);
    expect(Object.is(E4M3_VALUES[0x80], -0)).toBe(true);
    expect(E4M3_VALUES[0x7f]).toBeNaN();
    expect(E4M3_VALUES[0xff]).toBeNaN();
  });

  it('with scale 1, the bf16 table holds each code exactly (4 significant bits fit bf16)', () => {
    const table = fp8Bf16Table(1);
    for (let b = 0; b < 256; b++) {
      const want = e4m3ByHand(b);
      if (Number.isNaN(want)) expect(bf16ToF32(table[b])).toBeNaN();
      else expect(Object.is(bf16ToF32(table[b]), want)).toBe(true);
    }
  });
});

describe('f64ToBf16Bits', () => {
  it('rounds once: an f32 that lands on a bf16 tie does not decide', () => {
    // bf16 neighbours of 1: 0x3f80 (1) and 0x3f81 (1 + 2^-7); the tie is 1 + 2^-8
    expect(f64ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // a true tie: to even
    expect(f64ToBf16Bits(1 + 2 ** -8 + 2 ** -40)).toBe(0x3f81); // f32 rounds it onto the tie; x is above
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -40)).toBe(0x3f80); // through f32: double rounding
    expect(f64ToBf16Bits(1 + 3 * 2 ** -8 - 2 ** -40)).toBe(0x3f81); // below the tie 0x3f81|0x3f82
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8 - 2 ** -40)).toBe(0x3f82);
    expect(f64ToBf16Bits(-(1 + 2 ** -8 + 2 ** -40))).toBe(0xbf81);
    expect(f64ToBf16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
  });

  it('agrees with a neighbour scan on E4M3 · scale for every code and awkward scales', () => {
    for (const scale of [1, 0.1, Math.fround(1 / 3), Math.fround(0.0123 / 448), 3.0000001, Math.fround(2 ** -20 * 1.2345)]) {
      const table = fp8Bf16Table(scale);
      for (let b = 0; b < 256; b++) {
        const want = bf16Nearest(e4m3ByHand(b) * scale);
        if (Number.isNaN(want)) expect(bf16ToF32(table[b])).toBeNaN();
        else expect(bf16ToF32(table[b]), `code 0x${b.toString(16)} × ${scale}`).toBe(want);
      }
    }
  });
});

describe('fp8AsBf16', () => {
  // every byte but the two NaNs (0x7f, 0xff become 0x7e, 0xfe)
  const codes = Uint8Array.from({ length: 6 * 16 }, (_, i) => ((i * 37 + 11) & 0x7f) === 0x7f ? (i * 37 + 11 - 1) & 0xff : (i * 37 + 11) & 0xff);
  const scale = Math.fround(0.0375);
  const raw: Record<string, MemoryTensor> = {
    'w.weight': { dtype: 'f8_e4m3', shape: [6, 16], data: codes },
    'w.weight_scale': { dtype: 'f32', shape: [], data: Float32Array.of(scale) },
    'w.input_scale': { dtype: 'f32', shape: [], data: Float32Array.of(0.25) },
  };
  const store = memoryStore(raw);
  const entry = fp8AsBf16({ weight: store.get('w.weight')!, scale: store.get('w.weight_scale')!, inputScale: store.get('w.input_scale') });
  const want = Uint16Array.from(codes, (c) => f32ToBf16Bits(bf16Nearest(e4m3ByHand(c) * scale)));

  it('is a bf16 [out, in] tensor whose reads decode E4M3 · weight_scale, whole, synchronously and by range', async () => {
    expect([entry.dtype, entry.shape, entry.byteLength]).toEqual(['bf16', [6, 16], 6 * 16 * 2]);
    const whole = new Uint8Array(entry.byteLength);
    await entry.readInto(whole);
    expect(new Uint16Array(whole.buffer)).toEqual(want);
    const sync = new Uint8Array(entry.byteLength);
    entry.readIntoSync!(sync);
    expect(sync).toEqual(whole);
    const odd = new Uint8Array(entry.byteLength + 1).subarray(1); // an odd byte offset: the byte-wise path
    await entry.readInto(odd);
    expect(odd).toEqual(whole);
    expect(entry.fp8.inputScale?.name).toBe('w.input_scale');
  });

  it('ranged reads (what convert streams) give the same bytes', async () => {
    const file = memoryStore(raw).get('w.weight')! as TensorEntry & { readRangeInto?: unknown };
    const ranged = {
      ...file,
      readRangeInto: async (dst: Uint8Array, begin: number) => dst.set(codes.subarray(begin, begin + dst.byteLength)),
    };
    const e = fp8AsBf16({ weight: ranged, scale: store.get('w.weight_scale')! });
    const part = new Uint8Array(2 * 16 * 2); // rows 2..3
    await e.readRangeInto!(part, 2 * 16 * 2);
    expect(new Uint16Array(part.buffer)).toEqual(want.subarray(32, 64));
    await expect(e.readRangeInto!(new Uint8Array(3), 0)).rejects.toThrow(RangeError);
  });

  it('a bf16 weight_scale works; a zero or NaN scale is refused naming the scale tensor', async () => {
    const bf16Scale = memoryStore({ ...raw, 'w.weight_scale': { dtype: 'bf16', shape: [], data: Uint16Array.of(0x3e00) } }); // 0.125
    const e = fp8AsBf16({ weight: bf16Scale.get('w.weight')!, scale: bf16Scale.get('w.weight_scale')! }) as Fp8Bf16Entry;
    const bytes = new Uint8Array(e.byteLength);
    await e.readInto(bytes);
    expect(bf16ToF32(new Uint16Array(bytes.buffer)[1])).toBe(bf16Nearest(e4m3ByHand(codes[1]) * 0.125));
    for (const bad of [0, NaN]) {
      const s = memoryStore({ ...raw, 'w.weight_scale': { dtype: 'f32', shape: [], data: Float32Array.of(bad) } });
      const z = fp8AsBf16({ weight: s.get('w.weight')!, scale: s.get('w.weight_scale')! });
      await expect(z.readInto(new Uint8Array(z.byteLength))).rejects.toThrow(QuantizedLayoutError);
      await expect(z.readInto(new Uint8Array(z.byteLength))).rejects.toThrow(/w\.weight_scale: FP8 scale is/);
    }
  });
});

describe('a ModelOpt FP8 checkpoint (NVIDIA tensor names and quantisation config)', () => {
  const TOKENS = new Int32Array([1, 17, 300, 4, 4, 99, 511, 0, 42]);
  let dir = '';
  let quantized: string[] = [];
  const attention = (m: string) => /\.mixer\.[qkvo]_proj$/.test(m);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgetron-fp8-'));
    await synthesize({ preset: 'tiny', seed: 12, out: join(dir, 'bf16'), dtype: 'bf16' });
    // attention excluded by a glob in config.json's `ignore`, lm_head in hf_quant_config.json (spec §14.3)
    quantized = await writeModelopt(join(dir, 'bf16'), join(dir, 'fp8'), {
      algo: 'FP8',
      excluded: (m) => attention(m) || m === 'lm_head',
      ignore: ['backbone.layers.*.mixer.[qkvo]_proj'],
      hfExclude: ['lm_head'],
    });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The checkpoint's weights dequantised by hand: bf16 of e4m3ByHand(code) · weight_scale, every other tensor as stored. */
  async function dequantisedByHand(): Promise<Map<string, TensorEntry>> {
    const ckpt = await openCheckpoint(join(dir, 'fp8'));
    const record: Record<string, MemoryTensor> = {};
    for (const spec of expectedTensors(ckpt.config)) {
      const t = ckpt.store.get(spec.name)!;
      const bytes = new Uint8Array(t.byteLength);
      await t.readInto(bytes);
      if (t.dtype !== 'f8_e4m3') {
        record[spec.name] = { dtype: t.dtype, shape: t.shape, data: bytes };
        continue;
      }
      const s = new Uint8Array(4);
      await ckpt.store.get(spec.name.replace(/weight$/, 'weight_scale'))!.readInto(s);
      const scale = new Float32Array(s.buffer)[0];
      record[spec.name] = { dtype: 'bf16', shape: t.shape, data: Uint16Array.from(bytes, (c) => f32ToBf16Bits(bf16Nearest(e4m3ByHand(c) * scale))) };
    }
    await ckpt.store.close();
    return memoryTensors(ckpt.config, record);
  }

  it('loads the FP8 modules as bf16 views with their input_scale kept, the excluded ones as stored', async () => {
    const ckpt = await openCheckpoint(join(dir, 'fp8'));
    expect(quantized.length).toBeGreaterThan(10);
    expect(quantized.some(attention)).toBe(false);
    expect(ckpt.store.get(`${quantized[0]}.weight`)!.dtype).toBe('f8_e4m3');
    const tensors = validateWeights(ckpt.config, ckpt.store);
    for (const m of quantized) {
      const e = tensors.get(`${m}.weight`) as Fp8Bf16Entry;
      expect([m, e.dtype, e.fp8.weight.dtype]).toEqual([m, 'bf16', 'f8_e4m3']);
      const b = new Uint8Array(4);
      await e.fp8.inputScale!.readInto(b);
      expect(new Float32Array(b.buffer)[0]).toBe(INPUT_SCALE.FP8);
    }
    const q = tensors.get('backbone.layers.2.mixer.q_proj.weight') as Partial<Fp8Bf16Entry>;
    expect([q.dtype, q.fp8]).toEqual(['bf16', undefined]);
    expect((tensors.get('lm_head.weight') as Partial<Fp8Bf16Entry>).fp8).toBeUndefined();
    await ckpt.store.close();
  });

  it('the reference backend gives the logits of its hand-dequantised weights, bit for bit; wasm is within the f32 tolerance', async () => {
    const ckpt = await openCheckpoint(join(dir, 'fp8'));
    const fp8 = validateWeights(ckpt.config, ckpt.store);
    const byHand = await dequantisedByHand();
    const refFp8 = new Model(await referenceBackend.load(ckpt.config, fp8));
    const refHand = new Model(await referenceBackend.load(ckpt.config, byHand));
    const want = refHand.forward(refHand.newSequence(16), TOKENS, 'all');
    expect(refFp8.forward(refFp8.newSequence(16), TOKENS, 'all')).toEqual(want);
    const wasm = new Model(await wasmBackend.load(ckpt.config, fp8));
    const tol = tolPath(8 * (64 + 4 + 24 + 32 + 64) + 64); // the whole-trunk rule of tests/assembly/backend/index.test.ts
    expectNormwiseClose([wasm.forward(wasm.newSequence(16), TOKENS, 'all')], [want], tol);
    await ckpt.store.close();
  });

  it.skipIf(!gpuInfo)('webgpu reads the same bf16 views: within the f32 tolerance of the hand-dequantised reference', async () => {
    const ckpt = await openCheckpoint(join(dir, 'fp8'));
    const refHand = new Model(await referenceBackend.load(ckpt.config, await dequantisedByHand()));
    const loaded = await gpuBackend().load(ckpt.config, validateWeights(ckpt.config, ckpt.store));
    const gpu = new Model(loaded);
    const want = refHand.forward(refHand.newSequence(16), TOKENS, 'all');
    expectNormwiseClose([gpu.forward(gpu.newSequence(16), TOKENS, 'all')], [want], tolPath(8 * (64 + 4 + 24 + 32 + 64) + 64));
    loaded.dispose();
    await ckpt.store.close();
  });

  it('bad files: an algorithm edgetron cannot load, a missing weight_scale, each named with its tensor', async () => {
    await writeModelopt(join(dir, 'bf16'), join(dir, 'fp8-pb'), { algo: 'FP8', excluded: (m) => attention(m) || m === 'lm_head', writeAlgo: 'FP8_PB_WO' });
    const pb = await openCheckpoint(join(dir, 'fp8-pb'));
    expect(() => validateWeights(pb.config, pb.store)).toThrow(UnsupportedQuantizationError);
    expect(() => validateWeights(pb.config, pb.store)).toThrow(/^tensor backbone\.layers\.0\.mixer\.in_proj\.weight: .* says FP8_PB_WO, which edgetron cannot load; supported: FP8, NVFP4, MIXED_PRECISION$/);
    await pb.store.close();
    const scale = `${quantized[0]}.weight_scale`;
    await writeModelopt(join(dir, 'bf16'), join(dir, 'fp8-noscale'), { algo: 'FP8', excluded: attention, drop: [scale] });
    const noScale = await openCheckpoint(join(dir, 'fp8-noscale'));
    expect(() => validateWeights(noScale.config, noScale.store)).toThrow(MissingTensorError);
    expect(() => validateWeights(noScale.config, noScale.store)).toThrow(`missing tensor ${scale} in ${join(dir, 'fp8-noscale', 'model.safetensors')} (the per-tensor scale of the FP8 weight ${quantized[0]}.weight)`);
    await noScale.store.close();
  });

  it('E4M3 · scale in bf16 is within half a bf16 ulp (2^-9 relative) of the BF16 weights it was made from, scaled', async () => {
    const src = await openCheckpoint(join(dir, 'bf16'));
    const ckpt = await openCheckpoint(join(dir, 'fp8'));
    const name = `${quantized[0]}.weight`;
    const fp8 = validateWeights(ckpt.config, ckpt.store).get(name)!;
    const got = new Uint8Array(fp8.byteLength);
    await fp8.readInto(got);
    const orig = new Uint8Array(fp8.byteLength);
    await src.store.get(name)!.readInto(orig);
    const [g, o] = [new Uint16Array(got.buffer), new Uint16Array(orig.buffer)];
    const amax = o.reduce((m, v) => Math.max(m, Math.abs(bf16ToF32(v))), 0);
    // E4M3 keeps 4 significant bits: |ΔW| ≤ 2^-4·|W| (normal) or half a subnormal step; then bf16's 2^-9
    for (let i = 0; i < o.length; i++) {
      const w = bf16ToF32(o[i]);
      expect(Math.abs(bf16ToF32(g[i]) - w)).toBeLessThanOrEqual(Math.abs(w) * (2 ** -4 + 2 ** -8) + (amax / 448) * 2 ** -10 + 1e-12);
    }
    await Promise.all([src.store.close(), ckpt.store.close()]);
  });
});
