import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that load the whole machine (the fresh-clone test compiles the SQLite binding for a
 * minute; the cluster and network-namespace tests run three nats-servers or five hosts of
 * actors) run after the others, one file at a time, so that they do not starve timing-sensitive
 * tests running beside them: `KOUBOU_TEST_SERIAL=1 vitest run` (scripts/test does both).
 */
const SERIAL = ['test/fresh-clone.test.ts', 'test/cluster.up.test.ts', 'test/cluster.faults.test.ts', 'test/cluster.netns.test.ts', 'test/lan.netns.test.ts',
  'test/tls.netns.test.ts'];
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
    poolOptions: { forks: { maxForks: serial ? 1 : 2, minForks: 1 } },
  },
});
