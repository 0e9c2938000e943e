// The embed script (embed/, docs/embed.md) in headless Chromium against a real `wrangler dev`: one
// browser and one wrangler dev for the file. Host pages are on another origin (harness.ts: a
// Node server on another port that loads <api>/embed.js). Requests are counted per URL, which
// shows the lazy loading and the cache. Only "text arrives" is asserted of
// the model's output: the default model is random (and will be replaced by a trained one).
// The demo page's screenshot is saved as test-artifacts/embed-demo.png. The CORS allow-list, a
// corrupt cache entry and the memory message are in guards.slow.test.ts.

import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeWithChromium } from '../helpers/chromium.js';
import { SHARD, send, startRig, statusText, type EmbedRig, type HostSite } from './harness.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** Fixed sampling seeds make the answers repeatable (only "text arrives" is asserted of them). */
const SEED = 1;
const LAZY = /\/embed\/(engine\.js|gpu-device\.js|kernel-thread\.js|edgetron-(relaxed|relaxed-mt|simd|scalar)\.wasm)$/;

let rig: EmbedRig;
let api: string;
let site: HostSite;
let browser: Browser;

describeWithChromium('the embed script in headless Chromium against wrangler dev', () => {
  beforeAll(async () => {
    rig = await startRig(1);
    ({ api, browser } = rig);
    [site] = rig.sites;
  }, 120_000);

  afterAll(() => rig?.stop(), 30_000);

  test('local mode on WASM: a page on another origin downloads the pack with progress, runs the model in a Web Worker; a reload reads the shards from the cache', async () => {
    const context = await browser.newContext();
    try {
      const first = await site.open(context, { mode: 'local', backend: 'wasm' });
      const r = await send(first.page, 'Hello', { maxTokens: 24, thinking: false, seed: SEED });
      expect(r.backend).toBe('wasm');
      expect(r.tokens).toBeGreaterThan(0);
      expect(r.text).toBe(r.contentTokens);
      expect(first.requests.filter((u) => SHARD.test(u))).toHaveLength(1);
      expect(first.requests.some((u) => u.endsWith('/embed/edgetron-relaxed.wasm'))).toBe(true); // Chromium runs relaxed SIMD
      expect(first.requests.some((u) => u.endsWith('/embed/edgetron-simd.wasm'))).toBe(false);
      expect(first.requests.some((u) => u.endsWith('/embed/gpu-device.js'))).toBe(false);
      expect(first.requests.some((u) => u.endsWith('/embed/edgetron-relaxed-mt.wasm') || u.endsWith('/embed/kernel-thread.js'))).toBe(false); // threads="auto": one thread for a pack this small
      const progress = await first.page.locator('edgetron-chat').locator('#progress-text').textContent();
      expect(progress).toMatch(/^([\d.]+) MiB of \1 MiB \(100%\)$/);
      expect(await statusText(first.page)).toMatch(/WASM SIMD in this tab/);

      await first.page.reload();
      const again = await send(first.page, 'Hello again', { maxTokens: 8, thinking: false });
      expect(again.backend).toBe('wasm');
      const shards = first.requests.filter((u) => SHARD.test(u));
      expect(shards).toHaveLength(1); // the reload fetched none
      expect(await first.page.locator('edgetron-chat').locator('#progress-text').textContent()).toMatch(/^([\d.]+) MiB of \1 MiB \(100%\), \1 MiB from the cache$/);

    } finally {
      await context.close();
    }
  });

  test('local mode on WASM with threads="2": the shared-memory kernels and a kernel thread in a nested Worker give the answer of one thread; without kernel-thread.js one thread and a notice; a bad threads value is refused', async () => {
    const context = await browser.newContext();
    try {
      const answer = async (threads: string) => {
        const { page, requests } = await site.open(context, { mode: 'local', backend: 'wasm', threads });
        const r = await send(page, 'Hello', { maxTokens: 16, thinking: false, seed: SEED });
        const used = await page.evaluate(() => (document.getElementById('chat') as HTMLElement & { threads: number }).threads);
        return { r, used, requests, status: await statusText(page) };
      };
      const one = await answer('1');
      const two = await answer('2');
      expect(one.used).toBe(1);
      expect(two.used).toBe(2);
      expect(two.status).toMatch(/WASM SIMD in this tab, 2 threads/);
      expect(two.requests.some((u) => u.endsWith('/embed/edgetron-relaxed-mt.wasm'))).toBe(true);
      expect(two.requests.some((u) => u.endsWith('/embed/kernel-thread.js'))).toBe(true);
      expect(one.requests.some((u) => u.endsWith('/embed/edgetron-relaxed-mt.wasm'))).toBe(false);
      expect(one.r.tokens).toBeGreaterThan(0);
      expect(two.r.text).toBe(one.r.text); // the same logits for any thread count, so the same sampled tokens
      expect(two.r.finishReason).toBe(one.r.finishReason);

      // kernel-thread.js missing: the model still runs, on one thread, with a notice saying so
      const broken = await browser.newContext();
      try {
        await broken.route('**/embed/kernel-thread.js', (route) => route.fulfill({ status: 404, body: '' }));
        const { page } = await site.open(broken, { mode: 'local', backend: 'wasm', threads: '2' });
        const r = await send(page, 'Hello', { maxTokens: 16, thinking: false, seed: SEED });
        expect(r.text).toBe(one.r.text);
        expect(await page.evaluate(() => (document.getElementById('chat') as HTMLElement & { threads: number }).threads)).toBe(1);
        const notices = (await page.evaluate(() => (window as unknown as { notices: { name: string; message: string }[] }).notices)).map((n) => `${n.name}: ${n.message}`);
        expect(notices).toEqual([expect.stringMatching(/^ThreadStartError: wasm: 2 kernel threads could not start: .*kernel-thread\.js.*404.*; running on one thread$/)]);
      } finally {
        await broken.close();
      }

      const bad = await site.open(context, { mode: 'local', backend: 'wasm', threads: 'many' });
      await expect.poll(() => statusText(bad.page)).toMatch(/threads = "many" is invalid; expected auto or a whole number of threads from 1 to 64/);
      expect(bad.requests.some((u) => SHARD.test(u))).toBe(false);
    } finally {
      await context.close();
    }
  });

  test('local mode on WebGPU (SwiftShader): the device thread runs gpu-device.js, fetched only now', async () => {
    const context = await browser.newContext();
    try {
      const { page, requests } = await site.open(context, { mode: 'local', backend: 'webgpu' });
      const r = await send(page, 'Hello', { maxTokens: 12, thinking: false, seed: SEED });
      expect(r.backend).toBe('webgpu');
      expect(r.tokens).toBeGreaterThan(0);
      expect(requests.some((u) => u.endsWith('/embed/gpu-device.js'))).toBe(true);
      expect(requests.some((u) => u.endsWith('.wasm'))).toBe(false);
    } finally {
      await context.close();
    }
  });

  test('remote mode streams tokens from the worker over SSE; nothing of the engine is loaded; the thinking budget control; regenerate', async () => {
    const context = await browser.newContext();
    try {
      const { page, requests } = await site.open(context, { mode: 'remote' });
      const r = await send(page, 'Tell me a story', { maxTokens: 48, thinking: true, temperature: 1, seed: SEED });
      expect(r.backend).toBe('remote');
      expect(r.tokens, JSON.stringify(r)).toBeGreaterThan(1);
      expect(r.text).toBe(r.contentTokens);
      expect(r.done).toEqual({ text: r.text, reasoning: r.reasoning, backend: 'remote', finishReason: r.finishReason });
      expect(requests.some((u) => u === `${api}/v1/chat/completions`)).toBe(true);
      expect(requests.filter((u) => LAZY.test(u) || SHARD.test(u))).toEqual([]);

      // the UI's budget of 4 reasoning tokens (spec §15.4: then at most 16 more to a line end, and `</think>`)
      await page.locator('edgetron-chat').locator('#budget').fill('4');
      const budgeted = await send(page, 'Think hard', { maxTokens: 200 });
      expect(budgeted.reasoningTokens).toBeLessThanOrEqual(4 + 16 + 1);

      const again = await page.evaluate(async () => {
        const el = document.getElementById('chat') as HTMLElement & { regenerate(): Promise<{ backend: string }> };
        const r = await el.regenerate();
        return { backend: r.backend, turns: Array.from(el.shadowRoot!.querySelectorAll('.turn'), (t) => t.className) };
      });
      expect(again).toEqual({ backend: 'remote', turns: ['turn user', 'turn assistant', 'turn user', 'turn assistant'] });
    } finally {
      await context.close();
    }
  });

  test('stop() ends a long generation at once, locally and remotely: finishReason abort, the element idle', async () => {
    const context = await browser.newContext();
    try {
      for (const attrs of [{ mode: 'local', backend: 'wasm' }, { mode: 'remote' }] as Record<string, string>[]) {
        const { page } = await site.open(context, attrs);
        const r = await page.evaluate(async (seed) => {
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
            const result = await el.send('Go on and on', { maxTokens: 3000, thinking: true, seed });
            const late = tokens;
            await new Promise((r) => setTimeout(r, 300));
            el.removeEventListener('edgetron-token', onToken);
            if (result.finishReason === 'abort' || attempt === 3) return { finishReason: result.finishReason, attempt, tokens, late, after, busy: el.busy };
            seed++;
          }
        }, SEED);
        expect(r, JSON.stringify(r)).toMatchObject({ finishReason: 'abort' });
        expect(r.after).toBe(3);
        expect(r.tokens).toBeLessThan(300); // those in flight (buffered SSE, a busy machine), not 3000
        expect(r.tokens).toBe(r.late); // none after send resolved
        expect(r.busy).toBe(false);
        await page.close();
      }
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
        const think = root.getElementById('think') as HTMLInputElement;
        return { backend: el.backend, turns: root.querySelectorAll('.turn').length, focused: root.activeElement?.id, regenerate: (root.getElementById('regenerate') as HTMLButtonElement).disabled, thinking: think.checked };
      });
      // the demo page sets thinking="off": the default model was not trained to reason
      expect(state).toEqual({ backend: expect.stringMatching(/^(webgpu|wasm|wasm-scalar|remote)$/), turns: 2, focused: 'input', regenerate: false, thinking: false });
    } finally {
      await context.close();
    }
  });
});
