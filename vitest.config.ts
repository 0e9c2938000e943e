import { defineConfig } from 'vitest/config';

// Default `npm test` (and CI): every backend, fast suites. Slow suites (the full 128-expert Nano
// MoE layer and the 131072-row embedding/head, > 1 GiB tensors, KL quality on `small`, the full
// UCI repro) are tagged by file name `*.slow.test.ts` and run by `npm run test:slow`.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // tests/worker/* and tests/serve/* run inside workerd (vitest.workers.config.ts), except the end-to-end tests
    // against a real `wrangler dev` (e2e.test.ts, *.e2e.test.ts)
    exclude: [...(process.env.EDGETRON_SLOW ? [] : ['tests/**/*.slow.test.ts']), 'tests/{worker,serve}/!(e2e|*.e2e).test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
