import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that load the whole machine (the fresh-clone test compiles the SQLite binding for a
 * minute) run on their own, after the others, so that they do not starve timing-sensitive
 * tests running beside them: `KOUBOU_TEST_SERIAL=1 vitest run` (scripts/test does both).
 */
const SERIAL = ['test/fresh-clone.test.ts'];
const serial = process.env.KOUBOU_TEST_SERIAL === '1';

export default defineConfig({
  test: {
    include: serial ? SERIAL : ['test/**/*.test.ts'],
    exclude: serial ? configDefaults.exclude : [...configDefaults.exclude, ...SERIAL],
    globalSetup: ['test/support/buildOnce.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start their own nats-server per file; two cores, so keep parallelism modest.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
