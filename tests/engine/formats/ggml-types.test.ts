// engine/formats/ggml-types.ts: the dequantised values equal what ggml's block definitions imply
// (ggml-common.h / ggml-quants.c), on hand-built blocks: all 16 Q4_0 codes, extreme and signed
// Q8_0 values, f16 subnormal scales, every NVFP4 scale byte; and the NVFP4 → ModelOpt repack is
// lossless wherever it is allowed.

import { describe, expect, it } from 'vitest';
import { f16ToF32 } from '../../../engine/formats/dtype.js';
import {
  dequantNvfp4,
  dequantQ4_0,
  dequantQ8_0,
  nvfp4Repackable,
  repackNvfp4,
  ue4m3,
  ue4m3ToE4m3,
} from '../../../engine/formats/ggml-types.js';
import { decodeNvfp4Row, e4m3ToNumber } from '../../../engine/formats/nvfp4.js';

/** ggml stores E2M1 doubled (kvalues_mxfp4) and halves the UE4M3 scale; this follows that literally. */
const KVALUES_MXFP4 = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];
function ggmlUe4m3Half(x: number): number {
  if (x === 0 || x === 0x7f) return 0;
  const exp = (x >> 3) & 0xf;
  const man = x & 7;
  const raw = exp === 0 ? Math.fround(man * 2 ** -9) : Math.fround((1 + man / 8) * 2 ** (exp - 7));
  return Math.fround(raw * 0.5);
}

