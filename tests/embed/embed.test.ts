// The embed script (embed/, issue 7) in headless Chromium against a real `wrangler dev`: one
// browser and one wrangler dev for the file. Host pages are served by a plain Node server on
// another port (another origin), which loads <endpoint>/embed.js and puts one
// <edgetron-chat endpoint=… mode=… backend=…> on a cross-origin-isolated page (COOP/COEP, as the
// webgpu backend needs). Requests are counted per URL (Playwright sees the engine worker's
// fetches too), which shows the lazy loading and the cache. Only "text arrives" is asserted of
// the model's output: the default model is random (and will be replaced by a trained one).
// The demo page's screenshot is saved as test-artifacts/embed-demo.png.

import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { spawnWranglerDev, type WranglerDev } from '../../cli/commands/serve.js';
import { describeWithChromium, launchChromium } from '../helpers/chromium.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const SHARD = /\/v1\/pack\/model-\d+-of-\d+\.safetensors$/;
const LAZY = /\/embed\/(engine\.js|gpu-device\.js|edgetron-(simd|scalar)\.wasm)$/;

interface Sent {
  readonly text: string;
  readonly reasoning: string;
  readonly backend: string;
  readonly finishReason: string;
  readonly tokens: number;
  readonly contentTokens: string;
}

let dev: WranglerDev;
let api: string;
let host: Server;
let hostOrigin: string;
let browser: Browser;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** The host page: one element with the attributes of the query string. */
function hostPage(query: URLSearchParams): string {
  const attrs = [...query].map(([k, v]) => `${k}="${v.replace(/"/g, '&quot;')}"`).join(' ');
  return `<!doctype html><meta charset="utf-8"><title>host</title>
<script>window.notices = []; document.addEventListener('edgetron-notice', (e) => notices.push(e.detail));</script>
<script type="module" src="${api}/embed.js"></script>
<edgetron-chat id="chat" endpoint="${api}" ${attrs}></edgetron-chat>`;
}

/** A page on the host origin with a request log. */
async function open(context: BrowserContext, attrs: Record<string, string>): Promise<{ page: Page; requests: string[] }> {
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r) => void requests.push(r.url()));
  await page.goto(`${hostOrigin}/?${new URLSearchParams(attrs)}`);
  return { page, requests };
}

/** el.ready(), then el.send(text, options) with the token events counted. */
function send(page: Page, text: string, options: Record<string, unknown>): Promise<Sent> {
  return page.evaluate(
    async ([text, options]) => {
      await customElements.whenDefined('edgetron-chat');
      const el = document.getElementById('chat') as HTMLElement & { ready(): Promise<unknown>; send(t: string, o: unknown): Promise<Omit<Sent, 'tokens' | 'contentTokens'>> };
      await el.ready();
      let tokens = 0;
      let contentTokens = '';
      el.addEventListener('edgetron-token', (e) => {
        const d = (e as CustomEvent<{ kind: string; text: string }>).detail;
        tokens++;
        if (d.kind === 'content') contentTokens += d.text;
      });
      const r = await el.send(text, options);
      return { ...r, tokens, contentTokens };
    },
    [text, options] as const,
  );
}

const statusText = (page: Page) => page.locator('edgetron-chat').locator('#status').textContent();

