// The minimal PNG writer (lab/png.ts) read back by hand: signature, chunk lengths and
// CRCs, IHDR fields, and the inflated scanlines (filter byte 0, then the pixels as given).

import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng, Raster } from '../../lab/png.js';

/** The chunks of a PNG file: [type, data], each CRC checked. */
function chunks(png: Buffer): [string, Buffer][] {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const out: [string, Buffer][] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    expect(png.readUInt32BE(at + 8 + len)).toBe(crc32(png.subarray(at + 4, at + 8 + len)));
    out.push([type, png.subarray(at + 8, at + 8 + len)]);
    at += 12 + len;
  }
  return out;
}

describe('crc32', () => {
  it('matches the known CRC of "IEND" and of "123456789"', () => {
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('encodePng', () => {
  it('writes IHDR, one IDAT of filter-0 scanlines, IEND', () => {
    const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9); // 3×2
    const parts = chunks(encodePng(3, 2, rgb));
    expect(parts.map(([t]) => t)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = parts[0][1];
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ...ihdr.subarray(8)]).toEqual([3, 2, 8, 2, 0, 0, 0]);
    expect([...inflateSync(parts[1][1])]).toEqual([0, ...rgb.subarray(0, 9), 0, ...rgb.subarray(9)]);
    expect(parts[2][1].length).toBe(0);
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() => encodePng(2, 2, new Uint8Array(11))).toThrow(RangeError);
  });
});

describe('Raster', () => {
  it('draws a line through both end points and clips off-canvas pixels', () => {
    const r = new Raster(5, 4);
    r.line(0, 0, 4, 3, [10, 20, 30]);
    r.plot(-1, 9, [1, 1, 1]);
    const at = (x: number, y: number) => [...r.rgb.subarray((y * 5 + x) * 3, (y * 5 + x) * 3 + 3)];
    expect(at(0, 0)).toEqual([10, 20, 30]);
    expect(at(4, 3)).toEqual([10, 20, 30]);
    expect(at(4, 0)).toEqual([255, 255, 255]);
    const [, idat] = chunks(r.png())[1];
    expect(inflateSync(idat).length).toBe(4 * (1 + 5 * 3));
  });
});
