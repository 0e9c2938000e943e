// End to end (runs in Node): `edgetron serve --model PATH` on a checkpoint that
// is not the default (the MoE `tiny` preset with its tensors sorted by name, as Hugging Face
// checkpoints are, so `serve` packs it) loads and answers 100 requests while the descriptors of
// wrangler's workerd processes stay flat. Each backward read of a shard used to restart its
// stream, a new response through wrangler's proxy: on multi-shard MoE packs thousands of
// descriptors during the load, until workerd ran out of them. (The count per stream is wrangler's:
// on this one-shard pack the old loader's restarts were sequential and did not raise the peak; the
// restarts themselves are counted in tests/serve/pack-order.test.ts and tensors.test.ts.)
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childProcesses, groupProcesses, openFds } from '../../bench/proc.js';
import { openCheckpoint } from '../../weights-tools/checkpoint.js';
import { writeSafetensorsFile } from '../../weights-tools/safetensors-writer.js';
import { synthesize } from '../../weights-tools/synth.js';
import { freePort } from '../helpers/free-port.js';
import { serveCli, stopGroup } from '../helpers/serve-cli.js';

let dir = '';
let server: ReturnType<typeof serveCli> | undefined;
let url = '';
let model = '';
let packBytes = 0;

/** Open descriptors of the workerd processes of the server (in the group of the `wrangler dev` it starts). */
const workerdFds = () =>
  childProcesses(server!.child.pid!)
    .flatMap((wrangler) => groupProcesses(wrangler.pid))
    .filter((p) => p.name === 'workerd')
    .reduce((n, p) => {
      try {
        return n + openFds(p.pid);
      } catch {
        return n; // the process went away
      }
    }, 0);

/** Run `work` while sampling workerdFds every 20 ms; returns its result and the highest count seen. */
async function watchFds<T>(work: () => Promise<T>): Promise<{ result: T; max: number }> {
  let max = workerdFds();
  const timer = setInterval(() => (max = Math.max(max, workerdFds())), 20);
  try {
    return { result: await work(), max: Math.max(max, workerdFds()) };
  } finally {
    clearInterval(timer);
  }
}

const chat = async (content: string) => {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: 3, temperature: 0 }),
  });
  return { status: res.status, body: (await res.json()) as { choices?: { message: { content: string } }[]; usage?: { completion_tokens: number } } };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgetron-serve-model-'));
  await synthesize({ preset: 'tiny', seed: 11, out: join(dir, 'synth'), dtype: 'f32' });
  // as Python's safetensors `save_file` writes a checkpoint: tensors sorted by name
  const ckpt = await openCheckpoint(join(dir, 'synth'));
  const names = ckpt.store.names().sort();
  await mkdir(join(dir, 'tiny'));
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(dir, 'synth', f), join(dir, 'tiny', f));
  await writeSafetensorsFile(join(dir, 'tiny', 'model.safetensors'), names.map((name) => ({ name, dtype: ckpt.store.get(name)!.dtype, shape: ckpt.store.get(name)!.shape })), async (t, write) => {
    const bytes = new Uint8Array(ckpt.store.get(t.name)!.byteLength);
    await ckpt.store.get(t.name)!.readInto(bytes);
    await write(bytes);
  });
  await ckpt.store.close();
  packBytes = statSync(join(dir, 'tiny', 'model.safetensors')).size;
  server = serveCli(['--port', String(await freePort()), '--model', join(dir, 'tiny'), '--concurrency', '4'], { EDGETRON_API_KEY: '' });
  url = await server.url;
}, 120_000);

afterAll(async () => {
  await stopGroup(server?.child);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('serve --model on a non-default checkpoint', () => {
  it('loads with bounded descriptors, then answers 100 requests with them flat', async () => {
    const idle = workerdFds();
    expect(idle).toBeGreaterThan(0);
    // the first request loads the model: its shards stream once each
    const load = await watchFds(async () => (await fetch(`${url}/v1/models`)).json() as Promise<{ data: { id: string }[] }>);
    model = load.result.data[0].id;
    // wrangler's proxy holds about one socket per 4 KiB of a response in flight (measured: ~2,650
    // for a 10.8 MB shard streamed once); shards restarted over and over multiplied that
    expect(load.max - idle, `descriptors during the load: ${load.max} (idle ${idle}, ${packBytes} bytes of weights)`).toBeLessThan(packBytes / 2048 + 100);
    const settled = workerdFds();
    const rest = await watchFds(async () => {
      const answers: Awaited<ReturnType<typeof chat>>[] = [];
      for (let i = 0; i < 100; i += 4) answers.push(...(await Promise.all([0, 1, 2, 3].map((k) => chat(`Request ${i + k}`)))));
      return answers;
    });
    expect(rest.result).toHaveLength(100);
    for (const { status, body } of rest.result) {
      expect(status).toBe(200);
      expect(body.choices?.[0].message.content).toBeTypeOf('string');
      expect(body.usage?.completion_tokens).toBeGreaterThan(0);
    }
    expect(rest.max - settled, `descriptors over 100 requests: ${rest.max} (after the load ${settled})`).toBeLessThanOrEqual(30);
  }, 60_000);
});
