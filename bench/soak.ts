// `npm run bench:soak` (the reliability suite, docs/api.md): the Worker under `wrangler dev` with the
// default model (assets/packs/default, wrangler.toml's settings) on 127.0.0.1, sent N requests
// (default 1,000) in a mixed pattern by a few concurrent clients: /health, short chats, streams
// read to the end, streams aborted after two SSE events (a queued stream's `: queued` comments
// count), connections closed at once or after the request was sent (before the response
// headers), and hostile requests (bad JSON and fields, 404, 405, 413 with a declared and a
// chunked length, 415, path traversal).
// Printed: open file descriptors and resident set of every process of wrangler's process group
// (its node process and the workerd ones) when ready; loaded (just after a warm-up request loaded
// the model); before the run (once the descriptors the load opened have closed); after it (once
// /health shows nothing running or queued, and idle keep-alive sockets have closed); the most
// seen during it (sampled every 200 ms). Then requests by outcome and by kind, `running` and
// `queued` at the end, which must be 0, and one chat sent then, which must be served (exit
// status 1 otherwise). Every request has a deadline, and so has the run.
// Usage: node dist/bench/soak.js [--requests N] [--clients N] [--port N] [--max-seconds S] [--seed N]

import { connect } from 'node:net';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { spawnWranglerDev } from '../cli/commands/serve.js';
import { Prng } from '../engine/decode/prng.js';
import { groupProcesses, openFds, residentBytes } from './proc.js';
import { table } from './table.js';

const MODEL = 'edgetron-default';
const REQUEST_TIMEOUT_MS = 60_000;
/** Longest wait for /health to show no generation running or queued after the last request. */
const SETTLE_TIMEOUT_MS = 45_000;
/** Idle keep-alive sockets of the client close after 4 s (undici's default). */
const KEEP_ALIVE_CLOSE_MS = 5_000;

type Kind = 'health' | 'chat' | 'stream' | 'stream aborted' | 'connect-close' | 'close before headers' | 'hostile';
/** Share of each kind in the mix. */
const MIX: readonly [Kind, number][] = [
  ['health', 0.15],
  ['chat', 0.2],
  ['stream', 0.15],
  ['stream aborted', 0.1],
  ['connect-close', 0.05],
  ['close before headers', 0.05],
  ['hostile', 0.3],
];

const chatBody = (seed: number, extra: Record<string, unknown>) => JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Tell me about the sea.' }], seed, ...extra });

/** A hostile request: method, path, content type and body (a stream is sent chunked). */
interface Hostile {
  readonly method: string;
  readonly path: string;
  readonly type?: string;
  readonly body?: string | (() => ReadableStream<Uint8Array>);
}

/** 1.5 MiB sent in 64 KiB chunks without a Content-Length. */
const chunkedOversize = () => {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (sent >= 1.5 * 2 ** 20) return ctl.close();
      ctl.enqueue(new Uint8Array(2 ** 16).fill(0x20));
      sent += 2 ** 16;
    },
  });
};

const HOSTILE: readonly Hostile[] = [
  { method: 'POST', path: '/v1/chat/completions', body: '{"model": "edgetron-default", "messages": [' },
  { method: 'POST', path: '/v1/chat/completions', body: chatBody(1, { model: 'gpt-4o' }) },
  { method: 'POST', path: '/v1/chat/completions', body: chatBody(1, { max_tokens: 1e12 }) },
  { method: 'POST', path: '/v1/chat/completions', body: chatBody(1, { stream: true, stream_options: 'x' }) },
  { method: 'POST', path: '/v1/chat/completions', body: chatBody(1, { tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] }) },
  { method: 'POST', path: '/v1/chat/completions', type: 'text/plain', body: chatBody(1, {}) },
  { method: 'POST', path: '/v1/chat/completions', body: chatBody(1, { pad: 'x'.repeat(2 ** 20) }) },
  { method: 'POST', path: '/v1/chat/completions', body: chunkedOversize },
  { method: 'POST', path: '/v1/embeddings', body: JSON.stringify({ input: [] }) },
  { method: 'GET', path: '/v1/chat/completions' },
  { method: 'GET', path: '/v1/engines' },
  { method: 'GET', path: '/v1/pack/%2e%2e%2f%2e%2e%2fwrangler.toml' },
];

/** The N requests: each kind's share of N, shuffled (Fisher–Yates, seeded: every run sends the same sequence). */
function schedule(n: number, seed: number): Kind[] {
  const kinds: Kind[] = [];
  MIX.forEach(([kind, share], i) => kinds.push(...Array<Kind>(i === MIX.length - 1 ? n - kinds.length : Math.round(share * n)).fill(kind)));
  const random = new Prng(seed, 'soak');
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = random.nextU32() % (i + 1);
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  return kinds;
}

/** What one request came to: an HTTP status, or how it ended without one. */
type Outcome = string;

