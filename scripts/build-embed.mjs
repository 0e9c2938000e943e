// Build the embed script (embed/, docs/embed.md) into the worker's static assets:
//   assets/embed.js            the page-side bundle: <edgetron-chat> (embed/index.ts)
//   assets/embed/engine.js     the engine worker (embed/engine-worker.ts), fetched when local mode starts
//   assets/embed/gpu-device.js the webgpu device thread (build/gpu-device.js, scripts/build-gpu.mjs)
//   assets/embed/edgetron-relaxed.wasm, edgetron-simd.wasm, edgetron-scalar.wasm  the kernels (npm run
//     build:wasm); the engine worker fetches the relaxed-SIMD build where WebAssembly.validate
//     accepts relaxed SIMD, else the SIMD one (or the scalar one for wasm-scalar)
//   assets/embed/edgetron-relaxed-mt.wasm, kernel-thread.js  with kernel threads: the relaxed
//     kernels' shared-memory build, and the kernel thread (assembly/backend/browser-thread-worker.ts)
// The worker serves them with CORS (worker/app.ts; run_worker_first in wrangler.toml).
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const common = { keepNames: true, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, legalComments: 'none', logLevel: 'warning' };
mkdirSync('assets/embed', { recursive: true });
await build({ ...common, entryPoints: ['embed/index.ts'], outfile: 'assets/embed.js' });
// the wasm driver's Node-only reader and the webgpu backend's Node spawner are imported by
// computed specifiers that a browser never reaches
await build({ ...common, entryPoints: ['embed/engine-worker.ts'], outfile: 'assets/embed/engine.js', external: ['node:*'] });
await build({ ...common, entryPoints: ['assembly/backend/browser-thread-worker.ts'], outfile: 'assets/embed/kernel-thread.js' });
copyFileSync('build/gpu-device.js', 'assets/embed/gpu-device.js');
for (const file of ['edgetron-relaxed.wasm', 'edgetron-relaxed-mt.wasm', 'edgetron-simd.wasm', 'edgetron-scalar.wasm']) copyFileSync(`build/${file}`, `assets/embed/${file}`);
