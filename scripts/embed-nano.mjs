// The embed's local mode (docs/embed.md, "Nano 4B in the page") on a big edge pack: serves the
// built embed files (assets/, scripts/build-embed.mjs) and a pack folder from one local origin
// with COOP/COEP (a cross-origin-isolated page: SharedArrayBuffer, so kernel threads), opens a
// page holding <edgetron-chat mode="local" backend="wasm" threads="auto" model="/pack/"> in
// headless Debian chromium (playwright-core), waits for the model, then times whole answers to
// one user message (el.send, then el.regenerate, which answers the same prompt again):
//   1 token    t₁ = prefill of the P prompt tokens (the first one, cold, is reported apart)
//   1+N tokens t₂ = prefill + N decode steps
// in `--rounds` interleaved rounds, and prints one JSON line: load_s (navigation →
// edgetron-ready: download, sha256, Cache API, weights into WASM), prefill tok/s = P / median t₁,
// decode tok/s = N / (median t₂ − median t₁). Timing answers of a fixed length (finish_reason
// "length") does not depend on how many token events the text gives (a random model's tokens
// mostly decode to nothing). --reload loads the page again and times the load from the Cache API.
// Not part of `npm test` (it needs a pack of gigabytes, e.g. the Nano 4B all-4-bit one).
//   node scripts/embed-nano.mjs PACK_DIR [--tokens 16] [--rounds 3] [--threads auto]
//     [--prompt TEXT] [--memory-budget-mb MB] [--reload] [--timeout-s 1800]

