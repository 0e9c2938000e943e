// The same WGSL kernels in headless Chromium (Debian chromium through playwright-core, WebGPU on
// SwiftShader with --enable-unsafe-webgpu): a cross-origin-isolated page on http://127.0.0.1
// starts the model thread (browser/model-thread.ts, bundled here with esbuild), which loads the
// seeded tiny model on the webgpu backend with its device thread in a nested Worker
// (build/gpu-device.js) and returns the logits of one forward pass. They must match the
// reference backend's within the whole-trunk tolerance of model.test.ts.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../engine/core/config.js';
import { Model } from '../../engine/core/model.js';
import { referenceBackend } from '../../engine/reference/index.js';
import { presetConfig } from '../../weights-tools/presets.js';
import { expectNormwiseClose, tolPath } from '../conformance/harness.js';
import { describeWithChromium, launchChromium } from '../helpers/chromium.js';
import { memoryTensors, randomModelTensors } from '../helpers/memory-store.js';

const DEVICE_BUNDLE = fileURLToPath(new URL('../../build/gpu-device.js', import.meta.url));
const TOKENS = [1, 48, 396, 336, 226, 223, 440, 46];
const SEED = 23;

const PAGE = `<!doctype html><meta charset="utf-8"><title>edgetron webgpu</title>
<script type="module">
const w = new Worker('/model-thread.js', { type: 'module' });
w.onmessage = (e) => { window.result = e.data; };
w.onerror = (e) => { window.result = { error: 'model thread: ' + e.message }; };
w.postMessage({ tokens: ${JSON.stringify(TOKENS)}, seed: ${SEED} });
</script>`;

describeWithChromium('webgpu in headless Chromium', () => {
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    const modelThread = await build({
      entryPoints: [fileURLToPath(new URL('./browser/model-thread.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const files: Record<string, [string, string]> = {
      '/': ['text/html', PAGE],
      '/model-thread.js': ['text/javascript', modelThread.outputFiles[0].text],
      '/gpu-device.js': ['text/javascript', readFileSync(DEVICE_BUNDLE, 'utf8')],
    };
    server = createServer((req, res) => {
      const file = files[req.url ?? ''];
      // cross-origin isolation, for SharedArrayBuffer
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': file[0] }).end(file[1]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  test('the tiny model logits match the reference backend', async () => {
    const browser = await launchChromium();
    let result: { logits?: number[]; adapter?: string; error?: string };
    try {
      const page = await browser.newPage();
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, null, { timeout: 90_000 });
      result = await page.evaluate(() => (window as unknown as { result: typeof result }).result);
    } finally {
      await browser.close();
    }
    expect(result.error).toBeUndefined();
    const config = parseConfig(presetConfig('tiny'));
    const ref = new Model(await referenceBackend.load(config, memoryTensors(config, randomModelTensors(config, SEED, { linearDType: 'bf16' }))));
    const want = ref.forward(ref.newSequence(64), Int32Array.from(TOKENS), 'all');
    expect(result.logits).toHaveLength(want.length);
    expectNormwiseClose([Float32Array.from(result.logits!)], [want], tolPath(8 * (64 + 196)));
  }, 120_000);
});
