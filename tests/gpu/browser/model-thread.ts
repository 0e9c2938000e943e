// Runs in headless Chromium as a module Worker (bundled by browser.test.ts): loads the seeded
// `tiny` model on the webgpu backend, with its device thread in a nested Worker, runs one
// forward pass and posts the logits (or the error) to the page.

import { parseConfig } from '../../../engine/core/config.js';
import { Model } from '../../../engine/core/model.js';
import { browserDeviceThread } from '../../../gpu/browser.js';
import { createWebGpuBackend, type WebGpuModel } from '../../../gpu/index.js';
import { presetConfig } from '../../../weights-tools/presets.js';
import { memoryTensors, randomModelTensors } from '../../helpers/memory-store.js';

interface Job {
  readonly tokens: number[];
  readonly seed: number;
}

self.onmessage = async (e: MessageEvent<Job>) => {
  try {
    const config = parseConfig(presetConfig('tiny'));
    const tensors = memoryTensors(config, randomModelTensors(config, e.data.seed, { linearDType: 'bf16' }));
    const backend = createWebGpuBackend({ spawn: () => browserDeviceThread(new URL('/gpu-device.js', self.location.href)) });
    const loaded = (await backend.load(config, tensors)) as WebGpuModel;
    const model = new Model(loaded);
    const logits = model.forward(model.newSequence(64), Int32Array.from(e.data.tokens), 'all');
    self.postMessage({ logits: Array.from(logits), adapter: loaded.info?.adapter ?? '' });
    loaded.dispose();
  } catch (err) {
    self.postMessage({ error: `${(err as Error).name}: ${(err as Error).message}` });
  }
};