import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const ASSETS = join(ROOT, 'assets');
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.safetensors': 'application/octet-stream' };
/** A short prompt: on a loaded machine a long prefill's jitter would swamp the decode steps. */
const PROMPT = 'Hello';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tokens: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: 'auto' },
    prompt: { type: 'string', default: PROMPT },
    'memory-budget-mb': { type: 'string' },
    reload: { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '1800' },
  },
});
const packDir = positionals[0];
if (!packDir || !existsSync(join(packDir, 'model.safetensors.index.json'))) {
  console.error('usage: node scripts/embed-nano.mjs PACK_DIR [--tokens 16] [--rounds 3] [--threads auto] [--prompt TEXT] [--memory-budget-mb MB] [--reload] [--timeout-s 1800]\n(PACK_DIR: an edge pack folder with model.safetensors.index.json)');
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing; run scripts/install-system-deps.sh`);
  process.exit(2);
}
const decodeSteps = Number(values.tokens);
const rounds = Number(values.rounds);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const log = (m) => console.error(`[embed-nano] ${m}`);

// the embed bundle as `npm run build` left it; built only when missing
if (!['embed.js', 'embed/engine.js', 'embed/kernel-thread.js', 'embed/edgetron-relaxed-mt.wasm'].every((f) => existsSync(join(ASSETS, f)))) {
  log('the embed bundle is missing: npm run build:embed');
  if (spawnSync('npm', ['run', 'build:embed'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);
}

// prompt tokens (P) with the pack's own tokenizer and template, from the built TextCodec (dist/)
let promptTokens = null;
try {
  const { TextCodec } = await import(new URL('../dist/engine/text/text.js', import.meta.url).href);
  const json = (f) => JSON.parse(readFileSync(join(packDir, f), 'utf8'));
  const config = existsSync(join(packDir, 'tokenizer_config.json')) ? json('tokenizer_config.json') : {};
  promptTokens = TextCodec.fromJson(json('tokenizer.json'), config, packDir).encodeChat([{ role: 'user', content: values.prompt }], { enableThinking: false }).length;
} catch (e) {
  log(`prompt tokens unknown (${e.message}); run npm run build:ts`);
}
const packBytes = readdirSync(packDir).filter((f) => f.endsWith('.safetensors')).reduce((s, f) => s + statSync(join(packDir, f)).size, 0);

const attrs = { mode: 'local', backend: 'wasm', threads: values.threads, model: '/pack/', thinking: 'off', ...(values['memory-budget-mb'] && { 'memory-budget-mb': values['memory-budget-mb'] }) };
const PAGE = `<!doctype html><meta charset="utf-8"><title>embed-nano</title>
<script>
window.run = { progress: null, downloadedAt: null, readyAt: null, ready: null, notices: [], errors: [] };
let shown = -1;
document.addEventListener('edgetron-progress', (e) => {
  const p = e.detail, pct = p.total ? Math.floor((100 * p.loaded) / p.total) : 100;
  run.progress = p;
  if (p.loaded === p.total && run.downloadedAt === null) run.downloadedAt = performance.now();
  if (pct >= shown + 10 || pct === 100 && shown < 100) { shown = pct; console.log('progress ' + pct + '% (' + (p.loaded / 2 ** 20).toFixed(0) + ' MiB, ' + (p.cached / 2 ** 20).toFixed(0) + ' MiB cached)'); }
});
document.addEventListener('edgetron-ready', (e) => { run.readyAt = performance.now(); run.ready = e.detail; });
document.addEventListener('edgetron-notice', (e) => { run.notices.push(e.detail); console.log('notice ' + e.detail.name + ': ' + e.detail.message); });
document.addEventListener('edgetron-error', (e) => { run.errors.push(e.detail); console.log('error ' + e.detail.name + ': ' + e.detail.message); });
</script>
<script type="module" src="/embed.js"></script>
<edgetron-chat id="chat" ${Object.entries(attrs).map(([k, v]) => `${k}="${String(v).replace(/"/g, '&quot;')}"`).join(' ')}></edgetron-chat>`;

// one origin for the page, the embed files and the pack; cross-origin isolated (COOP/COEP)
const served = { packBytes: 0 };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin', 'cache-control': 'no-store' };
  if (path === '/') return void res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end(PAGE);
  if (path === '/favicon.ico') return void res.writeHead(204, headers).end();
  let file = null;
  if (path === '/embed.js' || /^\/embed\/[\w.-]+$/.test(path)) file = join(ASSETS, path);
  else if (/^\/pack\/[\w.-]+$/.test(path)) file = join(packDir, basename(path));
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    log(`404 ${path}`);
    return void res.writeHead(404, headers).end();
  }
  const size = statSync(file).size;
  res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size });
  if (path.startsWith('/pack/')) served.packBytes += size;
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

// resident memory of chromium (every process under this one), sampled each second
const descendants = (pid) => {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry), ...descendants(Number(entry)));
    } catch {
      // the process went away
    }
  }
  return out;
};
let peakRss = 0;
const sampler = setInterval(() => {
  let rss = 0;
  for (const pid of descendants(process.pid)) {
    try {
      rss += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // the process went away
    }
  }
  peakRss = Math.max(peakRss, rss);
}, 1000);

// a persistent profile, so the Cache API keeps the shards on disk (as a browser does)
const profile = mkdtempSync(join(tmpdir(), 'embed-nano-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true });
const timeout = Number(values['timeout-s']) * 1000;
const version = context.browser()?.version() ?? spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).stdout.trim();
const result = { pack: packDir, pack_mib: +(packBytes / 2 ** 20).toFixed(1), chromium: version, origin };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => log(`page: ${m.text()}`));
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  page.on('worker', (w) => w.on('console', (m) => log(`worker: ${m.text()}`)));

  // load: navigation → edgetron-ready (el.ready() resolves or rejects)
  const load = async () => {
    await page.goto(`${origin}/`);
    const ready = await page.evaluate(async () => {
      await customElements.whenDefined('edgetron-chat');
      const el = document.getElementById('chat');
      return el.ready().then(
        () => ({ ok: true, backend: el.backend, threads: el.threads }),
        (e) => ({ ok: false, name: e.name, message: e.message }),
      );
    });
    const run = await page.evaluate(() => ({ ...window.run, cores: navigator.hardwareConcurrency, deviceMemory: navigator.deviceMemory ?? null, isolated: crossOriginIsolated }));
    if (!ready.ok) throw Object.assign(new Error(`the model did not load: ${ready.name}: ${ready.message}`), { run });
    return { ready, run };
  };
  // one answer of `maxTokens` to the element's last user message (send the first time)
  const answer = (maxTokens, first) =>
    page.evaluate(
      async ([text, maxTokens, first]) => {
        const el = document.getElementById('chat');
        const options = { maxTokens, thinking: false, temperature: 0 };
        const t = performance.now();
        const r = first ? await el.send(text, options) : await el.regenerate(options);
        return { s: (performance.now() - t) / 1000, finishReason: r.finishReason, text: r.text };
      },
      [values.prompt, maxTokens, first],
    );
  const within = (p, what) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no result in ${values['timeout-s']} s`)), timeout).unref())]);

  log(`${origin}: loading ${packDir} (${result.pack_mib} MiB) in ${version}, threads=${values.threads}`);
  const first = await within(load(), 'load');
  Object.assign(result, {
    backend: first.ready.backend,
    threads: first.ready.threads,
    cores: first.run.cores,
    device_memory_gb: first.run.deviceMemory,
    cross_origin_isolated: first.run.isolated,
    status: first.run.ready?.reason ?? null,
    load_s: +(first.run.readyAt / 1000).toFixed(2),
    download_s: first.run.downloadedAt === null ? null : +(first.run.downloadedAt / 1000).toFixed(2),
    notices: first.run.notices.map((n) => `${n.name}: ${n.message}`),
  });
  log(`ready in ${result.load_s} s on ${result.backend}, ${result.threads} threads; answering`);

  const cold = await within(answer(1, true), 'first answer');
  const short = [];
  const long = [];
  for (let i = 0; i < rounds; i++) {
    long.push(await within(answer(1 + decodeSteps, false), 'answer'));
    short.push(await within(answer(1, false), 'answer'));
    log(`round ${i + 1}: ${1 + decodeSteps} tokens in ${long.at(-1).s.toFixed(2)} s, 1 token in ${short.at(-1).s.toFixed(2)} s`);
  }
  const t1 = median(short.map((a) => a.s));
  const t2 = median(long.map((a) => a.s));
  Object.assign(result, {
    prompt_tokens: promptTokens,
    first_answer_s: +cold.s.toFixed(2),
    prefill_s: +t1.toFixed(2),
    prefill_tok_s: promptTokens === null ? null : +(promptTokens / t1).toFixed(2),
    decode_tokens: decodeSteps,
    decode_s: +(t2 - t1).toFixed(2),
    decode_tok_s: t2 > t1 ? +(decodeSteps / (t2 - t1)).toFixed(3) : null, // null: lost in the noise (a tiny model)
    rounds_s: long.map((a, i) => [+a.s.toFixed(2), +short[i].s.toFixed(2)]),
    finish_reason: long.at(-1).finishReason,
    text: long.at(-1).text,
  });
  if (long.some((a) => a.finishReason !== 'length')) log(`a ${1 + decodeSteps}-token answer ended before its length, so it decoded fewer tokens: decode tok/s is low`);

  if (values.reload) {
    log('reloading: the shards come from the Cache API');
    const again = await within(load(), 'reload');
    Object.assign(result, { reload_load_s: +(again.run.readyAt / 1000).toFixed(2), reload_cached_mib: +((again.run.progress?.cached ?? 0) / 2 ** 20).toFixed(1) });
  }
} catch (e) {
  result.error = e.message;
  if (e.run) Object.assign(result, { notices: e.run.notices, errors: e.run.errors, progress: e.run.progress });
  process.exitCode = 1;
} finally {
  clearInterval(sampler);
  result.pack_bytes_served_mib = +(served.packBytes / 2 ** 20).toFixed(1);
  result.peak_chromium_rss_mib = +(peakRss / 2 ** 20).toFixed(0);
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