describeWithChromium('the embed script in headless Chromium against wrangler dev', () => {
  beforeAll(async () => {
    dev = spawnWranglerDev({ port: await freePort() });
    host = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.end(hostPage(url.searchParams));
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    [api, browser] = await Promise.all([dev.ready, launchChromium()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    host?.close();
    await dev?.stop();
  }, 30_000);

  test('local mode on WASM: a page on another origin downloads the pack with progress, runs the model in a Web Worker; a reload reads the shards from the cache', async () => {
    const context = await browser.newContext();
    try {
      const first = await open(context, { mode: 'local', backend: 'wasm' });
      const r = await send(first.page, 'Hello', { maxTokens: 24, thinking: false });
      expect(r.backend).toBe('wasm');
      expect(r.tokens).toBeGreaterThan(0);
      expect(r.text).toBe(r.contentTokens);
      expect(first.requests.filter((u) => SHARD.test(u))).toHaveLength(1);
      expect(first.requests.some((u) => u.endsWith('/embed/edgetron-simd.wasm'))).toBe(true);
      expect(first.requests.some((u) => u.endsWith('/embed/gpu-device.js'))).toBe(false);
      const progress = await first.page.locator('edgetron-chat').locator('#progress-text').textContent();
      expect(progress).toMatch(/^1\.0 MiB of 1\.0 MiB \(100%\)$/);
      expect(await statusText(first.page)).toMatch(/WASM SIMD in this tab/);

      await first.page.reload();
      const again = await send(first.page, 'Hello again', { maxTokens: 8, thinking: false });
      expect(again.backend).toBe('wasm');
      const shards = first.requests.filter((u) => SHARD.test(u));
      expect(shards).toHaveLength(1); // the reload fetched none
      expect(await first.page.locator('edgetron-chat').locator('#progress-text').textContent()).toMatch(/1\.0 MiB from the cache/);

      // a corrupt cache entry is noticed, deleted and downloaded again
      await first.page.evaluate(async () => {
        const cache = await caches.open('edgetron-shards-v1');
        for (const key of await cache.keys()) await cache.put(key, new Response(new Uint8Array(1000)));
      });
      await first.page.reload();
      const repaired = await send(first.page, 'Hello', { maxTokens: 4, thinking: false });
      expect(repaired.backend).toBe('wasm');
      expect(first.requests.filter((u) => SHARD.test(u))).toHaveLength(2);
      const notices = await first.page.evaluate(() => (window as unknown as { notices: { name: string; message: string }[] }).notices);
      expect(notices).toEqual([{ name: 'CorruptWeightsError', message: expect.stringMatching(/does not match its sha256; downloading it again/) }]);
    } finally {
      await context.close();
    }
  });

  test('local mode on WebGPU (SwiftShader): the device thread runs gpu-device.js, fetched only now', async () => {
    const context = await browser.newContext();
    try {
      const { page, requests } = await open(context, { mode: 'local', backend: 'webgpu' });
      const r = await send(page, 'Hello', { maxTokens: 12, thinking: false });
      expect(r.backend).toBe('webgpu');
      expect(r.tokens).toBeGreaterThan(0);
      expect(requests.some((u) => u.endsWith('/embed/gpu-device.js'))).toBe(true);
      expect(requests.some((u) => u.endsWith('.wasm'))).toBe(false);
    } finally {
      await context.close();
    }
  });

  test('remote mode streams tokens from the worker over SSE; nothing of the engine is loaded', async () => {
    const context = await browser.newContext();
    try {
      const { page, requests } = await open(context, { mode: 'remote' });
      const r = await send(page, 'Tell me a story', { maxTokens: 48, thinking: true, temperature: 1 });
      expect(r.backend).toBe('remote');
      expect(r.tokens).toBeGreaterThan(1);
      expect(r.text).toBe(r.contentTokens);
      expect(requests.some((u) => u === `${api}/v1/chat/completions`)).toBe(true);
      expect(requests.filter((u) => LAZY.test(u) || SHARD.test(u))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  test('stop() ends a long generation at once, locally and remotely: finishReason abort, the element idle', async () => {
    const context = await browser.newContext();
    try {
      for (const attrs of [{ mode: 'local', backend: 'wasm' }, { mode: 'remote' }]) {
        const { page } = await open(context, attrs);
        const r = await page.evaluate(async () => {
          await customElements.whenDefined('edgetron-chat');
          const el = document.getElementById('chat') as HTMLElement & { ready(): Promise<unknown>; send(t: string, o: unknown): Promise<{ finishReason: string; text: string; reasoning: string }>; stop(): void; busy: boolean };
          await el.ready();
          // a random model may end by itself within the tokens in flight: then try again
          for (let attempt = 1; ; attempt++) {
            let tokens = 0;
            let after = -1;
            const onToken = () => {
              if (++tokens === 3) {
                el.stop();
                after = tokens;
              }
            };
            el.addEventListener('edgetron-token', onToken);
            const result = await el.send('Go on and on', { maxTokens: 3000, thinking: true });
            const late = tokens;
            await new Promise((r) => setTimeout(r, 300));
            el.removeEventListener('edgetron-token', onToken);
            if (result.finishReason === 'abort' || attempt === 3) return { finishReason: result.finishReason, attempt, tokens, late, after, busy: el.busy };
          }
        });
        expect(r, JSON.stringify(r)).toMatchObject({ finishReason: 'abort' });
        expect(r.after).toBe(3);
        expect(r.tokens).toBeLessThan(40); // a few in flight at most, not 3000
        expect(r.tokens).toBe(r.late); // none after send resolved
        expect(r.busy).toBe(false);
        await page.close();
      }
    } finally {
      await context.close();
    }
  });

  test('a memory budget the model cannot fit gives a clear message before any shard is downloaded', async () => {
    const context = await browser.newContext();
    try {
      const { page, requests } = await open(context, { mode: 'local', backend: 'wasm', 'memory-budget-mb': '1' });
      const error = await page.evaluate(async () => {
        await customElements.whenDefined('edgetron-chat');
        const el = document.getElementById('chat') as HTMLElement & { ready(): Promise<unknown> };
        return el.ready().then(
          () => null,
          (e: Error) => ({ name: e.name, message: e.message }),
        );
      });
      expect(error).toEqual({ name: 'LocalMemoryError', message: expect.stringMatching(/^not enough memory to run the model in this tab: it needs about [\d.]+ MiB and the memory-budget-mb attribute allows 1\.0 MiB; use mode="remote"/) });
      expect(await statusText(page)).toBe(error!.message);
      expect(requests.filter((u) => SHARD.test(u))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  test('the demo page at / (auto mode): keyboard only, tokens stream into the log, Escape stops; screenshot mid-generation', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto(`${api}/`);
      const chat = page.locator('edgetron-chat');
      await page.evaluate(async () => {
        const el = document.getElementById('chat') as HTMLElement & { ready(): Promise<unknown> };
        await customElements.whenDefined('edgetron-chat');
        el.setAttribute('max-tokens', '3000');
        await el.ready();
      });
      await chat.locator('#input').focus();
      await page.keyboard.type('Write a long story about the edge');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => (document.getElementById('chat')!.shadowRoot!.querySelector('.turn.assistant')?.textContent ?? '').length > 20);
      const busyBefore = await page.evaluate(() => (document.getElementById('chat') as HTMLElement & { busy: boolean }).busy);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}embed-demo.png` });
      expect(busyBefore).toBe(true);
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => !(document.getElementById('chat') as HTMLElement & { busy: boolean }).busy);
      const state = await page.evaluate(() => {
        const el = document.getElementById('chat') as HTMLElement & { backend: string };
        const root = el.shadowRoot!;
        return { backend: el.backend, turns: root.querySelectorAll('.turn').length, focused: root.activeElement?.id, regenerate: (root.getElementById('regenerate') as HTMLButtonElement).disabled };
      });
      expect(state).toEqual({ backend: expect.stringMatching(/^(webgpu|wasm|wasm-scalar|remote)$/), turns: 2, focused: 'input', regenerate: false });
    } finally {
      await context.close();
    }
  });
});
