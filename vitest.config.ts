import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'all', include: ['test/**/*.test.ts'] } },
      {
        // The bridge suites again on the embedded queue backend (what `npm start` uses without Redis).
        extends: true,
        test: {
          name: 'bridge-on-embedded-queue',
          include: ['test/integration/bridge-e2e.test.ts', 'test/integration/bridge-receipts.test.ts', 'test/integration/bridge-long-messages.test.ts'],
          env: { ROOMCAST_TEST_QUEUE: 'embedded' },
        },
      },
    ],
  },
});
