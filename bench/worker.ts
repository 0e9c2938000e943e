// `npm run bench:worker` (DESIGN §8): the Worker under `wrangler dev` on 127.0.0.1.
//   - time to first token from a cold isolate: the first request after wrangler is ready, which
//     also loads the pack (shards streamed from the assets binding into WASM memory, sha256,
//     WASM instantiate), then warm TTFT;
//   - decode throughput with 1, 4 and 16 concurrent client streams (aggregate completion tokens
//     per second of wall time, and the mean per stream); the Worker runs `--concurrency` of them
//     at once (EDGETRON_CONCURRENCY) and queues the rest;
//   - CPU seconds of the workerd processes (wall times stretch with the machine's load);
//   - memory: each workerd process's resident set (VmRSS when ready and after the cold load,
//     VmHWM = its peak at the end; wrangler does not report isolate memory) beside the Worker's
//     own fit estimate (serve/fit.ts).
// Model: by default the `small` preset (seed 1) as a 4-bit pack, nvfp4 on every linear, the
// embedding and lm_head included (~72 MiB, 3 shards ≤ 24 MiB), built once into the temp folder;
// `--model PATH` benches any checkpoint (packed first when it is not an edge pack).
// Usage: node dist/bench/worker.js [--tokens N] [--concurrency N] [--model PATH] [--isolate-limit-mb N]

import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { servablePack, spawnWranglerDev } from '../cli/commands/serve.js';
import { parseConfig } from '../engine/core/config.js';
import { parseConfigJson } from '../engine/formats/config-json.js';
import { convertCheckpoint } from '../weights-tools/convert.js';
import { resolveModelPath } from '../weights-tools/checkpoint.js';
import { synthesize } from '../weights-tools/synth.js';
import { ISOLATE_LIMIT_BYTES, assertFitsIsolate } from '../serve/fit.js';
import { cpuSeconds, groupProcesses, residentBytes } from './proc.js';

const STREAMS = [1, 4, 16] as const;
const PORT = 8790;
const MAX_CONTEXT = 2048;

interface StreamResult {
  readonly ttftMs: number;
  readonly totalMs: number;
  readonly tokens: number;
}

/** One streamed chat completion; time to the first token and completion tokens from usage. */
async function stream(url: string, maxTokens: number, seed: number): Promise<StreamResult> {
  const t0 = performance.now();
  const body = {
    model: 'edgetron-default',
    messages: [{ role: 'user', content: 'Tell me a long story about the sea.' }],
    max_tokens: maxTokens,
    seed,
    stream: true,
    stream_options: { include_usage: true },
    stop: [],
  };
  let ttftMs = -1;
  let buf = '';
  let tokens = 0;
  // (fetch waits at most 300 s for headers: a queued request gets them when its slot frees)
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
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
      // the first event after the role chunk: a token's text, or the finish chunk when the
      // detokenizer still holds it (random weights write many partial UTF-8 characters)
      if (ttftMs < 0 && !chunk.choices[0]?.delta?.role) ttftMs = performance.now() - t0;
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  return { ttftMs, totalMs: performance.now() - t0, tokens };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number, d = 1) => x.toFixed(d);
const mib = (bytes: number) => `${fmt(bytes / 2 ** 20)} MiB`;

/** The default model: the small preset as a 4-bit edge pack, built once. */
async function smallNvfp4Pack(): Promise<string> {
  const root = join(tmpdir(), 'edgetron-bench-worker');
  const pack = join(root, 'small-nvfp4-all');
  if (existsSync(join(pack, 'model.safetensors.index.json'))) return pack;
  process.stderr.write(`building ${pack} (synth small, convert --quant nvfp4 --policy all-linear --quant-head --quant-embedding)\n`);
  await synthesize({ preset: 'small', seed: 1, out: join(root, 'small-f32'), dtype: 'f32' });
  await convertCheckpoint(join(root, 'small-f32'), pack, { quant: 'nvfp4', policy: 'all-linear', quantizeHead: true, quantizeEmbedding: true });
  await rm(join(root, 'small-f32'), { recursive: true, force: true });
  return pack;
}

