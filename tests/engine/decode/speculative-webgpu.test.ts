// spec §11 on the webgpu backend (skipped without a WebGPU adapter, as the gpu suites are): the
// MTP block's concatCols and its own KV cache against the reference, and greedy exactness of
// generate's `mtp` (k = 1…4 give the k = 0 tokens, prompts across several SSD chunks).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Session } from '../../../engine/core/session.js';
import { generate, type GenerateOptions } from '../../../engine/decode/generate.js';
import { Mtp } from '../../../engine/decode/mtp.js';
import { referenceBackend } from '../../../engine/reference/index.js';
import { expectNormwiseClose, randomRows, tolPath } from '../../conformance/harness.js';
import { describeWithGpu, gpuBackend } from '../../gpu/gpu-available.js';
import { mtpPrompt, mtpSession, mtpTensors, tinyLatentConfig } from './mtp-models.js';

async function tokens(session: Session, prompt: number[], options: GenerateOptions): Promise<number[]> {
  const ids: number[] = [];
  for await (const ev of generate(session, prompt, { stopIds: [], ...options })) if (ev.kind === 'token') ids.push(ev.id);
  return ids;
}

describeWithGpu('MTP and speculative decoding on webgpu', () => {
  const config = tinyLatentConfig();
  const tensors = mtpTensors(config, 3);
  let gpu: Session;
  let ref: Session;
  beforeAll(async () => {
    gpu = await mtpSession(config, tensors, gpuBackend());
    ref = await mtpSession(config, tensors, referenceBackend);
  });
  afterAll(() => gpu?.dispose());

  it('concatCols puts each row of A before the same row of B', () => {
    const ops = gpu.model.ops;
    const y = ops.concatCols(ops.upload(Float32Array.of(1, 2, 3, 4), 2, 2), ops.upload(Float32Array.of(5, 6, 7, 8, 9, 10), 2, 3));
    expect([...ops.download(y)]).toEqual([1, 2, 5, 6, 7, 3, 4, 8, 9, 10]);
  });

  it('an MTP step over 5 rows, then a recursive step, matches the reference', () => {
    const d = config.dModel;
    const hRows = randomRows(5, d, 3);
    const run = (session: Session) => {
      const mtp = new Mtp(session.model);
      const seq = mtp.newSequence(16);
      const first = mtp.step(seq, session.model.ops.upload(hRows, 5, d), Int32Array.of(3, 77, 410, 9, 256));
      return [first.logits, mtp.step(seq, first.hidden, Int32Array.of(7)).logits];
    };
    expectNormwiseClose(run(gpu), run(ref), tolPath(8 * d));
  });

  it('greedy: --mtp k gives the --mtp 0 tokens, k = 1…4 (a prompt of 20 tokens: 3 SSD chunks)', async () => {
    const prompt = mtpPrompt(20, 1, config.vocabSize);
    const plain = await tokens(gpu, prompt, { maxTokens: 8, temperature: 0 });
    for (const k of [1, 2, 3, 4]) expect(await tokens(gpu, prompt, { maxTokens: 8, temperature: 0, mtp: k }), `k = ${k}`).toEqual(plain);
  });
});
