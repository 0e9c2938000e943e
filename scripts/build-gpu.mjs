// Bundle the webgpu device thread (gpu/worker.ts and the kernels it encodes) into
// build/gpu-device.js: the .wgsl files are inlined as text (esbuild's text loader), Dawn and the
// Node builtins stay external (loaded only in Node).
import { build } from 'esbuild';

await build({
  entryPoints: ['gpu/worker.ts'],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  outfile: 'build/gpu-device.js',
  loader: { '.wgsl': 'text' },
  external: ['webgpu', 'node:*'],
  logLevel: 'warning',
});