async function benchModel(label: string, modelDir: string, maxTokens: number, concurrency: number, limitMb: number | null): Promise<void> {
  const { packDir, cleanup } = await servablePack(modelDir, (m) => process.stderr.write(m));
  const config = parseConfig(parseConfigJson(readFileSync(join(packDir, 'config.json'), 'utf8'), join(packDir, 'config.json')));
  const index = JSON.parse(readFileSync(join(packDir, 'model.safetensors.index.json'), 'utf8'));
  const weightBytes = Number(index.metadata.total_size);
  const need = assertFitsIsolate({ source: label, config, weightBytes, maxContext: MAX_CONTEXT, concurrency, limitBytes: Infinity });
  const estimate = `${mib(need)} (${need <= ISOLATE_LIMIT_BYTES ? 'fits' : 'does not fit'} the ${mib(ISOLATE_LIMIT_BYTES)} isolate)`;
  const dev = spawnWranglerDev({
    port: PORT,
    assetsDir: packDir,
    vars: {
      EDGETRON_MODEL_PATH: '/',
      EDGETRON_CONCURRENCY: String(concurrency),
      EDGETRON_QUEUE: '16',
      EDGETRON_MAX_CONTEXT: String(MAX_CONTEXT),
      ...(limitMb !== null && { EDGETRON_ISOLATE_LIMIT_MB: String(limitMb) }),
    },
  });
  try {
    const url = await dev.ready;
    // wrangler dev runs two workerd processes (the Worker's isolate, and miniflare's services
    // with the static assets); the Worker's is the one that works while tokens are generated
    const pids = groupProcesses(dev.child.pid!).filter((p) => p.name === 'workerd').map((p) => p.pid);
    const cpuAll = () => new Map(pids.map((p) => [p, cpuSeconds(p)]));
    const idle = new Map(pids.map((p) => [p, residentBytes(p)]));
    const cpu0 = cpuAll();
    const cold = await stream(url, 1, 1);
    const cpu1 = cpuAll();
    const loaded = new Map(pids.map((p) => [p, residentBytes(p)]));
    const warm = [];
    for (let i = 0; i < 3; i++) warm.push((await stream(url, 1, i + 2)).ttftMs);
    console.log(`\n${label} — wrangler dev, WASM SIMD, ${maxTokens} tokens per stream, ${concurrency} generations at once (the rest queue)`);
    console.log(`  weights ${mib(weightBytes)}; the Worker's fit estimate for ${concurrency} × ${MAX_CONTEXT} tokens: ${estimate}`);
    console.log(`  time to first token: cold isolate ${fmt(cold.ttftMs)} ms (includes loading the pack), warm ${fmt(median(warm))} ms (median of 3)`);
    console.log(`  machine load average when done: ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores (wall times stretch with it; tok per workerd CPU-s does not)`);
    console.log('  | streams | aggregate tok/s | per-stream tok/s | wall s | workerd CPU s | tok per CPU-s |');
    console.log('  |---|---|---|---|---|---|');
    const rows: Record<string, number>[] = [];
    const generationCpu = new Map<number, number>();
    for (const n of STREAMS) {
      const t0 = performance.now();
      const c0 = cpuAll();
      const results = await Promise.all(Array.from({ length: n }, (_, i) => stream(url, maxTokens, 100 + i)));
      const wallS = (performance.now() - t0) / 1000;
      const c1 = cpuAll();
      const cpuS = pids.reduce((sum, p) => sum + c1.get(p)! - c0.get(p)!, 0);
      for (const p of pids) generationCpu.set(p, (generationCpu.get(p) ?? 0) + c1.get(p)! - c0.get(p)!);
      const total = results.reduce((s, r) => s + r.tokens, 0);
      const perStream = results.reduce((s, r) => s + r.tokens / (r.totalMs / 1000), 0) / n;
      rows.push({ streams: n, aggregate_tok_s: total / wallS, per_stream_tok_s: perStream, wall_s: wallS, cpu_s: cpuS, tok_per_cpu_s: total / cpuS });
      console.log(`  | ${n} | ${fmt(total / wallS)} | ${fmt(perStream)} | ${fmt(wallS, 2)} | ${fmt(cpuS, 2)} | ${fmt(total / cpuS)} |`);
    }
    const worker = [...generationCpu].sort((a, b) => b[1] - a[1])[0]?.[0];
    const memory: Record<string, number> = {};
    for (const p of pids) {
      const role = p === worker ? 'worker isolate' : 'miniflare services';
      const end = residentBytes(p);
      console.log(`  workerd (${role}) resident set: ${mib(idle.get(p)!.rss)} ready, ${mib(loaded.get(p)!.rss)} after the cold load, peak ${mib(end.peak)}; CPU ${fmt(cpu1.get(p)! - cpu0.get(p)!, 2)} s for the cold request`);
      if (p === worker) Object.assign(memory, { worker_rss_ready: idle.get(p)!.rss, worker_rss_loaded: loaded.get(p)!.rss, worker_rss_peak: end.peak, cold_cpu_s: cpu1.get(p)! - cpu0.get(p)! });
    }
    console.log(JSON.stringify({ model: label, weight_bytes: weightBytes, cold_ttft_ms: cold.ttftMs, warm_ttft_ms: median(warm), rows, ...memory }));
  } finally {
    await dev.stop();
    await cleanup();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { tokens: { type: 'string', default: '128' }, concurrency: { type: 'string', default: '4' }, model: { type: 'string' }, 'isolate-limit-mb': { type: 'string' } },
  });
  const dir = values.model ? resolveModelPath(values.model) : await smallNvfp4Pack();
  const limit = values['isolate-limit-mb'];
  await benchModel(values.model ?? 'small (nvfp4: all linears, embedding, head)', dir, Number(values.tokens), Number(values.concurrency), limit === undefined ? null : Number(limit));
}

await main();
