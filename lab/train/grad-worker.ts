// A worker thread of GradPool (grad-pool.ts): builds the TrainModel once over the shared
// parameters, then for each posted share of windows zeroes its gradient buffer, runs
// lossAndGrads into it and posts the loss, MTP loss and expert loads back.

import { parentPort, workerData } from 'node:worker_threads';
import { parseConfig } from '../../engine/core/config.js';
import { TrainModel } from './model.js';
import { tensorViews, type ParamLayout } from './params.js';

const { rawConfig, layout, params, grads } = workerData as { rawConfig: Record<string, unknown>; layout: ParamLayout; params: Float32Array; grads: Float32Array };
const model = new TrainModel(parseConfig(rawConfig));
const paramViews = tensorViews(layout, params);
const gradViews = tensorViews(layout, grads);

parentPort!.on('message', ({ windows, B, T }: { windows: Int32Array; B: number; T: number }) => {
  grads.fill(0);
  const { loss, mtpLoss, loads } = model.lossAndGrads(paramViews, gradViews, windows, B, T);
  parentPort!.postMessage({ loss, mtpLoss, loads: [...loads] });
});
parentPort!.postMessage('ready');
