// A minimal PNG writer (PNG spec, ISO/IEC 15948): 8-bit RGB, no interlace, every scanline with
// filter 0, one IDAT chunk deflated by node:zlib. Chunk = length (u32 BE) · type · data ·
// CRC-32 (polynomial 0xEDB88320, reflected) over type and data. Plus `Raster`, an RGB canvas with
// lines and rectangles, enough for the flip-rate plot of the sparsity report.

import { deflateSync } from 'node:zlib';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE: Uint32Array = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/**
 * CRC-32 of `bytes` (the PNG / zlib polynomial).
 * @example crc32(new TextEncoder().encode('IEND')) // 0xae426082
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encode an 8-bit RGB image (width·height·3 bytes, row-major, top row first) as a PNG file.
 * @example await writeFile('plot.png', encodePng(2, 1, Uint8Array.of(255, 0, 0, 0, 0, 255)));
 */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== width * height * 3) throw new RangeError(`encodePng: ${rgb.length} bytes for ${width}×${height} RGB`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, filter set 0, no interlace
  const raw = new Uint8Array(height * (1 + width * 3)); // each scanline: filter byte 0, then its pixels
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

export type Rgb = readonly [number, number, number];

/** An RGB canvas (width·height·3 bytes), white at first. */
export class Raster {
  readonly rgb: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = new Uint8Array(width * height * 3).fill(255);
  }

  /** Set pixel (x, y), if it is on the canvas (x, y rounded). */
  plot(x: number, y: number, color: Rgb): void {
    const [px, py] = [Math.round(x), Math.round(y)];
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    this.rgb.set(color, (py * this.width + px) * 3);
  }

  /** A straight line from (x0, y0) to (x1, y1), `thick` pixels wide (a square pen). */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thick = 1): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = Math.floor(thick / 2);
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let dx = -r; dx <= r; dx++) for (let dy = -r; dy <= r; dy++) this.plot(x + dx, y + dy, color);
    }
  }

  /** A filled rectangle [x, x+w) × [y, y+h). */
  fill(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.plot(i, j, color);
  }

  /** This canvas as a PNG file. */
  png(): Buffer {
    return encodePng(this.width, this.height, this.rgb);
  }
}