/** A seeded byte stream (xorshift32). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

describe('Q4_0', () => {
  it('decodes all 16 codes of both nibbles: x[j] = (lo − 8)·d, x[j+16] = (hi − 8)·d', () => {
    const block = new Uint8Array(18);
    block.set([0x00, 0x38]); // d = f16 0x3800 = 0.5
    for (let j = 0; j < 16; j++) block[2 + j] = j | ((15 - j) << 4);
    const out = new Float32Array(32);
    dequantQ4_0(block, out, 32);
    for (let j = 0; j < 16; j++) {
      expect(out[j]).toBe((j - 8) * 0.5);
      expect(out[j + 16]).toBe((15 - j - 8) * 0.5);
    }
  });

  it('subnormal and negative f16 scales are exact', () => {
    const block = new Uint8Array(36);
    block.set([0x01, 0x00]); // d = 2^-24, the smallest f16 subnormal
    block.set([0x01, 0x80], 18); // d = -2^-24
    for (let j = 0; j < 16; j++) block[2 + j] = block[20 + j] = 0xf0; // lo = 0 (−8), hi = 15 (+7)
    const out = new Float32Array(64);
    dequantQ4_0(block, out, 64);
    expect(out[0]).toBe(-8 * 2 ** -24);
    expect(out[16]).toBe(7 * 2 ** -24);
    expect(out[32]).toBe(8 * 2 ** -24);
    expect(out[48]).toBe(-7 * 2 ** -24);
  });
});

describe('Q8_0', () => {
  it('x[j] = q[j]·d for signed extremes, with the largest normal and a subnormal f16 scale', () => {
    const q = [-128, 127, 0, -1, 1, -127, 64, -64];
    const block = new Uint8Array(68);
    block.set([0xff, 0x7b]); // d = 65504
    block.set([0xff, 0x03], 34); // d = 1023·2^-24 (largest subnormal)
    for (let j = 0; j < 32; j++) block[2 + j] = block[36 + j] = q[j % q.length] & 0xff;
    const out = new Float32Array(64);
    dequantQ8_0(block, out, 64);
    for (let j = 0; j < 32; j++) {
      expect(out[j]).toBe(q[j % q.length] * 65504);
      expect(out[32 + j]).toBe(q[j % q.length] * 1023 * 2 ** -24);
    }
    expect(out[0]).toBe(-8384512);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
  });
});

describe('ggml UE4M3 scales', () => {
  it('hand-computed values: bit 7 ignored, 0x7F is zero, subnormals m·2^-9', () => {
    expect(ue4m3(0x38)).toBe(1);
    expect(ue4m3(0x7e)).toBe(448);
    expect(ue4m3(0x01)).toBe(2 ** -9);
    expect(ue4m3(0x07)).toBe(7 * 2 ** -9);
    expect(ue4m3(0x08)).toBe(2 ** -6);
    expect(ue4m3(0x7f)).toBe(0);
    expect(ue4m3(0x00)).toBe(0);
    expect(ue4m3(0xb8)).toBe(1);
    expect(ue4m3(0xff)).toBe(480);
    for (let b = 0; b < 256; b++) expect(ue4m3(b), `byte 0x${b.toString(16)}`).toBe(2 * ggmlUe4m3Half(b));
  });

  it('every byte but 0xFF has an E4M3 twin of the same value', () => {
    for (let b = 0; b < 256; b++) {
      if (b === 0xff) continue;
      expect(e4m3ToNumber(ue4m3ToE4m3(b)), `byte 0x${b.toString(16)}`).toBe(ue4m3(b));
    }
  });
});

describe('NVFP4 (ggml block: 4 UE4M3 scales, 32 bytes of E2M1 pairs j / j+8 per 16-value sub-block)', () => {
  const nBlocks = 64;
  const blocks = bytes(36 * nBlocks, 7);
  // every scale byte appears: blocks 0..63 take scale bytes 4b..4b+3 (0xFF replaced by 0xFE)
  for (let b = 0; b < nBlocks; b++) for (let s = 0; s < 4; s++) blocks[36 * b + s] = Math.min(4 * b + s, 0xfe);

  function ggmlDequant(src: Uint8Array, n: number): Float32Array {
    const y = new Float32Array(n);
    for (let i = 0; i < n / 64; i++) {
      for (let s = 0; s < 4; s++) {
        const d = ggmlUe4m3Half(src[36 * i + s]);
        for (let j = 0; j < 8; j++) {
          const q = src[36 * i + 4 + 8 * s + j];
          y[64 * i + 16 * s + j] = Math.fround(KVALUES_MXFP4[q & 0xf] * d);
          y[64 * i + 16 * s + j + 8] = Math.fround(KVALUES_MXFP4[q >> 4] * d);
        }
      }
    }
    return y;
  }

  it('dequantises bit-exactly as ggml does', () => {
    const out = new Float32Array(64 * nBlocks);
    dequantNvfp4(blocks, out, out.length, 1);
    expect(out).toEqual(ggmlDequant(blocks, out.length));
    // hand-computed: block with scale 0x38 (1.0) and codes 0x1 (0.5) low / 0xF (−6) high
    const one = new Uint8Array(36).fill(0x38, 0, 4).fill(0xf1, 4);
    const v = new Float32Array(64);
    dequantNvfp4(one, v, 64, 0.25);
    expect([v[0], v[7], v[8], v[15], v[63]]).toEqual([0.125, 0.125, -1.5, -1.5, -1.5]);
  });

  it('applies the per-tensor scale with one rounding to f32', () => {
    const scale = 0.1;
    const out = new Float32Array(64 * nBlocks);
    dequantNvfp4(blocks, out, out.length, scale);
    const plain = ggmlDequant(blocks, out.length);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBe(Math.fround(plain[i] * scale));
  });

  it('repacks into ModelOpt codes + E4M3 scales without changing a value', () => {
    const rows = 4;
    const cols = (64 * nBlocks) / rows;
    const codes = new Uint8Array((rows * cols) / 2);
    const scales = new Uint8Array((rows * cols) / 16);
    expect(nvfp4Repackable(blocks)).toBe(true);
    repackNvfp4(blocks, codes, scales, rows * cols);
    const scale2 = Math.fround(0.1);
    const want = new Float32Array(rows * cols);
    dequantNvfp4(blocks, want, want.length, scale2);
    const row = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      decodeNvfp4Row(codes, scales, scale2, r, cols, row);
      // equal values; only the sign of a zero may differ (ModelOpt code 8 is −0, ggml's is +0)
      for (let c = 0; c < cols; c++) expect(Math.fround(row[c]) + 0).toBe(want[r * cols + c] + 0);
    }
    // ModelOpt byte k holds elements 2k (low) and 2k+1 (high): element 1 of sub-block 0 is ggml byte 1's low nibble
    const b0 = blocks.subarray(0, 36);
    expect(codes[0] & 0xf).toBe(b0[4] & 0xf);
    expect(codes[0] >> 4).toBe(b0[5] & 0xf);
    expect(codes[4] & 0xf).toBe(b0[4] >> 4); // element 8 = high nibble of ggml byte 0
  });

  it('a 0xFF scale byte (480, above E4M3) cannot be repacked', () => {
    const b = blocks.slice(0, 72);
    expect(nvfp4Repackable(b)).toBe(true);
    b[36 + 2] = 0xff;
    expect(nvfp4Repackable(b)).toBe(false);
  });
});
