// `npm run bench:worker` (DESIGN §8): the Worker under `wrangler dev` on 127.0.0.1.
//   - time to first token from a cold isolate: the first request after wrangler is ready, which
//     also loads the pack (assets fetch, sha256, WASM instantiate, weights copy), then warm TTFT;
//   - decode throughput with 1, 4 and 16 concurrent streams (aggregate completion tokens per
//     second of wall time, and the mean per stream).
// Models: the isolate fit check (worker/fit.ts) is printed for the `small` preset in f32; it
// does not fit 128 MB (nor can its 48 MiB embedding be one ≤ 25 MiB static asset), so the
// default model is benched. `--model PATH` benches any checkpoint that packs into ≤ 24 MiB
// shards; `--isolate-limit-mb N` lifts the fit check locally (wrangler dev does not enforce
// the limit, Cloudflare does).
// Usage: node dist/bench/worker.js [--tokens N] [--model PATH] [--isolate-limit-mb N]

import { parseArgs } from 'node:util';
import { servablePack, spawnWranglerDev } from '../cli/commands/serve.js';
import { parseConfig } from '../engine/config.js';
import { expectedTensors } from '../engine/weights.js';
import { resolveModelPath } from '../weights-tools/checkpoint.js';
import { presetConfig } from '../weights-tools/presets.js';
import { assertFitsIsolate } from '../worker/fit.js';

const CONCURRENCY = [1, 4, 16] as const;
const PORT = 8790;

interface StreamResult {
  readonly ttftMs: number;
  readonly totalMs: number;
  readonly tokens: number;
}

/** One streamed chat completion; time to the first delta and completion tokens from usage. */
async function stream(url: string, maxTokens: number, seed: number): Promise<StreamResult> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'edgetron-default',
      messages: [{ role: 'user', content: 'Tell me a long story about the sea.' }],
      max_tokens: maxTokens,
      seed,
      stream: true,
      stream_options: { include_usage: true },
      stop: [],
    }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let ttftMs = -1;
  let buf = '';
  let tokens = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(6, at);
      buf = buf.slice(at + 2);
      if (event === '[DONE]') continue;
      const chunk = JSON.parse(event);
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices[0]?.delta;
      if (ttftMs < 0 && (delta?.content || delta?.reasoning_content)) ttftMs = performance.now() - t0;
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  return { ttftMs, totalMs: performance.now() - t0, tokens };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number, d = 1) => x.toFixed(d);

async function benchModel(label: string, modelDir: string, maxTokens: number, limitMb: number | null): Promise<void> {
  const { packDir, cleanup } = await servablePack(modelDir, (m) => process.stderr.write(m));
  const dev = spawnWranglerDev({
    port: PORT,
    assetsDir: packDir,
    vars: {
      EDGETRON_MODEL_PATH: '/',
      EDGETRON_CONCURRENCY: '16',
      EDGETRON_QUEUE: '16',
      EDGETRON_MAX_CONTEXT: '2048',
      ...(limitMb !== null && { EDGETRON_ISOLATE_LIMIT_MB: String(limitMb) }),
    },
  });
  try {
    const url = await dev.ready;
    const cold = await stream(url, 8, 1);
    const warm = [];
    for (let i = 0; i < 3; i++) warm.push((await stream(url, 8, i + 2)).ttftMs);
    console.log(`\n${label} — wrangler dev, WASM SIMD, ${maxTokens} tokens per stream`);
    console.log(`  time to first token: cold isolate ${fmt(cold.ttftMs)} ms (includes loading the pack), warm ${fmt(median(warm))} ms (median of 3)`);
    console.log('  | streams | aggregate tok/s | per-stream tok/s | wall s |');
    console.log('  |---|---|---|---|');
    const rows: Record<string, number>[] = [];
    for (const n of CONCURRENCY) {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: n }, (_, i) => stream(url, maxTokens, 100 + i)));
      const wallS = (performance.now() - t0) / 1000;
      const total = results.reduce((s, r) => s + r.tokens, 0);
      const perStream = results.reduce((s, r) => s + r.tokens / (r.totalMs / 1000), 0) / n;
      rows.push({ streams: n, aggregate_tok_s: total / wallS, per_stream_tok_s: perStream, wall_s: wallS });
      console.log(`  | ${n} | ${fmt(total / wallS)} | ${fmt(perStream)} | ${fmt(wallS, 2)} |`);
    }
    console.log(JSON.stringify({ model: label, cold_ttft_ms: cold.ttftMs, warm_ttft_ms: median(warm), rows }));
  } finally {
    await dev.stop();
    await cleanup();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tokens: { type: 'string', default: '128' }, model: { type: 'string' }, 'isolate-limit-mb': { type: 'string' } } });
  const maxTokens = Number(values.tokens);
  try {
    // the small preset in f32: ~132M parameters (DESIGN §4), 4 bytes each
    const small = parseConfig(presetConfig('small'));
    const weightBytes = expectedTensors(small, true).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1) * 4, 0);
    assertFitsIsolate({ source: 'small (f32)', config: small, weightBytes, maxContext: 2048, concurrency: 16 });
  } catch (e) {
    console.log(`fit check: ${(e as Error).message}`);
  }
  const dir = resolveModelPath(values.model);
  const limit = values['isolate-limit-mb'];
  await benchModel(values.model ?? 'default (tiny, f32)', dir, maxTokens, limit === undefined ? null : Number(limit));
}

await main();
