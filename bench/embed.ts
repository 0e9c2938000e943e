// `npm run bench`: the embed script's size (docs/embed.md), raw and gzip (level 6, what HTTP
// servers use). The page loads only embed.js; the rest is fetched when local mode starts, and
// gpu-device.js only for WebGPU, one of the .wasm builds only for WASM (and kernel-thread.js only
// with kernel threads).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageRoot } from '../runtime/paths.js';

/** The built files (scripts/build-embed.mjs) and when a page loads each. */
const FILES: readonly [string, string][] = [
  ['embed.js', 'always (the <edgetron-chat> element, remote mode)'],
  ['embed/engine.js', 'local mode (the engine worker)'],
  ['embed/gpu-device.js', 'local mode on WebGPU'],
  ['embed/edgetron-relaxed.wasm', 'local mode on WASM with relaxed SIMD (Chromium ≥ 114)'],
  ['embed/edgetron-relaxed-mt.wasm', 'local mode on WASM with kernel threads, instead of edgetron-relaxed.wasm'],
  ['embed/kernel-thread.js', 'local mode on WASM with kernel threads'],
  ['embed/edgetron-simd.wasm', 'local mode on WASM SIMD'],
  ['embed/edgetron-scalar.wasm', 'local mode on WASM without SIMD'],
];

/**
 * Print the sizes with the bench's table printer.
 * @example benchEmbed(table);
 */
export function benchEmbed(table: (title: string, header: string[], rows: (string | number)[][]) => void): void {
  const dir = join(packageRoot(), 'assets');
  const kib = (n: number) => (n / 1024).toFixed(1);
  const rows = FILES.map(([file, when]) => {
    const path = join(dir, file);
    if (!existsSync(path)) return [file, when, 'not built', '-'];
    const bytes = readFileSync(path);
    return [file, when, kib(bytes.byteLength), kib(gzipSync(bytes, { level: 6 }).byteLength)];
  });
  table('Embed bundle (assets/, npm run build:embed): KiB', ['file', 'loaded', 'raw KiB', 'gzip KiB'], rows);
}
