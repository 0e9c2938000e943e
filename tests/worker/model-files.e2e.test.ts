// End to end (runs in Node): with an API key set, no file of the model can be read without it.
// Three real servers: `edgetron serve` on the default model with EDGETRON_API_KEY in its
// environment (what `npm start` runs), `edgetron serve --model PATH --api-key KEY` on a copy of
// the pack, and plain `wrangler dev` with wrangler.toml's own assets folder (what deploys).
// Every file of the pack is asked for at every path a static-assets server could answer it.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWranglerDev, type WranglerDev } from '../../cli/commands/serve.js';
import { freePort } from '../helpers/free-port.js';
import { serveCli, stopGroup } from '../helpers/serve-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACK = join(ROOT, 'assets', 'packs', 'default');
const FILES = readdirSync(PACK);
const KEY = 'sk-test-7f3a9c';

const servers: { name: string; url: string; packPath: string }[] = [];
let npmStart: ReturnType<typeof serveCli> | undefined;
let serveModel: ReturnType<typeof serveCli> | undefined;
let plain: WranglerDev | undefined;
let packCopy = '';

beforeAll(async () => {
  packCopy = join(mkdtempSync(join(tmpdir(), 'edgetron-keyed-')), 'pack');
  cpSync(PACK, packCopy, { recursive: true });
  npmStart = serveCli(['--port', String(await freePort())], { EDGETRON_API_KEY: KEY });
  serveModel = serveCli(['--port', String(await freePort()), '--model', packCopy, '--api-key', KEY], { EDGETRON_API_KEY: '' });
  plain = spawnWranglerDev({ port: await freePort(), secrets: { EDGETRON_API_KEY: KEY } });
  const [a, b, c] = await Promise.all([npmStart.url, serveModel.url, plain.ready]);
  servers.push({ name: 'npm start (serve, EDGETRON_API_KEY)', url: a, packPath: '/' }, { name: 'serve --model PATH --api-key', url: b, packPath: '/' }, { name: 'wrangler dev', url: c, packPath: '/packs/default/' });
}, 180_000);

afterAll(async () => {
  await Promise.all([stopGroup(npmStart?.child), stopGroup(serveModel?.child), plain?.stop()]);
  if (packCopy) rmSync(join(packCopy, '..'), { recursive: true, force: true });
}, 60_000);

describe('the API key guards every file of the model', () => {
  it('without the key no path returns a pack file; with it, /v1/pack/ does', async () => {
    expect(FILES).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'model.safetensors.index.json']));
    for (const { name, url, packPath } of servers) {
      for (const file of FILES) {
        for (const path of [`/${file}`, `/packs/default/${file}`, `${packPath}${file}`, `/v1/pack/${file}`, `/v1/pack/${encodeURIComponent(file)}`]) {
          for (const method of ['GET', 'HEAD']) {
            const res = await fetch(url + path, { method });
            expect.soft(res.status, `${name}: ${method} ${path}`).not.toBe(200);
            await res.arrayBuffer();
          }
        }
        const res = await fetch(`${url}/v1/pack/${file}`, { headers: { authorization: `Bearer ${KEY}` } });
        expect(res.status, `${name}: /v1/pack/${file} with the key`).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
      }
    }
  }, 120_000);

  it('without the key the API answers 401; the public routes still answer', async () => {
    for (const { name, url } of servers) {
      const res = await fetch(`${url}/v1/models`);
      expect(res.status, name).toBe(401);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
      const ok = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(ok.status, name).toBe(200);
      await ok.arrayBuffer();
      for (const path of ['/', '/health', '/embed.js']) {
        const pub = await fetch(url + path);
        expect(pub.status, `${name}: ${path}`).toBe(200);
        await pub.arrayBuffer();
      }
    }
  }, 60_000);
});
