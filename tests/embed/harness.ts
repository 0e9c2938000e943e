// Shared by the embed browser tests: a host site on its own origin (a plain Node server on
// another port than `wrangler dev`) whose page loads <api>/embed.js and holds one
// <edgetron-chat endpoint=<api> …attributes of the query string>. The page is cross-origin
// isolated (COOP/COEP), as the webgpu backend needs, and records edgetron-notice events from
// the start in window.notices. Requests are logged per page (Playwright also sees the engine
// worker's fetches).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { spawnWranglerDev } from '../../cli/commands/serve.js';
import { launchChromium } from '../helpers/chromium.js';
import { freePort } from '../helpers/free-port.js';

/** One wrangler dev, one browser and the host sites of a test file. */
export interface EmbedRig {
  /** The worker's base URL. */
  readonly api: string;
  readonly browser: Browser;
  readonly sites: readonly HostSite[];
  stop(): Promise<void>;
}

/**
 * Start `sites` host sites, then wrangler dev (with the [vars] `vars` gives for the sites'
 * origins) and chromium.
 * @example const rig = await startRig(1); … await rig.stop();
 */
export async function startRig(sites: number, vars: (origins: string[]) => Record<string, string> = () => ({})): Promise<EmbedRig> {
  const hosts = await Promise.all(Array.from({ length: sites }, () => HostSite.start()));
  const dev = spawnWranglerDev({ port: await freePort(), vars: vars(hosts.map((h) => h.origin)) });
  const [api, browser] = await Promise.all([dev.ready, launchChromium()]);
  for (const h of hosts) h.api = api;
  return {
    api,
    browser,
    sites: hosts,
    async stop() {
      await browser.close();
      for (const h of hosts) h.close();
      await dev.stop();
    },
  };
}

/** A request for one of the pack's shards (GET /v1/pack/model-0000K-of-0000N.safetensors). */
export const SHARD = /\/v1\/pack\/model-\d+-of-\d+\.safetensors$/;

/** The element's status line. */
export const statusText = (page: Page) => page.locator('edgetron-chat').locator('#status').textContent();

/** What a scripted send returns: el.send's result plus the token events seen. */
export interface Sent {
  readonly text: string;
  readonly reasoning: string;
  readonly backend: string;
  readonly finishReason: string;
  readonly tokens: number;
  readonly reasoningTokens: number;
  readonly contentTokens: string;
  /** The detail of the edgetron-done event. */
  readonly done: unknown;
}

/** The host site. */
export class HostSite {
  /** The worker's base URL the page embeds from (set once wrangler dev is ready). */
  api = '';

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  /**
   * Listen on a free port of 127.0.0.1.
   * @example const site = await HostSite.start(); site.api = await dev.ready;
   */
  static async start(): Promise<HostSite> {
    let site: HostSite | null = null;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/' || !site) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.end(site.page(url.searchParams));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    site = new HostSite(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return site;
  }

  private page(query: URLSearchParams): string {
    const attrs = [...query].map(([k, v]) => `${k}="${v.replace(/"/g, '&quot;')}"`).join(' ');
    return `<!doctype html><meta charset="utf-8"><title>host</title>
<script>window.notices = []; document.addEventListener('edgetron-notice', (e) => notices.push(e.detail));</script>
<script type="module" src="${this.api}/embed.js"></script>
<edgetron-chat id="chat" endpoint="${this.api}" ${attrs}></edgetron-chat>`;
  }

  /**
   * A page of the site with those element attributes, and its request log.
   * @example const { page, requests } = await site.open(context, { mode: 'remote' });
   */
  async open(context: BrowserContext, attrs: Record<string, string>): Promise<{ page: Page; requests: string[] }> {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => void requests.push(r.url()));
    await page.goto(`${this.origin}/?${new URLSearchParams(attrs)}`);
    return { page, requests };
  }

  close(): void {
    this.server.close();
  }
}

/**
 * el.ready(), then el.send(text, options), counting the token events.
 * @example const r = await send(page, 'Hi', { maxTokens: 8, thinking: false });
 */
export function send(page: Page, text: string, options: Record<string, unknown>): Promise<Sent> {
  return page.evaluate(
    async ([text, options]) => {
      await customElements.whenDefined('edgetron-chat');
      const el = document.getElementById('chat') as HTMLElement & { ready(): Promise<unknown>; send(t: string, o: unknown): Promise<Omit<Sent, 'tokens' | 'reasoningTokens' | 'contentTokens' | 'done'>> };
      await el.ready();
      let tokens = 0;
      let reasoningTokens = 0;
      let contentTokens = '';
      let done: unknown = null;
      const onToken = (e: Event) => {
        const d = (e as CustomEvent<{ kind: string; text: string }>).detail;
        tokens++;
        if (d.kind === 'content') contentTokens += d.text;
        else reasoningTokens++;
      };
      const onDone = (e: Event) => (done = (e as CustomEvent).detail);
      el.addEventListener('edgetron-token', onToken);
      document.addEventListener('edgetron-done', onDone); // bubbles out of the element
      try {
        const r = await el.send(text, options);
        return { ...r, tokens, reasoningTokens, contentTokens, done };
      } finally {
        el.removeEventListener('edgetron-token', onToken);
        document.removeEventListener('edgetron-done', onDone);
      }
    },
    [text, options] as const,
  );
}