/** Read an SSE body to its end; a body that ends without `[DONE]` is reported as such. */
async function drainStream(res: Response, abortAfter: number | null, abort: AbortController): Promise<Outcome> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (abortAfter !== null && text.split('\n\n').length - 1 >= abortAfter) {
      abort.abort();
      return `${res.status} aborted`;
    }
  }
  return text.endsWith('data: [DONE]\n\n') ? String(res.status) : `${res.status} without [DONE]`;
}

/** Open a TCP connection and close it; with `request`, after writing it (before the response headers). */
function rawClose(port: number, request: string | null): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      if (request === null) return socket.destroy();
      socket.write(request, () => setTimeout(() => socket.destroy(), 20));
    });
    socket.on('close', () => resolve('closed by client'));
    socket.on('error', () => resolve('connect error'));
  });
}

async function send(base: string, port: number, kind: Kind, i: number): Promise<Outcome> {
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, REQUEST_TIMEOUT_MS);
  const { signal } = abort;
  const post = (body: string) => fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
  try {
    switch (kind) {
      case 'health': {
        const res = await fetch(`${base}/health`, { signal });
        await res.arrayBuffer();
        return String(res.status);
      }
      case 'chat': {
        const res = await post(chatBody(i, { max_tokens: 8 }));
        await res.arrayBuffer();
        return String(res.status);
      }
      case 'stream':
      case 'stream aborted': {
        const aborted = kind === 'stream aborted';
        const res = await post(chatBody(i, { max_tokens: aborted ? 400 : 32, stream: true, stream_options: { include_usage: true } }));
        if (!res.ok) return (await res.arrayBuffer(), String(res.status));
        return await drainStream(res, aborted ? 2 : null, abort);
      }
      case 'connect-close':
        return await rawClose(port, null);
      case 'close before headers': {
        const body = chatBody(i, { max_tokens: 64 });
        return await rawClose(port, `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      case 'hostile': {
        const h = HOSTILE[i % HOSTILE.length];
        const body = typeof h.body === 'function' ? h.body() : h.body;
        const init = { method: h.method, headers: { 'content-type': h.type ?? 'application/json' }, body, signal, ...(typeof h.body === 'function' && { duplex: 'half' }) };
        const res = await fetch(`${base}${h.path}`, init as RequestInit);
        await res.arrayBuffer();
        return String(res.status);
      }
    }
  } catch (err) {
    if (timedOut) return 'timed out';
    return `error: ${(err as Error).cause ? String((err as Error & { cause: Error }).cause.message) : (err as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

/** Descriptors and resident set of each process of the group, by pid. */
type Snapshot = Map<number, { name: string; fds: number; rss: number }>;

function snapshot(group: number): Snapshot {
  const out: Snapshot = new Map();
  for (const { pid, name } of groupProcesses(group)) {
    try {
      out.set(pid, { name, fds: openFds(pid), rss: residentBytes(pid).rss });
    } catch {
      // the process went away
    }
  }
  return out;
}

const sumOf = (s: Snapshot, key: 'fds' | 'rss') => [...s.values()].reduce((t, p) => t + p[key], 0);
const mib = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? '-' : (bytes / 2 ** 20).toFixed(1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The group once its descriptor count has held still for 2 s (at most 60 s): loading the pack
 * opens descriptors that close over tens of seconds, and the run starts from a quiet server.
 */
async function quiet(group: number): Promise<Snapshot> {
  const t0 = performance.now();
  let last = snapshot(group);
  let stillSince = performance.now();
  while (performance.now() - stillSince < 2000 && performance.now() - t0 < 60_000) {
    await sleep(250);
    const now = snapshot(group);
    if (sumOf(now, 'fds') !== sumOf(last, 'fds')) stillSince = performance.now();
    last = now;
  }
  return last;
}

/** Each distinct value and how often it occurs, most frequent first. */
function tally(values: readonly string[]): [string, number][] {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]);
}

async function health(base: string): Promise<{ running: number; queued: number }> {
  return (await (await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) })).json()) as { running: number; queued: number };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '1000' }, clients: { type: 'string', default: '8' }, port: { type: 'string', default: '8791' }, 'max-seconds': { type: 'string', default: '600' }, seed: { type: 'string', default: '1' } },
  });
  const n = Number(values.requests);
  const clients = Number(values.clients);
  const port = Number(values.port);
  const maxMs = Number(values['max-seconds']) * 1000;
  const kinds = schedule(n, Number(values.seed));

  let log = '';
  const dev = spawnWranglerDev({ port, log: (chunk) => void (log = (log + chunk).slice(-20_000)) });
  try {
    const base = await dev.ready;
    const group = dev.child.pid!;
    const ready = snapshot(group);
    // the first generation loads the pack into the isolate: measure from after it
    const warm = await send(base, port, 'chat', 0);
    if (warm !== '200') throw new Error(`warm-up request answered ${warm}:\n${log.slice(-2000)}`);
    const loaded = snapshot(group);
    const before = await quiet(group);
    const max: Snapshot = new Map();
    let maxTotal = { fds: sumOf(before, 'fds'), rss: sumOf(before, 'rss') };
    const sample = () => {
      const s = snapshot(group);
      for (const [pid, p] of s) {
        const m = max.get(pid);
        max.set(pid, { name: p.name, fds: Math.max(m?.fds ?? 0, p.fds), rss: Math.max(m?.rss ?? 0, p.rss) });
      }
      maxTotal = { fds: Math.max(maxTotal.fds, sumOf(s, 'fds')), rss: Math.max(maxTotal.rss, sumOf(s, 'rss')) };
    };
    sample();
    const sampler = setInterval(sample, 200);

    const t0 = performance.now();
    const outcomes: { kind: Kind; outcome: Outcome; ms: number }[] = [];
    let next = 0;
    let skipped = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = next++; i < kinds.length; i = next++) {
          if (performance.now() - t0 > maxMs) {
            skipped++;
            continue;
          }
          const start = performance.now();
          const outcome = await send(base, port, kinds[i], i + 1);
          outcomes.push({ kind: kinds[i], outcome, ms: performance.now() - start });
          if (outcomes.length % 100 === 0) process.stderr.write(`${outcomes.length}/${n} requests in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
        }
      }),
    );
    const runS = (performance.now() - t0) / 1000;

    // the end state: nothing running or queued (polled), then idle sockets closed
    const settle0 = performance.now();
    let end = await health(base);
    while ((end.running !== 0 || end.queued !== 0) && performance.now() - settle0 < SETTLE_TIMEOUT_MS) {
      await sleep(250);
      end = await health(base);
    }
    const settleS = (performance.now() - settle0) / 1000;
    const chat0 = performance.now();
    const chatAfter = await send(base, port, 'chat', n + 1);
    const chatAfterMs = performance.now() - chat0;
    await sleep(KEEP_ALIVE_CLOSE_MS);
    clearInterval(sampler);
    sample();
    const after = snapshot(group);

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(`\nSoak: ${outcomes.length} requests (${skipped} skipped at the ${maxMs / 1000} s limit) from ${clients} clients in ${runS.toFixed(1)} s, ${new Date().toISOString()}`);
    console.log(`machine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB; load average at the end ${loadavg()[0].toFixed(2)}`);
    const snaps = [ready, loaded, before, after];
    const pids = [...new Set([...snaps, max].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
    const name = (pid: number) => [...snaps, max].find((m) => m.has(pid))!.get(pid)!.name;
    table(
      'Processes of wrangler dev (fds: /proc/<pid>/fd entries; RSS: VmRSS, MiB): ready, loaded (just after the warm-up request), before and after the run, max during it',
      ['process', 'pid', ...['fds', 'RSS'].flatMap((m) => ['ready', 'loaded', 'before', 'after', 'max'].map((w) => `${m} ${w}`))],
      [
        ...pids.map((pid) => [name(pid), String(pid), ...[...snaps, max].map((m) => String(m.get(pid)?.fds ?? '-')), ...[...snaps, max].map((m) => mib(m.get(pid)?.rss))]),
        ['all', '', ...snaps.map((m) => String(sumOf(m, 'fds'))), String(maxTotal.fds), ...snaps.map((m) => mib(sumOf(m, 'rss'))), mib(maxTotal.rss)],
      ],
    );
    table('Requests by outcome (HTTP status, or how the client ended it)', ['outcome', 'requests'], tally(outcomes.map((o) => o.outcome)).map(([k, v]) => [k, String(v)]));
    const byKind = MIX.map(([kind]) => {
      const of = outcomes.filter((o) => o.kind === kind);
      const ms = of.map((o) => o.ms).sort((a, b) => a - b);
      const outs = tally(of.map((o) => o.outcome));
      return [kind, String(of.length), outs.map(([k, v]) => `${k} × ${v}`).join(', '), ms.length ? ms[Math.floor(ms.length / 2)].toFixed(0) : '-', ms.length ? ms[ms.length - 1].toFixed(0) : '-'];
    });
    table('Requests by kind', ['kind', 'requests', 'outcomes', 'median ms', 'max ms'], byKind);
    const ok = end.running === 0 && end.queued === 0 && chatAfter === '200';
    console.log(`\nat the end: running ${end.running}, queued ${end.queued} (${settleS.toFixed(1)} s after the last request); a chat sent then: ${chatAfter} in ${chatAfterMs.toFixed(0)} ms: ${ok ? 'OK' : 'FAILED'}`);
    console.log(
      JSON.stringify({
        requests: outcomes.length,
        skipped,
        run_s: runS,
        fds: { ready: sumOf(ready, 'fds'), loaded: sumOf(loaded, 'fds'), before: sumOf(before, 'fds'), after: sumOf(after, 'fds'), max: maxTotal.fds },
        rss: { ready: sumOf(ready, 'rss'), loaded: sumOf(loaded, 'rss'), before: sumOf(before, 'rss'), after: sumOf(after, 'rss'), max: maxTotal.rss },
        outcomes: Object.fromEntries(tally(outcomes.map((o) => o.outcome))),
        running: end.running,
        queued: end.queued,
        settle_s: settleS,
        chat_after: chatAfter,
        chat_after_ms: chatAfterMs,
      }),
    );
    if (!ok) process.exitCode = 1;
  } finally {
    await dev.stop();
  }
}

await main();
