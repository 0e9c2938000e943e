import { defineConfig } from 'vitest/config';

// Default `npm test`: every backend, fast suites. Slow suites (full Nano-dimension layers on
// the reference backend, big allocations) are tagged by file name `*.slow.test.ts` and run by
// `npm run test:slow`; CI runs both.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // tests/worker/* run inside workerd (vitest.workers.config.ts), except the end-to-end test
    exclude: [...(process.env.EDGETRON_SLOW ? [] : ['tests/**/*.slow.test.ts']), 'tests/worker/!(e2e).test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
