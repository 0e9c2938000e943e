// The embed script's guards, against a `wrangler dev` whose CORS allow-list (wrangler.toml
// [vars] EDGETRON_CORS_ORIGIN) holds one host origin: a page there loads /embed.js and streams;
// a page on another origin cannot load the script (a module script needs CORS) nor call the
// API. On the allowed site: a corrupt cache entry is noticed and downloaded again, and a
// memory budget the model cannot fit stops local mode with a clear message before any shard
// is downloaded. Slow: a second wrangler dev next to embed.test.ts's.

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeWithChromium } from '../helpers/chromium.js';
import { SHARD, send, startRig, statusText, type EmbedRig, type HostSite } from './harness.js';

let rig: EmbedRig;
let allowed: HostSite;
let other: HostSite;
let browser: Browser;

describeWithChromium('the embed script\'s guards: CORS allow-list, corrupt cache, memory', () => {
  beforeAll(async () => {
    rig = await startRig(2, ([first]) => ({ EDGETRON_CORS_ORIGIN: `https://elsewhere.example, ${first}` }));
    ({ browser } = rig);
    [allowed, other] = rig.sites;
  }, 120_000);

  afterAll(() => rig?.stop(), 30_000);

  test('an allowed origin embeds and streams; another origin is refused', async () => {
    const context = await browser.newContext();
    try {
      const ok = await allowed.open(context, { mode: 'remote' });
      const r = await send(ok.page, 'Hello', { maxTokens: 8, thinking: false });
      expect(r.backend).toBe('remote');

      const refused = await other.open(context, { mode: 'remote' });
      const seen = await refused.page.evaluate(async (api) => {
        await new Promise((r) => setTimeout(r, 1000));
        const call = await fetch(`${api}/v1/models`).then(
          () => 'answered',
          () => 'blocked',
        );
        return { defined: customElements.get('edgetron-chat') !== undefined, call };
      }, allowed.api);
      expect(seen).toEqual({ defined: false, call: 'blocked' });
    } finally {
      await context.close();
    }
  });

  test('a corrupt cache entry is noticed, deleted and downloaded again', async () => {
    const context = await browser.newContext();
    try {
      const first = await allowed.open(context, { mode: 'local', backend: 'wasm' });
      expect((await send(first.page, 'Hello', { maxTokens: 4, thinking: false })).backend).toBe('wasm');
      expect(first.requests.filter((u) => SHARD.test(u))).toHaveLength(1);

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

  test('a memory budget the model cannot fit gives a clear message before any shard is downloaded', async () => {
    const context = await browser.newContext();
    try {
      const { page, requests } = await allowed.open(context, { mode: 'local', backend: 'wasm', 'memory-budget-mb': '1' });
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
});
