import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

// Worker route tests run inside workerd (@cloudflare/vitest-pool-workers 0.15: a Vite plugin),
// with wrangler.toml's bindings (ASSETS serves the default edge pack) and the test hooks on.
// `npm test` runs this after the node suites (vitest.config.ts); the end-to-end test against a
// real `wrangler dev` (tests/worker/e2e.test.ts, *.e2e.test.ts) run in Node, in the node suite.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './worker/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: { bindings: { EDGETRON_TEST_HOOKS: '1' } },
    }),
  ],
  test: {
    include: ['tests/{worker,serve}/**/*.test.ts'],
    exclude: ['tests/{worker,serve}/e2e.test.ts', 'tests/{worker,serve}/*.e2e.test.ts'],
    testTimeout: 60_000,
  },
});
