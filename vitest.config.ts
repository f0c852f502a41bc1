import { defineConfig } from 'vitest/config';

// Two projects, one runner: unit tests need nothing running; integration tests run against the
// real local stack, which test/integration/global-setup.ts brings up (or the services named by
// environment variables, see README).
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // A few unit tests simulate a region or parse workbooks on worker threads (seconds of CPU):
          // on a shared, loaded machine vitest's 5 s default fails them for the load, not for a defect.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
