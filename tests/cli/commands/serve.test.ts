// `edgetron serve`'s static-assets folder: the pack's files at its root and the embed bundle
// beside them, so the demo page at / can load /embed.js whichever model is served.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { siteFolder } from '../../../cli/commands/serve.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACK = join(ROOT, 'assets', 'packs', 'default');

describe('serve site folder', () => {
  it('holds every file of the pack and the built embed bundle, and is removed by cleanup', async () => {
    expect(existsSync(join(ROOT, 'assets', 'embed.js')), 'npm run build writes assets/embed.js').toBe(true);
    const site = await siteFolder(PACK);
    for (const file of readdirSync(PACK)) expect(readFileSync(join(site.dir, file))).toEqual(readFileSync(join(PACK, file)));
    expect(readFileSync(join(site.dir, 'embed.js'), 'utf8')).toBe(readFileSync(join(ROOT, 'assets', 'embed.js'), 'utf8'));
    expect(existsSync(join(site.dir, 'embed', 'engine.js'))).toBe(true);
    await site.cleanup();
    expect(existsSync(site.dir)).toBe(false);
    expect(existsSync(join(PACK, 'config.json'))).toBe(true);
  });
});
